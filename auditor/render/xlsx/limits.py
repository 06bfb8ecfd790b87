"""What a cell cannot hold as given, made into what it can, and said on the Run info sheet.

Excel keeps at most 32,767 characters in a cell (Microsoft, "Excel specifications and
limits"): a longer text (a Mac's list of source records, a long waiver reason) is cut, ends
with a mark that says so, and its cell is listed. Excel's dates run from 1 January 1900 to
31 December 9999, and its 1900 date system counts a 29 February 1900 that never was, so a
day before 1 March 1900 would show one day off: such dates (and any after 9999) are written
as ISO text instead of a date, and listed. Inventory text is already cut far shorter
(`normalize.text.TEXT_LIMIT`), so the lists stay empty for any real tenant.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

import numpy as np
import numpy.typing as npt
import pandas as pd
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook

MAX_CELL_CHARS = 32_767  # Excel's limit per cell
FIRST_DAY = dt.datetime(1900, 3, 1)
END = dt.datetime(9999, 12, 31, 23, 59, 59, 999000)  # Excel keeps milliseconds
_FIRST_US = int(np.datetime64(FIRST_DAY, "us").astype(np.int64))
_LAST_US = int(np.datetime64(END, "us").astype(np.int64))
_LISTED = 20  # cells named per kind on Run info; the rest are counted

Mask = npt.NDArray[np.bool_]


def cut_mark(length: int) -> str:
    """The end of a cut cell: that Excel's limit cut it, and how long the value was."""
    return f"… [cut at Excel's {MAX_CELL_CHARS:,}-character limit; {length:,} in all]"


def fit_text(text: str) -> str:
    """`text` cut to Excel's cell limit with the mark (unchanged when it fits)."""
    if len(text) <= MAX_CELL_CHARS:
        return text
    mark = cut_mark(len(text))
    return text[: MAX_CELL_CHARS - len(mark)] + mark


def outside_excel(stamps: pd.Series) -> Mask:
    """Rows of a datetime column whose moment Excel cannot show as a date (NaT: False)."""
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    micros = stamps.astype("datetime64[us]").to_numpy().astype(np.int64)
    present = stamps.notna().to_numpy()
    return present & ((micros < _FIRST_US) | (micros > _LAST_US))


def iso_text(value: Any) -> str:
    """A date Excel cannot hold, as the ISO text written in its place (UTC)."""
    if isinstance(value, pd.Timestamp):
        utc = value.tz_convert("UTC").tz_localize(None) if value.tzinfo else value
        return f"{utc.isoformat(sep=' ', timespec='seconds')} UTC"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return f"{value.isoformat(sep=' ', timespec='seconds')} UTC"
    return str(value.isoformat()) if isinstance(value, dt.date) else str(value)


@dataclass
class Adjustments:
    """Cells written otherwise than given, by kind: how many, and the first named.

    A cell is named `Sheet!A1 (column): what`.
    """

    counts: dict[str, int] = field(default_factory=dict)
    named: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, cell: str, count: int = 1) -> None:
        """Count `count` cells of `kind` (`cut` or `dates`), naming `cell` among the first."""
        self.counts[kind] = self.counts.get(kind, 0) + count
        named = self.named.setdefault(kind, [])
        if len(named) < _LISTED:
            named.append(cell)

    def lines(self) -> list[tuple[str, str]]:
        """Run info rows: a count line per kind, then the first cells named."""
        rows = []
        for kind, label, what, why in (
            ("cut", "cells_cut", "text", f"over Excel's {MAX_CELL_CHARS:,} characters per "
             "cell, cut"),
            ("dates", "dates_as_text", "date", "Excel cannot show (before 1900-03-01 or after "
             "9999-12-31 23:59:59.999), written as ISO text"),
        ):  # fmt: skip
            count = self.counts.get(kind, 0)
            if count:
                rows.append((label, f"{count:,} {what}{'' if count == 1 else 's'} {why}"))
                rows += [("", cell) for cell in self.named[kind]]
        return rows


def fit_frame(frame: pd.DataFrame, sheet: str, adjustments: Adjustments) -> pd.DataFrame:
    """A long sheet's rows with over-long texts cut; out-of-range dates listed.

    The stream writes those dates as text itself (`outside_excel`); here they are only named.
    """
    columns = {}
    for position, name in enumerate(frame.columns):
        values = frame[name]
        letter = get_column_letter(position + 1)
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            outside = np.flatnonzero(outside_excel(values))
            for position_in_sheet in outside[:_LISTED].tolist():
                shown = iso_text(values.iloc[position_in_sheet])
                cell = f"{sheet}!{letter}{position_in_sheet + 2} ({name}): {shown}"
                adjustments.add("dates", cell)
            if len(outside) > _LISTED:
                adjustments.add("dates", "", len(outside) - _LISTED)
        elif values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
            lengths = values.astype("string").str.len().to_numpy(dtype=float, na_value=0)
            long_rows = np.flatnonzero(lengths > MAX_CELL_CHARS)
            if len(long_rows):
                values = values.astype(object).copy()
                for row in long_rows.tolist():
                    text = str(values.iloc[row])
                    values.iloc[row] = fit_text(text)
                    cell = f"{sheet}!{letter}{row + 2} ({name}): {len(text):,} characters"
                    adjustments.add("cut", cell)
                columns[name] = values
    return frame.assign(**columns) if columns else frame


_BY_WORKBOOK: WeakKeyDictionary[Workbook, Adjustments] = WeakKeyDictionary()


def adjustments_of(workbook: Workbook) -> Adjustments:
    """The cells of `workbook` written otherwise than given so far (`cells.put` adds to it)."""
    return _BY_WORKBOOK.setdefault(workbook, Adjustments())


def fit_value(value: Any, sheet: str, coordinate: str, adjustments: Adjustments) -> Any:
    """A cell value Excel holds as given: over-long text cut, an out-of-range date as text."""
    if isinstance(value, str):
        if len(value) <= MAX_CELL_CHARS:
            return value
        adjustments.add("cut", f"{sheet}!{coordinate}: {len(value):,} characters")
        return fit_text(value)
    if isinstance(value, dt.date) and not _holds(value):
        shown = iso_text(value)
        adjustments.add("dates", f"{sheet}!{coordinate}: {shown}")
        return shown
    return value


def _holds(value: dt.date) -> bool:
    if isinstance(value, dt.datetime):
        naive = value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
        return FIRST_DAY <= naive <= END
    return FIRST_DAY.date() <= value <= END.date()
