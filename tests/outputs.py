"""Read a run's outputs back as a user would: findings.json, PDF text, workbook cells."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, overload

import openpyxl
from pypdf import PdfReader


def findings(out: Path) -> dict[str, Any]:
    """findings.json of an output folder."""
    return json.loads((out / "findings.json").read_text(encoding="utf-8"))


def pdf_pages(out: Path) -> Sequence[str]:
    """Each page's text, whitespace collapsed (WeasyPrint wraps lines where it likes); a page's
    text is extracted when a test first reads it."""
    path = (out / "report.pdf").resolve()
    stat = path.stat()
    return _pdf_text(path, stat.st_ino, stat.st_size, stat.st_mtime_ns)


@functools.cache
def _pdf_text(path: Path, inode: int, size: int, mtime_ns: int) -> PdfPages:
    """The pages of one PDF as written (a rewritten file is another key): several tests read the
    same shared run's report, and pypdf's text extraction costs seconds a report."""
    return PdfPages(PdfReader(path))


class PdfPages(Sequence[str]):
    """A PDF's pages' text, each extracted once, when first read: a test that reads page one
    does not pay for the appendix (pypdf takes about 2 s for the sample's 34 pages)."""

    def __init__(self, reader: PdfReader) -> None:
        self._reader = reader
        self._texts: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._reader.pages)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        number = range(len(self))[index]  # negative indexes; IndexError past the end
        if number not in self._texts:
            text = self._reader.pages[number].extract_text() or ""
            self._texts[number] = " ".join(text.split())
        return self._texts[number]


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
