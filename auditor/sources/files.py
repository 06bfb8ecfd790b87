"""Read exported inventory files, recognised by their content (never their name), into raw batches.

Shapes understood: Microsoft Graph list responses (one page, JSON-lines of pages, a JSON array
of pages, pretty-printed pages one after another), single-object responses (a device, the APNs
certificate, a depOnboardingSetting …), bare JSON arrays of records, the admin-center
"All devices" CSV export, the reports-export `Devices` report (CSV, JSON rows or Intune's
Schema/Values table), the ZIP Intune hands out, gzip around any of them, and the tool's own
snapshot. Text may be UTF-8 (with or without BOM) or UTF-16 with a BOM.
"""

from __future__ import annotations

import codecs
import csv
import gc
import gzip
import hashlib
import io
import json
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from auditor.errors import SourceError
from auditor.models import InputFile, RawBatch, SourceGap
from auditor.normalize.fields import wanted_columns

INPUT_KINDS = {
    "graph_devices": "graph-managed-devices",
    "graph_device_details": "graph-device-details",
    "admin_center_csv": "admin-center-csv",
    "export_devices": "export-devices",
    "apns": "graph-apns-certificate",
    "ade_tokens": "graph-ade-tokens",
    "ade_profiles": "graph-ade-profiles",
    "enrollment_configurations": "graph-enrollment-configurations",
    "tenant": "tenant",
}
"""Batch kind → the `InputFile.kind` recorded in the evidence manifest."""

_CHUNK = 5_000  # records turned into a frame at a time, so parsed dicts are freed as we go
_CSV_CHUNK = 100_000
_GZIP, _ZIP = b"\x1f\x8b", (b"PK\x03\x04", b"PK\x05\x06")
_NON_SPACE = re.compile(rb"\S")
_NON_SPACE_TEXT = re.compile(r"\S")
_CONTEXT = re.compile(r"#deviceManagement/(\w+)(?:\('([^']*)'\))?(?:/(\w+))?")

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


def read_inputs(paths: Sequence[Path]) -> tuple[list[RawBatch], list[InputFile]]:
    """Read every file into raw batches plus one InputFile (kind, sha256, record count) each.

    Raises:
        SourceError: a file is empty, truncated, undecodable or of no known shape; the
            message names the file, the line or record, and the field.
    """
    batches, inputs, _ = read_files(paths)
    return batches, inputs


def read_files(
    paths: Sequence[Path],
) -> tuple[list[RawBatch], list[InputFile], list[SourceGap]]:
    """Like `read_inputs`, plus the gaps a snapshot file recorded (parts it could not fetch)."""
    batches: list[RawBatch] = []
    inputs: list[InputFile] = []
    gaps: list[SourceGap] = []
    for path in paths:
        file_batches, file_input, file_gaps = read_file(path)
        batches += file_batches
        inputs.append(file_input)
        gaps += file_gaps
    return batches, inputs, gaps


def read_file(path: Path) -> tuple[list[RawBatch], InputFile, list[SourceGap]]:
    """Read one file; its batches are named after the file (`name` or `name/member`).

    JSON-lines files (a Graph page per line, gzip or not) are streamed line by line, so a
    500k-device file never sits in memory whole; everything else is read at once.
    """
    name = Path(path).name
    try:
        streamed = _read_json_lines_file(Path(path), name)
        if streamed is not None:
            batches, kind, digest = streamed
            gaps: list[SourceGap] = []
        else:
            data = Path(path).read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            batches, gaps, kind = read_bytes(data, name)
    except OSError as exc:
        raise SourceError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc
    records = sum(len(b.records) for b in batches)
    return batches, InputFile(str(path), kind, digest, records), gaps


def read_bytes(data: bytes, name: str) -> tuple[list[RawBatch], list[SourceGap], str]:
    """Recognise one file's bytes: returns its batches, snapshot gaps and InputFile kind."""
    if data.startswith(_GZIP):
        return read_bytes(_gunzip(data, name), name)
    if data.startswith(_ZIP):
        return _read_zip(data, name)
    text = _as_utf8(data, name)
    del data
    start = _NON_SPACE.search(text)
    if start is None:
        raise SourceError(f"{name}: the file is empty")
    if text[start.start() : start.start() + 1] in (b"{", b"["):
        return _read_json(text, name)
    return _read_csv(text, name)


# ---------------------------------------------------------------- containers and encodings


def _gunzip(data: bytes, name: str) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise SourceError(f"{name}: gzip data is damaged or cut short ({exc})") from exc


def _read_zip(data: bytes, name: str) -> tuple[list[RawBatch], list[SourceGap], str]:
    batches: list[RawBatch] = []
    gaps: list[SourceGap] = []
    kinds: list[str] = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [
                m
                for m in archive.infolist()
                if not m.is_dir() and not m.filename.startswith("__MACOSX/")
            ]
            if not members:
                raise SourceError(f"{name}: the ZIP archive holds no files")
            for member in members:
                member_batches, member_gaps, kind = read_bytes(
                    archive.read(member), f"{name}/{member.filename}"
                )
                batches += member_batches
                gaps += member_gaps
                kinds.append(kind)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise SourceError(f"{name}: the ZIP archive is damaged or cut short ({exc})") from exc
    return batches, gaps, kinds[0]


def _as_utf8(data: bytes, name: str) -> bytes:
    """UTF-8 bytes without a BOM; UTF-16 (BOM, or NULs every other byte) is transcoded."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :]
    encoding = None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        head = data[:256]
        even, odd = head[0::2].count(0), head[1::2].count(0)
        if len(head) >= 8 and odd >= 0.9 * (len(head) // 2) and even == 0:
            encoding = "utf-16-le"
        elif len(head) >= 8 and even >= 0.9 * (len(head) // 2) and odd == 0:
            encoding = "utf-16-be"
    if encoding is None:
        return data
    try:
        return data.decode(encoding).encode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{name}: byte {exc.start}: not valid {encoding.upper()} text ({exc.reason})"
        ) from exc


def _undecodable(text: bytes, name: str, first_line: int = 1) -> SourceError | None:
    """A SourceError locating the first byte that is not UTF-8, or None when all is valid."""
    try:
        text.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = text.count(b"\n", 0, exc.start) + first_line
        column = exc.start - (text.rfind(b"\n", 0, exc.start) + 1) + 1
        return SourceError(
            f"{name}: line {line} column {column}: byte 0x{text[exc.start]:02x} is not valid "
            "UTF-8 (save the file as UTF-8 or UTF-16)"
        )
    return None


@contextmanager
def _gc_paused() -> Iterator[None]:
    # Building millions of small dicts makes the cyclic GC rescan them again and again.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# ---------------------------------------------------------------- JSON lines, streamed

_FIRST_LINE_LIMIT = 64 * 2**20  # a Graph page of 1,000 devices is ~2 MB on one line


class _HashingReader(io.RawIOBase):
    """Passes a file's bytes through while hashing them (the evidence digest of the file)."""

    def __init__(self, raw: io.RawIOBase) -> None:
        self.raw = raw
        self.hasher = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self.raw.readinto(buffer) or 0
        self.hasher.update(memoryview(buffer)[:count])
        return count


def _read_json_lines_file(path: Path, name: str) -> tuple[list[RawBatch], str, str] | None:
    """Stream a JSON-lines file (plain or gzip); None when the file is not JSON lines."""
    with path.open("rb", buffering=0) as raw:
        hashing = _HashingReader(raw)
        buffered = io.BufferedReader(hashing, buffer_size=2**20)
        stream: io.BufferedIOBase = buffered
        if buffered.peek(2)[:2] == _GZIP:
            stream = gzip.GzipFile(fileobj=buffered, mode="rb")
        try:
            first = stream.readline(_FIRST_LINE_LIMIT)
            more = bool(stream.peek(1)[:1])  # type: ignore[attr-defined]
        except (OSError, EOFError, zlib.error):
            return None  # damaged gzip: the whole-file path reports it
        document = _first_line_document(first, more=more)
        if document is None:
            return None
        collector = _Collector(name)
        kinds: list[str] = []
        with _gc_paused():
            kinds += _add_document(collector, document, "line 1 ", True)
            del document
            for number, line in enumerate(_lines(stream, name), start=2):
                if not line.strip():
                    continue
                try:
                    page = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    raise _line_error(line, number, name, exc) from exc
                kinds += _add_document(collector, page, f"line {number} ", True)
                del page
        while hashing.read(2**20):  # what the gzip reader left (trailer padding)
            pass
    return collector.batches(), INPUT_KINDS.get(kinds[0], kinds[0]), hashing.hasher.hexdigest()


def _first_line_document(first: bytes, *, more: bool) -> Any:
    """The first line's JSON when it opens a JSON-lines file, else None."""
    if not more or not first.endswith(b"\n"):
        return None  # a single document (or a first line too long to be a page)
    line = first.removeprefix(codecs.BOM_UTF8).strip()
    if not line.startswith((b"{", b"[")):
        return None
    try:
        document = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None  # pretty-printed JSON: read whole
    if isinstance(document, dict) and "auditor_snapshot" in document:
        return None  # the snapshot reader wants the whole document
    return document


def _lines(stream: io.BufferedIOBase, name: str) -> Iterator[bytes]:
    try:
        yield from stream
    except (OSError, EOFError, zlib.error) as exc:
        raise SourceError(f"{name}: gzip data is damaged or cut short ({exc})") from exc


def _line_error(line: bytes, number: int, name: str, exc: json.JSONDecodeError) -> SourceError:
    if "UTF-8" in exc.msg or "surrogates" in exc.msg:
        located = _undecodable(line, name, first_line=number)
        if located is not None:
            return located
    ends_early = "end of data" in exc.msg
    what = "JSON ends early (truncated?)" if ends_early else f"invalid JSON ({exc.msg})"
    return SourceError(f"{name}: line {number} column {exc.colno}: {what}")


# ---------------------------------------------------------------- JSON


class _Columns:
    """One batch kind's records as growing column lists (source names, one level flattened).

    `wanted` (case-folded names) limits a device batch to the columns normalization reads:
    a Graph device carries ~60 fields, and keeping them all costs gigabytes at 500k devices.
    """

    def __init__(self, wanted: frozenset[str] | None) -> None:
        self.wanted = wanted
        self.data: dict[str, list[Any]] = {}
        self.rows = 0
        # Columns with few distinct values keep one object per value ("macOS" once, not 500k
        # times): less memory, and hashing them later is cheap (str caches its hash).
        self.shared: dict[str, dict[Any, Any] | None] = {}

    def extend(self, records: list[dict[str, Any]], locations: list[str]) -> None:
        keys, values_by_key = _columns_of(records, self._wants)
        for key, values in zip(keys, values_by_key, strict=True):
            sample = next((v for v in values if v is not None), None)
            if isinstance(sample, dict):
                subkeys = dict.fromkeys(k for v in values if isinstance(v, dict) for k in v)
                for sub in subkeys:
                    if self._wants(f"{key}.{sub}"):
                        self._put(f"{key}.{sub}", [_member(v, sub) for v in values])
            elif self.wanted is None or key.casefold() in self.wanted:
                self._put(key, list(values))
        self._put("source_record", locations)
        self.rows += len(records)
        for column in self.data.values():
            if len(column) < self.rows:
                column.extend([None] * (self.rows - len(column)))

    def _wants(self, key: str) -> bool:
        """Keep this key (or, for a nested object, some of its members)?"""
        if self.wanted is None:
            return True
        folded = key.casefold()
        return folded in self.wanted or any(w.startswith(folded + ".") for w in self.wanted)

    def _put(self, name: str, values: list[Any]) -> None:
        column = self.data.get(name)
        if column is None:
            column = self.data[name] = [None] * self.rows
        if name not in self.shared:
            try:
                few = len(set(values)) * 20 <= len(values)
            except TypeError:  # unhashable values (lists) are kept as they are
                few = False
            self.shared[name] = {} if few else None
        cache = self.shared[name]
        start = len(column)
        if cache is not None:
            try:
                column.extend(map(cache.setdefault, values, values))
                return
            except TypeError:
                self.shared[name] = None
                del column[start:]
        column.extend(values)

    def frame(self) -> pd.DataFrame:
        index = pd.RangeIndex(self.rows)
        return pd.DataFrame(
            {
                name: pd.Series(values, index=index, dtype=object)
                for name, values in self.data.items()
            },
            index=index,
        )


def _columns_of(
    records: list[dict[str, Any]], wants: Callable[[str], bool]
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The wanted keys of a chunk and their columns of values.

    Graph records share one key set: when every record has as many keys as the first ones
    and all of theirs, the columns come out at C speed; otherwise key by key.
    """
    sample: dict[str, None] = {}
    for record in records[:20]:
        sample.update(dict.fromkeys(record))
    if sample and all(len(record) == len(sample) for record in records):
        keys = [k for k in sample if wants(k)]
        try:
            rows = list(map(itemgetter(*keys), records)) if keys else []
        except KeyError:
            pass
        else:
            if len(keys) == 1:
                return keys, [tuple(rows)]
            return keys, list(zip(*rows, strict=True)) if rows else []
    for record in records:
        sample.update(dict.fromkeys(record))
    keys = [k for k in sample if wants(k)]
    return keys, [tuple(record.get(key) for record in records) for key in keys]


def _member(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else None


class _Collector:
    """Records by batch kind, taken a chunk at a time so parsed dicts are freed as we go."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.kinds: dict[str, _Columns] = {}

    def add(self, kind: str, records: list[Any], where: str, extra: dict[str, str]) -> None:
        columns = self.kinds.setdefault(kind, _Columns(wanted_columns(kind)))
        offset = 0
        while records:
            chunk = records[:_CHUNK]
            del records[:_CHUNK]
            for i, record in enumerate(chunk):
                if not isinstance(record, dict):
                    found = type(record).__name__
                    raise SourceError(
                        f"{self.name}:{where}[{offset + i}]: expected an object, found {found}"
                    )
                for column, value in extra.items():
                    record.setdefault(column, value)
            prefix = f"{self.name}:{where}["
            locations = [f"{prefix}{i}]" for i in range(offset, offset + len(chunk))]
            columns.extend(chunk, locations)
            offset += len(chunk)

    def add_object(self, kind: str, record: dict[str, Any], where: str) -> None:
        columns = self.kinds.setdefault(kind, _Columns(wanted_columns(kind)))
        columns.extend([record], [f"{self.name}{':' + where if where else ''}"])

    def batches(self) -> list[RawBatch]:
        return [RawBatch(kind, self.name, c.frame()) for kind, c in self.kinds.items()]


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True)


def _read_json(text: bytes, name: str) -> tuple[list[RawBatch], list[SourceGap], str]:
    collector = _Collector(name)
    snapshot: list[RawBatch] = []
    gaps: list[SourceGap] = []
    kinds: list[str] = []
    with _gc_paused():
        for where, document, is_stream in _json_documents(text, name):
            if isinstance(document, dict) and "auditor_snapshot" in document:
                snapshot_batches, snapshot_gaps = _read_snapshot(document, name)
                snapshot += snapshot_batches
                gaps += snapshot_gaps
                kinds.append("snapshot")
            else:
                kinds += _add_document(collector, document, where, is_stream)
            del document
    return [*snapshot, *collector.batches()], gaps, INPUT_KINDS.get(kinds[0], kinds[0])


def _json_documents(text: bytes, name: str) -> Iterator[tuple[str, Any, bool]]:
    """(location prefix, parsed document, part of a stream?) for one or many documents."""
    try:
        yield "", orjson.loads(text), False
        return
    except orjson.JSONDecodeError as exc:
        if exc.msg != "unexpected content after document":
            raise _json_error(text, name, exc) from exc
    yield from _json_lines(text, name)


def _json_lines(text: bytes, name: str) -> Iterator[tuple[str, Any, bool]]:
    """Documents one per line (JSON-lines); else pretty-printed documents one after another."""
    view = memoryview(text)
    documents = []
    start = line = 0
    while start < len(text):
        end = text.find(b"\n", start)
        end = len(text) if end < 0 else end
        line += 1
        if _NON_SPACE.search(text, start, end) is not None:
            try:
                documents.append((f"line {line} ", orjson.loads(view[start:end])))
            except orjson.JSONDecodeError:
                documents = []
                break
        start = end + 1
    if documents:
        for where, document in documents:
            yield where, document, True
        return
    decoder = json.JSONDecoder()
    decoded = text.decode("utf-8")
    position, number = 0, 0
    while True:
        match = _NON_SPACE_TEXT.search(decoded, position)
        if match is None:
            return
        number += 1
        try:
            document, position = decoder.raw_decode(decoded, match.start())
        except json.JSONDecodeError as exc:
            raise _json_error(text, name, exc) from exc
        yield f"document {number} ", document, True


def _json_error(text: bytes, name: str, exc: json.JSONDecodeError) -> SourceError:
    """One message with line and column; a document cut short says so."""
    bad_bytes = _undecodable(text, name) if "UTF-8" in exc.msg or "surrogates" in exc.msg else None
    if bad_bytes is not None:
        return bad_bytes
    ends_early = (
        "end of data" in exc.msg
        or exc.msg.startswith("Unterminated")
        or exc.pos >= len(text.decode("utf-8", "replace").rstrip())
    )
    what = "JSON ends early (truncated?)" if ends_early else f"invalid JSON ({exc.msg})"
    return SourceError(f"{name}: line {exc.lineno} column {exc.colno}: {what}")


def _add_document(collector: _Collector, document: Any, where: str, is_stream: bool) -> list[str]:
    """Route one parsed document into the collector; returns the kinds it held."""
    name = collector.name
    if isinstance(document, dict) and isinstance(document.get("value"), list):
        return [_add_page(collector, document, where)]
    if isinstance(document, dict) and _is_report_table(document):
        return [_add_report_table(collector, document, where)]
    if isinstance(document, dict):
        context = str(document.get("@odata.context", ""))
        single = not is_stream or context.endswith("$entity")
        kind = _object_kind(document, context, single, f"{name}:{where.strip() or '$'}")
        collector.add_object(kind, document, where.strip())
        return [kind]
    if isinstance(document, list):
        pages = [p for p in document if isinstance(p, dict) and isinstance(p.get("value"), list)]
        if document and len(pages) == len(document):
            return [_add_page(collector, page, f"{where}[{i}].") for i, page in enumerate(pages)]
        kind = _records_kind(document, "", f"{name}:{where.strip() or '$'}", in_page=False)
        collector.add(kind, document, where.strip(), {})
        return [kind]
    raise SourceError(
        f"{name}:{where.strip() or ' top level'}: not a known shape: expected a JSON object or "
        f"array, found {type(document).__name__}"
    )


def _add_page(collector: _Collector, page: dict[str, Any], where: str) -> str:
    context = str(page.get("@odata.context", ""))
    records = page["value"]
    kind = _records_kind(records, context, f"{collector.name}:{where}value", in_page=True)
    extra = {}
    match = _CONTEXT.search(context)
    if kind == "ade_profiles" and match and match[2]:
        extra["tokenId"] = match[2]
    collector.add(kind, records, f"{where}value", extra)
    return kind


def _is_report_table(document: dict[str, Any]) -> bool:
    keys = {k.casefold(): k for k in document}
    return "schema" in keys and "values" in keys and isinstance(document[keys["values"]], list)


def _add_report_table(collector: _Collector, document: dict[str, Any], where: str) -> str:
    """Intune's report JSON: {"Schema": [{"Column": "DeviceId", …}], "Values": [[…], …]}."""
    keys = {k.casefold(): k for k in document}
    schema, rows = document[keys["schema"]], document[keys["values"]]
    try:
        columns = [str(c["Column"] if isinstance(c, dict) else c) for c in schema]
        records = [dict(zip(columns, row, strict=True)) for row in rows]
    except (KeyError, TypeError, ValueError) as exc:
        raise SourceError(
            f"{collector.name}:{where}Values: rows do not match the Schema columns ({exc})"
        ) from exc
    kind = _records_kind(records, "", f"{collector.name}:{where}Values", in_page=True)
    collector.add(kind, records, f"{where}Values", {})
    return kind


# ---------------------------------------------------------------- what a record is


def _records_kind(records: list[Any], context: str, where: str, *, in_page: bool) -> str:
    """The batch kind of a list of records, from @odata.context and the keys of a sample.

    Records of a Graph list page are never trusted as single GETs (a list returns defaults
    for bootstrapTokenEscrowed and hardwareInformation); a bare array holding only the
    detail fields is taken as collected single GETs.
    """
    match = _CONTEXT.search(context)
    if match:
        kind = _CONTEXT_KINDS.get((match[1], match[3] or ""))
        if kind:
            return kind
    keys: set[str] = set()
    odata_type = ""
    for record in records[:50]:
        if isinstance(record, dict):
            keys.update(record)
            odata_type = odata_type or str(record.get("@odata.type", ""))
    if not records:
        raise SourceError(f"{where}: an empty list whose @odata.context names no known collection")
    kind = _kind_of(keys, odata_type, single=False)
    if kind is None:
        raise _unknown_shape(where, keys)
    return "graph_devices" if in_page and kind == "graph_device_details" else kind


def _object_kind(record: dict[str, Any], context: str, single: bool, where: str) -> str:
    match = _CONTEXT.search(context)
    if match:
        kind = _CONTEXT_KINDS.get((match[1], match[3] or ""))
        if kind == "graph_devices" and single:
            return "graph_device_details"
        if kind:
            return kind
    kind = _kind_of(set(record), str(record.get("@odata.type", "")), single=single)
    if kind is None:
        raise _unknown_shape(where, set(record))
    return kind


_CONTEXT_KINDS = {
    ("managedDevices", ""): "graph_devices",
    ("applePushNotificationCertificate", ""): "apns",
    ("depOnboardingSettings", ""): "ade_tokens",
    ("depOnboardingSettings", "enrollmentProfiles"): "ade_profiles",
    ("deviceEnrollmentConfigurations", ""): "enrollment_configurations",
}

_GRAPH_DEVICE_KEYS = frozenset(
    {"deviceName", "operatingSystem", "osVersion", "serialNumber", "deviceEnrollmentType",
     "managementAgent", "enrolledDateTime", "lastSyncDateTime", "isSupervised", "model"}
)  # fmt: skip
_DETAIL_KEYS = frozenset({"bootstrapTokenEscrowed", "hardwareInformation"})
_PROFILE_KEYS = frozenset(
    {"configurationEndpointUrl", "enableAuthenticationViaCompanyPortal", "isDefault",
     "requiresUserAuthentication", "requireCompanyPortalOnSetupAssistantEnrolledDevices"}
)  # fmt: skip


def _kind_of(keys: set[str], odata_type: str, *, single: bool) -> str | None:
    """Classify by @odata.type, then by which fields are present (Graph is camelCase)."""
    folded = {k.casefold() for k in keys}
    type_name = odata_type.rsplit(".", 1)[-1].casefold()
    if type_name == "manageddevice" or ("id" in keys and len(keys & _GRAPH_DEVICE_KEYS) >= 2):
        return "graph_device_details" if single else "graph_devices"
    if "id" in keys and keys & _DETAIL_KEYS and not keys & _GRAPH_DEVICE_KEYS:
        return "graph_device_details"
    if {"deviceid", "serialnumber"} & folded and "id" not in keys:
        return "export_devices"
    if {h.casefold() for h in _ADMIN_IDS} & folded:
        return "admin_center_csv"
    if (
        type_name == "applepushnotificationcertificate"
        or {"topicIdentifier", "certificateSerialNumber"} & keys
    ):
        return "apns"
    if type_name == "deponboardingsetting" or "tokenExpirationDateTime" in keys:
        return "ade_tokens"
    if "enrollmentprofile" in type_name or (keys & _PROFILE_KEYS and "displayName" in keys):
        return "ade_profiles"
    if "enrollmentconfiguration" in type_name or "restriction" in type_name:
        return "enrollment_configurations"
    if {"macOSRestriction", "platformRestriction", "deviceEnrollmentConfigurationType"} & keys:
        return "enrollment_configurations"
    return None


def _unknown_shape(where: str, keys: set[str]) -> SourceError:
    shown = ", ".join(sorted(keys)[:12]) + (" …" if len(keys) > 12 else "")
    return SourceError(
        f"{where}: not a known shape (fields: {shown or 'none'}); expected Intune managed "
        "devices, a Devices export, the APNs certificate, ADE tokens or profiles, or "
        "enrollment configurations"
    )


def _read_snapshot(document: dict[str, Any], name: str) -> tuple[list[RawBatch], list[SourceGap]]:
    from auditor.sources.snapshot import read_snapshot  # the Graph side owns the format

    batches, gaps = read_snapshot(document, name)
    tenant_id = document.get("tenant_id")
    if tenant_id and not any(b.kind == "tenant" for b in batches):
        tenant = pd.DataFrame(
            {"tenant_id": [str(tenant_id)], "source_record": [f"{name}:tenant_id"]}
        )
        batches = [*batches, RawBatch("tenant", name, tenant)]
    return batches, gaps


# ---------------------------------------------------------------- CSV


def _read_csv(text: bytes, name: str) -> tuple[list[RawBatch], list[SourceGap], str]:
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
        raise (_undecodable(text, name) or SourceError(f"{name}: {exc}")) from exc
    except pd.errors.EmptyDataError as exc:
        raise SourceError(f"{name}: the file is empty") from exc
    except pd.errors.ParserError as exc:
        detail = str(exc).removeprefix("Error tokenizing data. C error: ").strip()
        raise SourceError(f"{name}: not a readable CSV file: {detail}") from exc
    frame = (
        _concat(frames)
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
