"""The admin-center device CSV and the Devices report CSV, told apart by their headers."""

from __future__ import annotations

import csv
import io

import pandas as pd

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
    header = [h.strip() for h in next(csv.reader([header_line], delimiter=delimiter), [])]
    kind = _csv_kind(header, name)
    wanted = wanted_columns(kind) or frozenset()
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
    frame = (
        concat(frames)
        if frames
        else pd.DataFrame(columns=[h for h in header if h.casefold() in wanted])
    )
    frame.columns = [str(c).strip() for c in frame.columns]
    lines = pd.Series(range(2, len(frame) + 2), index=frame.index).astype(str)
    frame["source_record"] = name + ":line " + lines
    return [RawBatch(kind, name, frame)], [], INPUT_KINDS[kind]


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
