"""Read a run's outputs back as a user would: findings.json, PDF text, workbook cells."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import openpyxl
from pypdf import PdfReader


def findings(out: Path) -> dict[str, Any]:
    """findings.json of an output folder."""
    return json.loads((out / "findings.json").read_text(encoding="utf-8"))


def pdf_pages(out: Path) -> list[str]:
    """Each page's text, whitespace collapsed (WeasyPrint wraps lines where it likes)."""
    path = (out / "report.pdf").resolve()
    stat = path.stat()
    return list(_pdf_text(path, stat.st_ino, stat.st_size, stat.st_mtime_ns))


@functools.cache
def _pdf_text(path: Path, inode: int, size: int, mtime_ns: int) -> tuple[str, ...]:
    """The pages' text of one PDF as written (a rewritten file is another key): several tests
    read the same shared run's report, and pypdf's text extraction costs seconds a report."""
    reader = PdfReader(path)
    return tuple(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def sheet_rows(out: Path, sheet: str) -> list[tuple[Any, ...]]:
    """Every row of one workbook sheet, as values."""
    book = openpyxl.load_workbook(out / "report.xlsx", read_only=True)
    try:
        return [tuple(row) for row in book[sheet].iter_rows(values_only=True)]
    finally:
        book.close()


def sheet_text(out: Path, sheet: str) -> str:
    """One sheet's cells joined as text, for phrase searches."""
    return " ".join(str(c) for row in sheet_rows(out, sheet) for c in row if c is not None)
