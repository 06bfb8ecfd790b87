"""SpreadsheetML `<row>` XML for a large frame, built column-wise (see `package` for the file).

Each column is factorized once per sheet. Text whose values repeat (statuses, models,
versions, rule titles) goes to the shared-strings table, as Excel itself writes it, its cell
XML made once per distinct value; text that is mostly distinct (ids, serials, names) stays
inline, so the table never grows with the fleet. A chunk of rows is then made by Arrow
kernels a column at a time (each cell's XML from its column's pieces, each row from its
cells), so no Python string is built per cell.

A cell carries its reference (`r="B7"`) only after a cell left out of its row: ECMA-376 Part 1
(§18.3.1.4 `c`, §18.3.1.73 `row`) makes `r` optional, a cell without it being the column after
the previous cell of its row (the first of a row: column A), as Excel and openpyxl read it.
About 40 % less XML to build and deflate; every cell keeps its place and value.

Every text value is a string cell, never a formula; text starting with = + - @ tab or CR also
gets a quote-prefix style, so editing the cell in Excel keeps it text.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from openpyxl.utils import get_column_letter

from auditor.render.cell_text import FORMULA_TRIGGERS, ILLEGAL_RANGES
from auditor.render.xlsx.limits import MAX_CELL_CHARS, fit_text, iso_text, outside_excel

CHUNK_ROWS = 20_000
# A chunk's XML is one Arrow string array, which holds under 2 GiB: chunks of very wide rows
# (cells near Excel's 32,767 characters, escaped) get fewer rows, so none can pass this
CHUNK_BYTES = 1 << 30
_CELL_OVERHEAD = 64  # `<c r="XFD1048576" s="…" t="inlineStr"><is><t xml:space="preserve">` and ends
_ESCAPED_MAX = 5  # bytes per character at most once escaped (`&amp;`, `&#13;`; U+FFFF is 3)
SHARED_WHEN_REPEATS = 2  # share a column's text when each value appears this often on average
_XML_SPACE = " \t\r\n"  # what an XML reader may trim from an element's text
_ENTITIES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#13;"))


def _re2_class(characters: str = "", ranges: tuple[tuple[int, int], ...] = ()) -> str:
    """An RE2 character class (Arrow's regular expressions) of these characters and ranges."""
    points = [f"\\x{{{ord(c):x}}}" for c in characters]
    points += [f"\\x{{{a:x}}}-\\x{{{b:x}}}" for a, b in ranges]
    return "[" + "".join(points) + "]"


_ILLEGAL_RE2 = _re2_class(ranges=ILLEGAL_RANGES)
_NEEDS_ESCAPE_RE2 = _re2_class("".join(c for c, _ in _ENTITIES), ILLEGAL_RANGES)
_RISKY_RE2 = "^" + _re2_class("".join(FORMULA_TRIGGERS))  # would read as a formula
_EDGE_SPACE_RE2 = f"^{_re2_class(_XML_SPACE)}|{_re2_class(_XML_SPACE)}$"  # RE2's `$`: text's end
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

    def add(self, items: list[str]) -> np.ndarray:
        """The table index of each `<si>` item (added when new)."""
        indexes = np.empty(len(items), dtype=np.int64)
        for i, item in enumerate(items):
            index = self._index.get(item)
            if index is None:
                index = self._index[item] = len(self.items)
                self.items.append(item)
            indexes[i] = index
        return indexes


def _value_bodies(series: pd.Series, styles: Styles) -> np.ndarray:
    """Cell XML after `<c` and its reference for each row of a date or number column.

    The general path of `_value_cells`: dates with some Excel cannot show (written as text,
    listed by `limits.fit_frame`) and numbers that are not all whole.
    """
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        serial = _excel_serial(series).astype(str).astype(object)
        bodies = np.asarray(f' s="{styles.date}"><v>' + serial + "</v></c>", dtype=object)
        outside = outside_excel(series)
        if outside.any():
            texts = pa.array([iso_text(v) for v in series[outside]], pa.string())
            bodies[outside] = _inline_bodies(texts, styles.quoted).to_numpy(zero_copy_only=False)
        return bodies
    numbers = series.astype("float64").fillna(0).to_numpy()
    as_text = np.where(
        numbers == np.round(numbers), numbers.astype(np.int64).astype(str), numbers.astype(str)
    ).astype(object)
    return np.asarray("><v>" + as_text + "</v></c>", dtype=object)


def _is_text(dtype: Any) -> bool:
    return not (
        isinstance(dtype, pd.DatetimeTZDtype)
        or pd.api.types.is_datetime64_any_dtype(dtype)
        or pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_numeric_dtype(dtype)
    )


@dataclass(frozen=True, slots=True)
class _TextColumn:
    """A text column factorized once: per-row codes (-1 missing) into its distinct values.

    Shared texts hold their cell XML in `uniques`, made once; inline ones (mostly distinct
    values) have it made chunk by chunk from `uniques`, so a sheet of 500k Macs never holds a
    cell string for every value of every column at once.
    """

    codes: np.ndarray
    uniques: pa.Array  # shared: each value's cell XML; inline: the values, as cells hold them
    is_shared: bool

    def widest_cell(self) -> int:
        """The most bytes one of this column's cells can take in the sheet XML."""
        longest = pc.max(pc.binary_length(self.uniques)).as_py() or 0
        return _CELL_OVERHEAD + (longest if self.is_shared else _ESCAPED_MAX * longest)

    def chunk_bodies(self, codes: np.ndarray, quoted: int) -> pa.Array | None:
        """Each row's cell XML for these codes; null where the cell is left out (-1)."""
        if not len(self.uniques):
            return None
        picked = self.uniques.take(pa.array(codes, mask=codes < 0))
        return picked if self.is_shared else _inline_bodies(picked, quoted)


def _text_column(series: pd.Series, quoted: int, shared: SharedStrings | None) -> _TextColumn:
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    codes = codes.astype(np.int32)
    if shared is None or len(uniques) * SHARED_WHEN_REPEATS > len(series):
        return _TextColumn(codes, _cell_texts(uniques), False)  # inline: the table stays small
    shared.references += int((codes >= 0).sum())
    return _TextColumn(codes, _shared_bodies(_cell_texts(uniques), quoted, shared), True)


def _cell_texts(uniques: Any) -> pa.Array:
    """Distinct values as the cells hold them: text, cut to Excel's limit (before escaping)."""
    if isinstance(uniques, pd.Index):
        uniques = uniques.array
    if isinstance(uniques, pd.arrays.ArrowExtensionArray | pd.arrays.ArrowStringArray):
        values = pa.array(uniques)
        if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
            longest = pc.max(pc.utf8_length(values)).as_py()
            if longest is None or longest <= MAX_CELL_CHARS:
                return values.cast(pa.string())
    texts = np.asarray(uniques, dtype=object) if len(uniques) else np.empty(0, dtype=object)
    return pa.array([fit_text(v if isinstance(v, str) else str(v)) for v in texts], pa.string())


def _inline_bodies(values: pa.Array, quoted: int) -> pa.Array:
    """Inline-string cell XML after `<c` and its reference for each text (null stays null)."""
    escaped, style, preserve = _escaped(values, quoted)
    opening = (
        pc.if_else(preserve, '<t xml:space="preserve">', "<t>") if preserve is not None else "<t>"
    )
    return _join(style, ' t="inlineStr"><is>', opening, escaped, "</t></is></c>")


def _shared_bodies(texts: pa.Array, quoted: int, shared: SharedStrings) -> pa.Array:
    """Cell XML after `<c` and its reference for each distinct text, added to the shared strings."""
    escaped, style, preserve = _escaped(texts, quoted)
    opening = (
        pc.if_else(preserve, '<si><t xml:space="preserve">', "<si><t>")
        if preserve is not None
        else "<si><t>"
    )
    indexes = shared.add(_join(opening, escaped, "</t></si>").to_pylist())
    number = pc.cast(pa.array(indexes), pa.string())
    return _join(style, ' t="s"><v>', number, "</v></c>")


def _escaped(values: pa.Array, quoted: int) -> tuple[pa.Array, Any, Any]:
    """Texts XML-escaped (what XML cannot carry as U+FFFD), by Arrow kernels over the array.

    Also each text's style attribute (the quote prefix when it would read as a formula) and
    whether it starts or ends with space (`xml:space="preserve"`); "" and None when none do.
    """
    risky = pc.match_substring_regex(values, _RISKY_RE2)
    style = pc.if_else(risky, f' s="{quoted}"', "") if pc.any(risky).as_py() else ""
    preserve = pc.match_substring_regex(values, _EDGE_SPACE_RE2)
    if pc.any(pc.match_substring_regex(values, _NEEDS_ESCAPE_RE2)).as_py():
        values = pc.replace_substring_regex(values, _ILLEGAL_RE2, "\ufffd")
        for character, entity in _ENTITIES:
            values = pc.replace_substring(values, character, entity)
    return values, style, preserve if pc.any(preserve).as_py() else None


def _value_cells(series: pd.Series, styles: Styles) -> pa.Array:
    """Cell XML after `<c` and its reference for each row of a date, boolean or number column.

    Null where the value is missing (the cell is left out).
    """
    missing = series.isna().to_numpy()
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        flags = pa.array(series.fillna(False).to_numpy(dtype=bool), mask=missing)
        return pc.if_else(flags, ' t="b"><v>1</v></c>', ' t="b"><v>0</v></c>')
    is_date = isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(dtype)
    if is_date and not outside_excel(series).any():
        serial = _excel_serial(series)
        text = pc.cast(pa.array(serial, mask=missing), pa.string())
        # Arrow writes a whole number without the ".0" numpy (and so the old writer) gave it
        text = pc.if_else(pa.array(serial == np.floor(serial)), _join(text, ".0"), text)
        return _join(f' s="{styles.date}"><v>', text, "</v></c>")
    if not is_date:
        numbers = series.astype("float64").fillna(0).to_numpy()
        if (numbers == np.round(numbers)).all() and (np.abs(numbers) < 2.0**63).all():
            text = pc.cast(pa.array(numbers.astype(np.int64), mask=missing), pa.string())
            return _join("><v>", text, "</v></c>")
    return pa.array(_value_bodies(series, styles), pa.string(), mask=missing)


def _excel_serial(series: pd.Series) -> np.ndarray:
    """Excel's serial day number (to 8 decimals) for each moment of a datetime column."""
    stamps = series.dt.tz_convert("UTC") if isinstance(series.dtype, pd.DatetimeTZDtype) else series
    micros = stamps.dt.tz_localize(None).astype("datetime64[us]").to_numpy().astype(np.int64)
    serial: np.ndarray = ((micros - _EXCEL_EPOCH_US) / _US_PER_DAY).round(8)
    return serial


def _join(*parts: Any, skip_nulls: bool = False) -> pa.Array:
    """Arrow's row-wise concatenation of string arrays and scalars: null if any part is."""
    handling = "skip" if skip_nulls else "emit_null"
    joined: pa.Array = pc.binary_join_element_wise(*parts, "", null_handling=handling)
    return joined


def rows_xml(
    frame: pd.DataFrame,
    styles: Styles,
    first_row: int = 2,
    shared: SharedStrings | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[memoryview]:
    """SpreadsheetML `<row>` elements of the frame, in chunks, starting at row `first_row`.

    A chunk is built by Arrow kernels, column by column: each cell is `<c`, its reference
    when the cell before it in the row was left out, and the cell's body (null for a missing
    value, which leaves the cell out), then each row is `<row r="N">`, its cells and
    `</row>`; the chunk's XML is the UTF-8 buffer of those rows as Arrow laid them out, not
    copied. Without `shared` every text is an inline string. A chunk holds `CHUNK_ROWS` rows,
    or fewer when its rows could be wide enough to pass `chunk_bytes` of XML.
    """
    references = [f' r="{get_column_letter(i + 1)}' for i in range(frame.shape[1])]
    texts = {
        i: _text_column(frame.iloc[:, i], styles.quoted, shared)
        for i in range(frame.shape[1])
        if _is_text(frame.dtypes.iloc[i])
    }
    widest_row = _CELL_OVERHEAD * (frame.shape[1] + 1) + sum(
        t.widest_cell() for t in texts.values()
    )
    rows = max(1, min(CHUNK_ROWS, chunk_bytes // widest_row))
    for start in range(0, len(frame), rows):
        chunk = frame.iloc[start : start + rows]
        row_numbers = np.arange(first_row + start, first_row + start + len(chunk))
        numbers = pc.cast(pa.array(row_numbers), pa.string())
        cells: list[Any] = []
        # per row, whether the previous cell was left out (None: it never was; column A has
        # no previous cell, so a row's first cell goes to A without a reference)
        after_gap: pa.Array | None = None
        for i, reference in enumerate(references):
            text = texts.get(i)
            if text is not None:
                bodies = text.chunk_bodies(text.codes[start : start + len(chunk)], styles.quoted)
            else:
                bodies = _value_cells(chunk.iloc[:, i], styles)
            if bodies is None:  # no value in the whole column: the next cells need references
                after_gap = pa.array(np.ones(len(chunk), dtype=bool))
                continue
            opening = _cell_opening(reference, numbers, after_gap)
            if bodies.null_count:  # a missing value drops its whole cell
                cells.append(_join(*opening, bodies))
                after_gap = bodies.is_null()
            else:  # every row has the cell: its pieces go straight into the rows
                cells += [*opening, bodies]
                after_gap = None
        yield _utf8_of(_join('<row r="', numbers, '">', *cells, "</row>", skip_nulls=True))


def _cell_opening(reference: str, numbers: pa.Array, after_gap: pa.Array | None) -> list[Any]:
    """The pieces that open a column's cells: `<c`, and ` r="X7"` in the rows after a gap."""
    if after_gap is None or not pc.any(after_gap).as_py():
        return ["<c"]
    if pc.all(after_gap).as_py():
        return ["<c", reference, numbers, '"']
    return ["<c", pc.if_else(after_gap, _join(reference, numbers, '"'), "")]


def _utf8_of(strings: pa.Array) -> memoryview:
    """The UTF-8 bytes of a string array's values, one after another (a view, no copy)."""
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int32)
    first, last = offsets[strings.offset], offsets[strings.offset + len(strings)]
    return memoryview(strings.buffers()[2])[first:last]
