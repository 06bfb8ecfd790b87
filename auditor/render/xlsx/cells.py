"""The workbook's building blocks: safe cell writes, column specs, Excel tables, key/value facts.

Every value goes through `put`: text is always a string cell (never a formula), quote-prefixed
when Excel would read it as one; datetimes are naive UTC with a date format.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import pandas as pd
from openpyxl.cell.cell import Cell
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from auditor.render.cell_text import FORMULA_TRIGGERS, ILLEGAL_XML
from auditor.render.xlsx.limits import adjustments_of, fit_value

DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"  # to the second, like findings.json
PCT_FORMAT = '0.0" %"'
BOLD = Font(bold=True)
TITLE = Font(bold=True, size=16)
HEADER_FILL = PatternFill("solid", start_color="E5E7EB", end_color="E5E7EB")
SEVERITY_COLOURS = {
    "critical": ("7F1D1D", "FEE2E2"),
    "high": ("9A3412", "FFEDD5"),
    "medium": ("854D0E", "FEF9C3"),
    "low": ("1E40AF", "DBEAFE"),
    "info": ("334155", "F1F5F9"),
}
STATUS_COLOURS = {
    "fail": ("B91C1C", "FEE2E2"),
    "waived": ("6B21A8", "F3E8FF"),
    "unknown": ("4B5563", "F3F4F6"),
    "pass": ("166534", "DCFCE7"),
}

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Column(Generic[T]):
    """One column of a small table: its header, how to read a record, its format and width."""

    header: str
    value: Callable[[T], Any]
    width: float = 12
    number_format: str = ""


def _excel(value: Any) -> Any:
    """A model value as something a cell holds: naive UTC datetimes, text for tuples."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, tuple | list):
        return ", ".join(str(v) for v in value)
    return value


def put(sheet: Worksheet, row: int, col: int, value: Any, *, number_format: str = "") -> Cell:
    """Write one value; text is always a string cell, quote-prefixed if it looks like a formula.

    Text over Excel's cell limit is cut and a date Excel cannot show is written as text;
    both are listed on the Run info sheet (`limits`).
    """
    cell = sheet.cell(row=row, column=col)
    assert isinstance(cell, Cell)  # a fresh cell, never part of a merged range
    plain = _excel(value)
    if isinstance(plain, str | dt.date):  # too long, or a date Excel cannot show: said
        assert sheet.parent is not None
        plain = fit_value(plain, sheet.title, cell.coordinate, adjustments_of(sheet.parent))
    if isinstance(plain, str):
        cell.value = ILLEGAL_XML.sub("\ufffd", plain)
        cell.data_type = "s"  # openpyxl would otherwise store "=..." as a formula
        if plain.startswith(FORMULA_TRIGGERS):
            cell.quotePrefix = True
    else:
        cell.value = plain
    if number_format:
        cell.number_format = number_format
    elif isinstance(plain, dt.datetime):
        cell.number_format = DATETIME_FORMAT
    elif isinstance(plain, dt.date):
        cell.number_format = DATE_FORMAT
    return cell


def header(sheet: Worksheet, row: int, headers: Sequence[str]) -> None:
    """Bold, shaded column headers in `row`."""
    for col, name in enumerate(headers, 1):
        cell = put(sheet, row, col, name)
        cell.font = BOLD
        cell.fill = HEADER_FILL


def facts(sheet: Worksheet, top: int, pairs: Sequence[tuple[str, Any]]) -> int:
    """Key/value rows from `top` (keys bold in column A); returns the row after the last."""
    for row, (key, value) in enumerate(pairs, top):
        put(sheet, row, 1, key).font = BOLD
        put(sheet, row, 2, value)
    return top + len(pairs)


def table(
    sheet: Worksheet, name: str, top: int, columns: Sequence[Column[T]], records: Iterable[T]
) -> int:
    """Write a header and one row per record as an Excel table (filters on).

    Returns the first free row after a blank one.
    """
    header(sheet, top, [c.header for c in columns])
    row = top
    for row, record in enumerate(records, top + 1):
        for col, column in enumerate(columns, 1):
            put(sheet, row, col, column.value(record), number_format=column.number_format)
    if row > top:
        ref = f"A{top}:{get_column_letter(len(columns))}{row}"
        sheet.add_table(excel_table(name, ref, [c.header for c in columns], stripes=True))
    return row + 2


def excel_table(name: str, ref: str, headers: Sequence[str], *, stripes: bool) -> Table:
    """An Excel table with its columns named up front (else openpyxl reads every cell of it)."""
    table = Table(displayName=name, ref=ref, autoFilter=AutoFilter(ref=ref))
    table.tableColumns = [TableColumn(id=i, name=h) for i, h in enumerate(headers, 1)]
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight1", showRowStripes=stripes)
    return table


def widths(sheet: Worksheet, values: Sequence[float]) -> None:
    """Set column widths (characters), from column A on."""
    for col, width in enumerate(values, 1):
        sheet.column_dimensions[get_column_letter(col)].width = width


def colour_rules(sheet: Worksheet, ref: str, colours: dict[str, tuple[str, str]]) -> None:
    """Conditional formats colouring cells of `ref` whose text equals a key of `colours`."""
    for value, (ink, paper) in colours.items():
        fill = PatternFill("solid", start_color=paper, end_color=paper)
        rule = CellIsRule(  # type: ignore[no-untyped-call]
            operator="equal", formula=[f'"{value}"'], font=Font(color=ink), fill=fill
        )
        sheet.conditional_formatting.add(ref, rule)
