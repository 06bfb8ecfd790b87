"""Device CSVs: the admin-center export, the Devices report, PowerShell's `Export-Csv`.

The kind comes from the header, column by column (`normalize.columns.classify`): every column
is mapped by all its spellings, and a file mixing two shapes so that one would lose a field
is refused. Every row's field count is checked on every path (Arrow's reader, then the
`csv` module's when Arrow objects or a quoted value never closes); a column present twice is
read once when the copies agree and refused when they do not.
"""

from __future__ import annotations

import csv
import io
import re

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from auditor.errors import SourceError
from auditor.models import BatchKind, QualityNote, RawBatch
from auditor.normalize.columns import classify, identifying_columns, wanted_columns
from auditor.normalize.text import quoted
from auditor.sources.files.copies import merge_copies, unmapped_note
from auditor.sources.files.encoding import undecodable
from auditor.sources.files.reading import Content, UnknownShapeError
from auditor.sources.files.shapes import INPUT_KINDS, POWERSHELL

_TYPE_LINE = re.compile(rb"\A#TYPE [^\r\n]*\r?\n")  # Windows PowerShell's Export-Csv
_FORMAT_LIST = re.compile(rb"\A\s*\w[\w ]*\s+: ", re.ASCII)
_FORMAT_TABLE = re.compile(rb"\A[^\r\n]+\r?\n-+( +-+)+\s*\r?\n")
_SEPARATOR = "\x00"  # joins a header and its position into a unique Arrow column name


def read_csv(text: bytes, name: str) -> Content:
    """A device CSV as one batch: the columns normalize reads, each under one name.

    Raises:
        UnknownShapeError: the header is no device export's (PowerShell text output is
            named as such, with the command that writes a readable file).
        SourceError: a short or long row, a quoted value never closed, copies of a column
            that disagree, bytes that are not UTF-8, or a header mixing two shapes.
    """
    if b"\n" not in text and b"\r" in text:  # classic Mac line ends (Excel's "CSV (Macintosh)")
        text = text.replace(b"\r", b"\n")
    skipped = 0  # lines before the header: line numbers count them too
    powershell = _TYPE_LINE.match(text)
    if powershell:
        text = text[powershell.end() :]
        skipped = 1
    raw_header, data_start, delimiter = _header(text, name, skipped + 1)
    header = [h.strip() for h in raw_header]
    kind = _kind(header, text, name)
    wanted = wanted_columns(kind) or frozenset()
    keep = [i for i, h in enumerate(header) if h.casefold() in wanted]
    names = [f"{h}{_SEPARATOR}{i}" for i, h in enumerate(header)]
    first_line = skipped + _line_ends(text, 0, data_start) + 1
    frame = _read_with_arrow(text, data_start, delimiter, names, keep)
    if frame is None:
        frame = _read_with_csv(text, data_start, name, delimiter, names, keep, first_line)
    lines = _line_numbers(text, data_start, delimiter, frame, first_line)
    frame["source_record"] = name + ":line " + lines
    frame = merge_copies(frame, kind, name, _header_of, _column_words)
    notes = [n for n in (unmapped_note(name, classify(header).unmapped),) if n is not None]
    if len(text) > data_start and not text.endswith(b"\n"):
        notes.append(
            QualityNote(
                "inputs",
                "no_final_line_break",
                1,
                (f"{name} does not end with a line break: its last row may be cut short",),
                name,
            )
        )
    shape = f"{POWERSHELL}-csv" if kind == BatchKind.GRAPH_DEVICES else INPUT_KINDS[kind]
    return Content([RawBatch(kind, name, frame)], shape, notes=notes)


def _header(text: bytes, name: str, line_number: int) -> tuple[list[str], int, str]:
    """The header's fields, where the data starts, and the delimiter.

    A header field may hold a quoted line break: lines are taken until the quotes close.
    `line_number` is the header's line in the file, for the error.
    """
    end = 0
    while True:
        newline = text.find(b"\n", end)
        end = len(text) if newline < 0 else newline + 1
        if text.count(b'"', 0, end) % 2 == 0 or end == len(text):
            break
    line = text[:end].decode("utf-8", "replace")
    delimiter = max((",", ";", "\t"), key=line.count)
    try:
        fields = next(csv.reader(io.StringIO(line, newline=""), delimiter=delimiter), [])
    except csv.Error as exc:
        raise SourceError(
            f"{name}: line {line_number}: the header is not readable CSV ({exc})"
        ) from exc
    return fields, end, delimiter


def _kind(header: list[str], text: bytes, name: str) -> BatchKind:
    have = ", ".join(map(quoted, header[:15])) + (" …" if len(header) > 15 else "")
    found = classify(header)
    if found.kind is None:
        raise UnknownShapeError(f"{name}: not a known shape: {_looks_like(text, have)}")
    if found.foreign:
        other = BatchKind.EXPORT_DEVICES if found.kind == BatchKind.GRAPH_DEVICES else None
        raise SourceError(
            f"{name}: the header mixes two shapes: {', '.join(found.foreign)} belong to "
            f"{_shape_words(other or BatchKind.GRAPH_DEVICES)} while the rest reads as "
            f"{_shape_words(found.kind)}, which has no column for them; save one shape per file"
        )
    ids = identifying_columns(found.kind)
    if not {i.casefold() for i in ids} & {h.casefold() for h in header}:
        first, serial = _id_words(found.kind)
        raise SourceError(f"{name}: missing required column '{first}' or '{serial}' (have: {have})")
    return found.kind


def _looks_like(text: bytes, have: str) -> str:
    """What a file that is no device export looks like, with the fix where one is known."""
    if _FORMAT_LIST.match(text) or _FORMAT_TABLE.match(text):
        return (
            "this looks like PowerShell's formatted text output (Format-List / Format-Table, "
            "or `>` / Out-File of objects), which cuts and aligns values; save the devices "
            "with `| Export-Csv -NoTypeInformation devices.csv` or "
            "`| ConvertTo-Json -Depth 5 > devices.json`"
        )
    return (
        "the header has none of the admin-center export columns (Device ID, Serial number, …), "
        f"the Devices report columns (DeviceId, …) or Graph's managedDevice members (have: {have})"
    )


def _shape_words(kind: BatchKind) -> str:
    return {
        BatchKind.GRAPH_DEVICES: "Graph / PowerShell managedDevice members",
        BatchKind.EXPORT_DEVICES: "a Devices report",
        BatchKind.ADMIN_CENTER_CSV: "an admin-center export",
    }.get(kind, str(kind))


def _id_words(kind: BatchKind) -> tuple[str, str]:
    if kind == BatchKind.ADMIN_CENTER_CSV:
        return "Device ID", "Serial number"
    if kind == BatchKind.GRAPH_DEVICES:
        return "Id", "SerialNumber"
    return "DeviceId", "SerialNumber"


def _read_with_arrow(
    text: bytes, start: int, delimiter: str, names: list[str], keep: list[int]
) -> pd.DataFrame | None:
    """The kept columns as Arrow-backed text, read in parallel; None when anything is off.

    Arrow rejects short and long rows; a quoted value left open at the end of the file it
    would accept, so an odd number of quotes sends the file to the `csv` reader too, as do
    bytes that are not UTF-8 (Arrow does not check).
    """
    if text.count(b'"', start) % 2:
        return None
    columns = [names[i] for i in keep]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(text).slice(start),
            read_options=pacsv.ReadOptions(column_names=names),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                include_columns=columns,
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowKeyError, pa.ArrowTypeError):
        return None
    if table.column_names != columns:
        return None
    frame: pd.DataFrame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)
    return frame


def _read_with_csv(
    text: bytes,
    start: int,
    name: str,
    delimiter: str,
    names: list[str],
    keep: list[int],
    first: int,
) -> pd.DataFrame:
    """The kept columns, every row's field count checked; errors name the line."""
    data = text[start:]
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise (undecodable(data, name, first) or SourceError(f"{name}: {exc}")) from exc
    reader = csv.reader(io.StringIO(decoded, newline=""), delimiter=delimiter, strict=True)
    rows: list[list[str]] = []
    line = first
    try:
        for row in reader:
            if row and len(row) != len(names):
                cut = " (the file may be cut short)" if len(row) < len(names) else ""
                raise SourceError(
                    f"{name}: line {line}: expected {len(names)} fields (as in the header), "
                    f"found {len(row)}{cut}"
                )
            if row:
                rows.append([row[i] for i in keep])
            line = first + reader.line_num
    except csv.Error as exc:
        raise SourceError(
            f"{name}: line {line}: a quoted value is never closed (the file may be cut short)"
            if "end of data" in str(exc) or "EOF" in str(exc)
            else f"{name}: line {line}: not readable CSV ({exc})"
        ) from exc
    columns = [names[i] for i in keep]
    return pd.DataFrame(rows, columns=columns, dtype=pd.StringDtype("pyarrow"))


def _header_of(column: str) -> str:
    return column.split(_SEPARATOR, 1)[0]


def _column_words(column: str) -> str:
    header, position = column.split(_SEPARATOR, 1)
    return f"column {int(position) + 1} '{header}'"


def _line_ends(text: bytes, start: int, end: int) -> int:
    """Line ends in `text[start:end]`: CRLF, LF or CR alone, as the csv module and Arrow see them.

    A CR alone inside a quoted value counts too, as it does for the csv module's line
    numbers (and for editors that show a line break there).
    """
    return (
        text.count(b"\n", start, end)
        + text.count(b"\r", start, end)
        - text.count(b"\r\n", start, end)
    )


def _line_numbers(
    text: bytes, start: int, delimiter: str, frame: pd.DataFrame, first: int
) -> pd.Series:
    """Each row's first line in the file (rows may span lines; blank lines are skipped).

    When the file has as many lines as rows, row *n* is on line *n*; else the csv module
    counts them (it ends lines at CRLF, LF and CR alone, as `_line_ends` does).
    """
    unended = len(text) > start and text[-1:] not in (b"\n", b"\r")
    lines = _line_ends(text, start, len(text)) + (1 if unended else 0)
    if lines == len(frame):
        return pd.Series(range(first, first + len(frame)), index=frame.index).astype(str)
    starts = []
    decoded = io.StringIO(text[start:].decode("utf-8"), newline="")
    reader = csv.reader(decoded, delimiter=delimiter, strict=False)
    line = first
    for row in reader:
        if row:
            starts.append(line)
        line = first + reader.line_num
    return pd.Series(starts[: len(frame)], index=frame.index).astype(str)
