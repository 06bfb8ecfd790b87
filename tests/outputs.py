"""Read a run's outputs back as a user would: findings.json, PDF text, workbook cells."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, overload

import openpyxl
import pypdfium2 as pdfium


def findings(out: Path) -> dict[str, Any]:
    """findings.json of an output folder."""
    return json.loads((out / "findings.json").read_text(encoding="utf-8"))


def pdf_pages(out: Path, name: str = "report.pdf") -> Sequence[str]:
    """Each page's text, whitespace collapsed (WeasyPrint wraps lines where it likes); a page's
    text is extracted when a test first reads it."""
    path = (out / name).resolve()
    stat = path.stat()
    return _pdf_text(path, stat.st_ino, stat.st_size, stat.st_mtime_ns)


@functools.cache
def _pdf_text(path: Path, inode: int, size: int, mtime_ns: int) -> PdfPages:
    """The pages of one PDF as written (a rewritten file is another key): several tests read the
    same shared run's report."""
    return PdfPages(pdfium.PdfDocument(path))


# PDFium marks a hyphen at which a line was broken (WeasyPrint breaks after hyphens in serials,
# ids and URLs) with U+FFFE: read as the hyphen and the line break, as pypdf reads it.
_LINE_END_HYPHEN = "\ufffe"


class PdfPages(Sequence[str]):
    """A PDF's pages' text as PDFium extracts it (the sample's 34 pages in ~0.1 s; pypdf took
    ~2.4 s), each page once, when first read."""

    def __init__(self, document: pdfium.PdfDocument) -> None:
        self._document = document
        self._texts: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._document)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        number = range(len(self))[index]  # negative indexes; IndexError past the end
        if number not in self._texts:
            text = self._document[number].get_textpage().get_text_range()
            self._texts[number] = " ".join(text.replace(_LINE_END_HYPHEN, "-\n").split())
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
