"""The admin-center device CSV and the Devices report CSV, told apart by their headers."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from auditor.errors import SourceError
from auditor.models import RawBatch, SourceGap
from auditor.normalize.fields import wanted_columns
from auditor.sources.files.encoding import undecodable
from auditor.sources.files.records import concat
from auditor.sources.files.shapes import INPUT_KINDS

_CSV_CHUNK = 100_000


# Headers that identify a CSV (matched case-insensitively); the first of each pair of ids is
# the one a message asks for.
_ADMIN_IDS = ("Device ID", "Serial number")


_ADMIN_HEADERS = frozenset(
    h.casefold()
    for h in (
        *_ADMIN_IDS,
        "Device name",
        "OS version",
        "Enrollment date",
        "Last check-in",
        "Primary user UPN",
        "Management name",
        "Supervised",
        "Encrypted",
        "Compliance",
        "Managed by",
        "Device state",
        "Intune registered",
        "Primary user email address",
    )
)


_EXPORT_IDS = ("DeviceId", "SerialNumber")


_EXPORT_HEADERS = frozenset(
    h.casefold()
    for h in (
        *_EXPORT_IDS,
        "DeviceName",
        "OSVersion",
        "UserApprovedEnrollment",
        "SupervisedStatus",
        "EnrollmentType",
        "DeviceEnrollmentType",
        "CreatedDate",
        "LastContact",
        "OwnerType",
        "CompliantState",
        "EnrolledByUser",
        "ManagedDeviceName",
        "UPN",
    )
)


def read_csv(text: bytes, name: str) -> tuple[list[RawBatch], list[SourceGap], str]:
    """A device CSV as one batch (kind from the header); the columns normalize reads."""
    header_end = text.find(b"\n")
    header_line = text[: header_end if header_end >= 0 else len(text)].decode("utf-8", "replace")
    delimiter = max((",", ";", "\t"), key=header_line.count)
    raw_header = next(csv.reader([header_line], delimiter=delimiter), [])
    header = [h.strip() for h in raw_header]
    kind = _csv_kind(header, name)
    wanted = wanted_columns(kind) or frozenset()
    frame = _read_with_arrow(text, delimiter, raw_header, wanted)
    if frame is None:
        frame = _read_with_pandas(text, name, delimiter, header, wanted)
    frame.columns = [str(c).strip() for c in frame.columns]
    lines = pd.Series(range(2, len(frame) + 2), index=frame.index).astype(str)
    frame["source_record"] = name + ":line " + lines
    return [RawBatch(kind, name, frame)], [], INPUT_KINDS[kind]


def _read_with_arrow(
    text: bytes, delimiter: str, header: list[str], wanted: frozenset[str]
) -> pd.DataFrame | None:
    """The wanted columns as Arrow-backed text, read in parallel; None when anything is off.

    Anything unusual (ragged rows, bad UTF-8, repeated header names) goes to the pandas
    reader, whose errors name the line.
    """
    if len(set(header)) != len(header):
        return None
    keep = [h for h in header if h.strip().casefold() in wanted]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(text),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()),
                include_columns=keep,
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowKeyError, pa.ArrowTypeError):
        return None
    if table.column_names != keep:
        return None
    frame: pd.DataFrame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)
    return frame


def _read_with_pandas(
    text: bytes, name: str, delimiter: str, header: list[str], wanted: frozenset[str]
) -> pd.DataFrame:
    """The wanted columns as text, every row's field count checked; errors name the line."""
    try:
        # In chunks without `usecols`: pandas only checks field counts when it parses every
        # column, and a device export can have 50 columns we do not need.
        chunks = pd.read_csv(
            io.BytesIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            engine="c",
            encoding="utf-8",
            chunksize=_CSV_CHUNK,
        )
        frames = [
            chunk[[c for c in chunk.columns if c.strip().casefold() in wanted]] for chunk in chunks
        ]
    except UnicodeDecodeError as exc:
        raise (undecodable(text, name) or SourceError(f"{name}: {exc}")) from exc
    except pd.errors.EmptyDataError as exc:
        raise SourceError(f"{name}: the file is empty") from exc
    except pd.errors.ParserError as exc:
        detail = str(exc).removeprefix("Error tokenizing data. C error: ").strip()
        raise SourceError(f"{name}: not a readable CSV file: {detail}") from exc
    if frames:
        return concat(frames)
    return pd.DataFrame(columns=[h for h in header if h.casefold() in wanted])


def _csv_kind(columns: list[str], name: str) -> str:
    folded = {c.casefold() for c in columns}
    admin, export = len(folded & _ADMIN_HEADERS), len(folded & _EXPORT_HEADERS)
    have = ", ".join(columns[:15]) + (" …" if len(columns) > 15 else "")
    if admin == 0 and export == 0:
        raise SourceError(
            f"{name}: not a known shape: the header has none of the admin-center export columns "
            f"(Device ID, Serial number, …) or the Devices report columns (DeviceId, …) "
            f"(have: {have})"
        )
    kind, ids = (
        ("admin_center_csv", _ADMIN_IDS) if admin >= export else ("export_devices", _EXPORT_IDS)
    )
    if not {i.casefold() for i in ids} & folded:
        raise SourceError(
            f"{name}: missing required column '{ids[0]}' or '{ids[1]}' (have: {have})"
        )
    return kind
