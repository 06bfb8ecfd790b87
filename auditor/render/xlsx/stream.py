"""SpreadsheetML `<row>` XML for a large frame, built column-wise (see `package` for the file).

Each column is factorized once per sheet: its distinct values are escaped and turned into
cell XML once, and a chunk of rows is laid out as a grid of those strings and joined in one
call, so no string is built per cell. Text whose values repeat (statuses, models, versions,
rule titles) goes to the shared-strings table, as Excel itself writes it; text that is mostly
distinct (ids, serials, names) stays inline, so the table never grows with the fleet.

Every text value is a string cell, never a formula; text starting with = + - @ tab or CR also
gets a quote-prefix style, so editing the cell in Excel keeps it text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter

from auditor.render.xlsx.limits import MAX_CELL_CHARS, fit_text, iso_text, outside_excel

CHUNK_ROWS = 20_000
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NEEDS_ESCAPE = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_RISKY_START = re.compile("\n[=+\\-@\t\r]")
_XML_SPACE = " \t\r\n"  # what an XML reader may trim from an element's text
_EDGE_SPACES = [f"\n{c}" for c in _XML_SPACE] + [f"{c}\n" for c in _XML_SPACE]
SHARED_WHEN_REPEATS = 2  # share a column's text when each value appears this often on average
_EXCEL_EPOCH_US = int(pd.Timestamp("1899-12-30").value // 1_000)
_US_PER_DAY = 86_400_000_000


@dataclass(frozen=True, slots=True)
class Styles:
    """cellXfs indexes (openpyxl style ids) the streamed cells refer to."""

    date: int
    quoted: int


class SharedStrings:
    """The workbook's shared-strings table as the streamed sheets add to it (`<si>` items)."""

    def __init__(self, items: list[str] | None = None) -> None:
        self.items: list[str] = list(items or [])
        self.references = 0
        self._index = {item: i for i, item in enumerate(self.items)}

    def add(self, texts: np.ndarray, preserve: np.ndarray) -> np.ndarray:
        """The table index of each escaped text (added when new)."""
        opening = np.where(preserve, '<si><t xml:space="preserve">', "<si><t>").astype(object)
        items = opening + texts + "</t></si>"
        indexes = np.empty(len(items), dtype=np.int64)
        for i, item in enumerate(items.tolist()):
            index = self._index.get(item)
            if index is None:
                index = self._index[item] = len(self.items)
                self.items.append(item)
            indexes[i] = index
        return indexes


def escape_text(value: str) -> str:
    """XML-escape one cell text; characters XML cannot carry become U+FFFD."""
    value = ILLEGAL_XML.sub("\ufffd", value)
    return (
        value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    )


def _text_bodies(uniques: Any, quoted: int, shared: SharedStrings | None = None) -> np.ndarray:
    """Cell XML after `r="A1` for each distinct text value (escaped, quote-prefixed if risky).

    With `shared`, the texts go to the shared-strings table and the cells refer to it.
    """
    if isinstance(uniques, pd.api.extensions.ExtensionArray | pd.Index):
        values = uniques.to_numpy(dtype=object)
    else:
        values = np.asarray(uniques, dtype=object)
    if not len(values):
        return values
    try:
        joined = "\n".join(values)
    except TypeError:  # not all text (e.g. an object column of mixed values)
        values = np.asarray([str(v) for v in values], dtype=object)
        joined = "\n".join(values)
    if max(map(len, values)) > MAX_CELL_CHARS:  # `limits.fit_frame` cut (and listed) them
        values = np.asarray([fit_text(v) for v in values], dtype=object)  # before escaping
        joined = "\n".join(values)
    # whole-column regex passes decide whether any value needs per-value work at all
    risky: Any = False
    if _RISKY_START.search("\n" + joined):
        risky = np.fromiter((v.startswith(FORMULA_TRIGGERS) for v in values), bool, len(values))
    preserve: Any = False
    wrapped = f"\n{joined}\n"
    if any(edge in wrapped for edge in _EDGE_SPACES):  # some value starts or ends with space
        preserve = np.fromiter((v != v.strip(_XML_SPACE) for v in values), bool, len(values))
    if _NEEDS_ESCAPE.search(joined):
        values = np.asarray([escape_text(v) for v in values], dtype=object)
    style: Any = np.where(risky, f' s="{quoted}"', "").astype(object) if risky is not False else ""
    if shared is not None:
        indexes = shared.add(values, np.broadcast_to(preserve, values.shape))
        return np.asarray(
            '"' + style + ' t="s"><v>' + indexes.astype(str).astype(object) + "</v></c>",
            dtype=object,
        )
    opening: Any = "<t>"
    if preserve is not False:
        opening = np.where(preserve, '<t xml:space="preserve">', "<t>").astype(object)
    return np.asarray(
        '"' + style + ' t="inlineStr"><is>' + opening + values + "</t></is></c>", dtype=object
    )


def _value_bodies(series: pd.Series, styles: Styles) -> np.ndarray:
    """Cell XML after `r="A1` for each row of a date, boolean or number column."""
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        stamps = series.dt.tz_convert("UTC") if isinstance(dtype, pd.DatetimeTZDtype) else series
        micros = stamps.dt.tz_localize(None).astype("datetime64[us]").to_numpy().astype(np.int64)
        serial = ((micros - _EXCEL_EPOCH_US) / _US_PER_DAY).round(8).astype(str).astype(object)
        bodies = np.asarray(f'" s="{styles.date}"><v>' + serial + "</v></c>", dtype=object)
        outside = outside_excel(series)  # listed by `limits.fit_frame`: written as text
        if outside.any():
            bodies[outside] = _text_bodies([iso_text(v) for v in series[outside]], styles.quoted)
        return bodies
    if pd.api.types.is_bool_dtype(dtype):
        flags = series.fillna(False).to_numpy(dtype=bool)
        return np.where(flags, '" t="b"><v>1</v></c>', '" t="b"><v>0</v></c>').astype(object)
    numbers = series.astype("float64").fillna(0).to_numpy()
    as_text = np.where(
        numbers == np.round(numbers), numbers.astype(np.int64).astype(str), numbers.astype(str)
    ).astype(object)
    return np.asarray('"><v>' + as_text + "</v></c>", dtype=object)


def _is_text(dtype: Any) -> bool:
    return not (
        isinstance(dtype, pd.DatetimeTZDtype)
        or pd.api.types.is_datetime64_any_dtype(dtype)
        or pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_numeric_dtype(dtype)
    )


@dataclass(frozen=True, slots=True)
class _TextColumn:
    """A text column factorized once: per-row codes (-1 missing) into per-value cell XML.

    Shared texts have their cell XML made once (`bodies`); inline ones (mostly distinct
    values) chunk by chunk from `uniques`, so a sheet of 500k Macs never holds a cell string
    for every value of every column at once.
    """

    codes: np.ndarray
    uniques: Any
    bodies: np.ndarray | None

    def chunk_bodies(self, codes: np.ndarray, quoted: int) -> np.ndarray | None:
        """Each row's cell XML for these codes (rows with -1 get any body; they are left out)."""
        if self.bodies is not None:
            return self.bodies[np.maximum(codes, 0)] if len(self.bodies) else None
        if not len(self.uniques):
            return None
        return _text_bodies(self.uniques.take(np.maximum(codes, 0)), quoted)  # row by row


def _text_column(series: pd.Series, quoted: int, shared: SharedStrings | None) -> _TextColumn:
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    if shared is None or len(uniques) * SHARED_WHEN_REPEATS > len(series):
        return _TextColumn(codes.astype(np.int32), uniques, None)  # inline: the table stays small
    shared.references += int((codes >= 0).sum())
    return _TextColumn(codes.astype(np.int32), uniques, _text_bodies(uniques, quoted, shared))


def rows_xml(
    frame: pd.DataFrame, styles: Styles, first_row: int = 2, shared: SharedStrings | None = None
) -> Iterator[bytes]:
    """SpreadsheetML `<row>` elements of the frame, in chunks, starting at row `first_row`.

    A chunk is laid out as one grid of strings, row by row: `<row r="N">`, then per cell its
    column's `<c r="X`, the row number and the cell's body (the same objects reused, nothing
    built per cell), then `</row>`; one `str.join` makes the XML. Missing values leave the
    cell out. Without `shared` every text is an inline string.
    """
    prefixes = [f'<c r="{get_column_letter(i + 1)}' for i in range(frame.shape[1])]
    texts = {
        i: _text_column(frame.iloc[:, i], styles.quoted, shared)
        for i in range(frame.shape[1])
        if _is_text(frame.dtypes.iloc[i])
    }
    for start in range(0, len(frame), CHUNK_ROWS):
        chunk = frame.iloc[start : start + CHUNK_ROWS]
        numbers = np.arange(first_row + start, first_row + start + len(chunk)).astype(str)
        numbers = numbers.astype(object)
        grid = np.empty((len(chunk), 3 * len(prefixes) + 2), dtype=object)
        grid[:, 0] = '<row r="' + numbers + '">'
        grid[:, -1] = "</row>"
        for i, prefix in enumerate(prefixes):
            text = texts.get(i)
            if text is not None:
                codes = text.codes[start : start + len(chunk)]
                missing = codes < 0
                bodies = text.chunk_bodies(codes, styles.quoted)
            else:
                series = chunk.iloc[:, i]
                missing = series.isna().to_numpy()
                bodies = _value_bodies(series, styles)
            grid[:, 3 * i + 1] = prefix
            grid[:, 3 * i + 2] = numbers
            grid[:, 3 * i + 3] = bodies
            if missing.any():
                grid[missing, 3 * i + 1 : 3 * i + 4] = ""
        yield "".join(grid.ravel().tolist()).encode("utf-8")
