"""Read a version-2 (paged) snapshot file column-wise: 500k Macs in seconds, in bounded memory.

The header line is read with orjson (parts, statuses, gaps, record counts). The pages are
read by Arrow's JSON reader (C++, several threads, gzip decompressed as it goes) with one
explicit schema holding only the fields normalization reads of the device parts (the rest
of each record is skipped, never built as Python objects); each device part's rows are
then taken from the pages of that part. The small tenant parts (APNs, ADE tokens and
profiles, enrollment configurations) are read with orjson as version 1 reads them.

Anything Arrow cannot take as planned — a field of another JSON type than Graph sends, bytes
that are not UTF-8, a page that is not an object — sends the whole file to the general
reader (`snapshot.load_snapshot` + `read_snapshot`), whose errors name the part and field.
The result is the same batches either way (tests compare them).
"""

from __future__ import annotations

import gzip
import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from auditor.errors import SourceError
from auditor.models import BatchKind, InventoryPart, RawBatch, SourceGap
from auditor.normalize.columns import (
    CONTEXT_COLUMN,
    DATE_WITNESSES,
    ID_LIST_MEMBERS,
    SOURCE_COLUMNS,
)
from auditor.sources.snapshot import (
    PAGED_PREFIX,
    PART_KINDS,
    USABLE,
    check_counts,
    frame_of,
    gaps_of,
    load_snapshot,
    read_snapshot,
)

# Graph sends these as JSON booleans; every other field normalization reads is text.
_BOOLEANS = frozenset({"isSupervised", "isEncrypted", "bootstrapTokenEscrowed"})
_COLUMNAR = {  # device parts read by Arrow
    InventoryPart.MANAGED_DEVICES: BatchKind.GRAPH_DEVICES,
    InventoryPart.DEVICE_DETAILS: BatchKind.GRAPH_DEVICE_DETAILS,
    InventoryPart.EXPORT_DEVICES: BatchKind.EXPORT_DEVICES,
}
_BLOCK = 16 * 2**20  # bytes Arrow parses per block (a page line is ~3 MB)


def is_paged_snapshot(path: Path) -> bool:
    """Whether `path` starts like a version-2 snapshot (gzip or not)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(2)
        opener = gzip.open if head == b"\x1f\x8b" else open
        with opener(path, "rb") as stream:
            return bool(stream.read(len(PAGED_PREFIX)) == PAGED_PREFIX)
    except (OSError, EOFError):
        return False  # the general reader says what is wrong with it


def read_paged_snapshot(path: Path, name: str) -> tuple[list[RawBatch], list[SourceGap], str]:
    """The snapshot's batches (a tenant batch from its tenant id too), gaps and SHA-256.

    Raises:
        SourceError: Not a readable snapshot, pages missing (cut short), or a part malformed.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256") as pool:
        digest = pool.submit(_sha256, path)
        header = _header(path, name)
        batches = _columnar(path, name, header)
        if batches is None:
            batches, _ = read_snapshot(load_snapshot(path), name)
        sha256 = digest.result()
    tenant_id = header.get("tenant_id")
    if tenant_id:
        tenant = pd.DataFrame(
            {"tenant_id": [str(tenant_id)], "source_record": [f"{name}:tenant_id"]}
        )
        batches.append(RawBatch(BatchKind.TENANT, name, tenant))
    return batches, gaps_of(header.get("gaps", []), name), sha256


def _open(path: Path) -> Any:
    with path.open("rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else path.open("rb")


def _header(path: Path, name: str) -> dict[str, Any]:
    try:
        with _open(path) as stream:
            header = orjson.loads(stream.readline())
    except (OSError, EOFError, orjson.JSONDecodeError) as exc:
        raise SourceError(f"{name}: cannot read the snapshot header ({exc})") from exc
    if not isinstance(header, dict) or not isinstance(header.get("parts"), dict):
        raise SourceError(f"{name}: the snapshot header has no 'parts' object")
    return header


def _schema() -> pa.Schema:
    """`part`, and `records`: a list of the fields normalization reads of every device part."""
    top: dict[str, pa.DataType] = {}
    nested: dict[str, dict[str, pa.DataType]] = {}
    spellings = [s for kind in _COLUMNAR.values() for c in SOURCE_COLUMNS[kind].values() for s in c]
    names = [n for s in [*spellings, *DATE_WITNESSES] for n in s] + [CONTEXT_COLUMN]
    for field in dict.fromkeys(names):
        kind = pa.bool_() if field in _BOOLEANS else pa.string()
        if field in ID_LIST_MEMBERS:
            kind = pa.list_(pa.string())
        parent, _, member = field.partition(".")
        if member and not parent.startswith("@"):
            nested.setdefault(parent, {})[member] = kind
        else:
            top[field] = kind
    members = [pa.field(k, t) for k, t in top.items() if k not in nested]
    members += [pa.field(p, pa.struct(list(m.items()))) for p, m in nested.items()]
    return pa.schema(
        [
            ("fields", pa.list_(pa.string())),
            ("part", pa.string()),
            ("records", pa.list_(pa.struct(members))),
        ]
    )


def _columnar(path: Path, name: str, header: dict[str, Any]) -> list[RawBatch] | None:
    """Every part's batch, the device parts read by Arrow; None when Arrow cannot read it."""
    parts: dict[str, _PartColumns] = {part: _PartColumns(kind) for part, kind in _COLUMNAR.items()}
    counts: dict[str, int] = {}
    try:
        reader = pajson.open_json(
            _arrow_stream(path),
            read_options=pajson.ReadOptions(block_size=_BLOCK),
            parse_options=pajson.ParseOptions(
                explicit_schema=_schema(), unexpected_field_behavior="ignore"
            ),
        )
        for number, batch in enumerate(reader):
            batch.validate(full=True)  # Arrow does not check UTF-8 while parsing
            if number == 0:
                batch = batch.slice(1)  # the header line: no part, no records
            labels, pages, fields = (batch.column(c) for c in ("part", "records", "fields"))
            if any(a.null_count for a in (labels, pages, pages.flatten(), fields)):
                return None  # a line that is not a page, or a record that is not an object
            names = pc.unique(labels).to_pylist()
            for part in names:
                if len(names) == 1:  # the usual batch: pages of one part, taken without a copy
                    rows, carried = pages, fields
                else:
                    mask = pc.equal(labels, part)
                    rows, carried = pages.filter(mask), fields.filter(mask)
                records = rows.flatten()
                counts[part] = counts.get(part, 0) + len(records)
                if part in parts:
                    parts[part].add(records, carried)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    except (OSError, EOFError) as exc:
        raise SourceError(f"{name}: cannot read the snapshot ({exc})") from exc
    check_counts(counts, header["parts"], name)
    records = _small_parts(
        path, {p: n for p, n in counts.items() if p not in _COLUMNAR and p in header["parts"]}
    )
    batches = []
    for part, kind in PART_KINDS.items():
        meta = header["parts"].get(part)
        if meta is None or (meta.get("status") not in USABLE and not counts.get(part)):
            continue
        prefix = f"{name}:{part}"
        if part in parts:
            frame = parts[part].frame(prefix)
        else:
            frame = frame_of(records.get(part, []), prefix)
        batches.append(RawBatch(kind=kind, source=name, records=frame))
    return batches


def _arrow_stream(path: Path) -> pa.NativeFile:
    """The file for Arrow, gunzipped by Arrow (in C++, off the GIL) when it is gzip."""
    with path.open("rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
    raw = pa.OSFile(str(path))
    return pa.CompressedInputStream(raw, "gzip") if gzipped else raw


class _PartColumns:
    """One device part's rows as the pages arrive: only the columns its kind reads."""

    def __init__(self, kind: BatchKind) -> None:
        candidates = [*SOURCE_COLUMNS[kind].values(), DATE_WITNESSES]
        self.wanted = {name for c in candidates for spellings in c for name in spellings}
        self.wanted.add(CONTEXT_COLUMN)
        self.carried: set[str] = set()
        self.chunks: dict[str, list[pa.Array]] = {}
        self.rows = 0

    def add(self, rows: pa.StructArray, fields: pa.ListArray) -> None:
        """Keep the wanted columns of these rows, and which members their pages carried."""
        self.carried |= set(pc.unique(fields.flatten()).to_pylist())
        self.rows += len(rows)
        for index, field in enumerate(rows.type):
            values = rows.field(index)
            if pa.types.is_struct(field.type):
                for sub, member in enumerate(field.type):
                    column = f"{field.name}.{member.name}"
                    if column in self.wanted:
                        self.chunks.setdefault(column, []).append(values.field(sub))
            elif field.name in self.wanted:
                if pa.types.is_list(field.type) and values.flatten().null_count:
                    raise pa.ArrowInvalid(f"a null in {field.name}")  # the general reader's case
                self.chunks.setdefault(field.name, []).append(values)

    def frame(self, prefix: str) -> pd.DataFrame:
        """One row per record: the columns some record carried (as version 1 has them), lineage.

        A member no record carried has no column: normalization tells a member sent as null
        from one never sent.
        """
        columns: dict[str, Any] = {
            column: _series(pa.concat_arrays(chunks))
            for column, chunks in self.chunks.items()
            if column in self.carried
        }
        numbers = pa.array(np.arange(self.rows)).cast(pa.string())
        lineage = pc.binary_join_element_wise(f"{prefix}[", numbers, "]", "")
        columns["source_record"] = pd.Series(pd.arrays.ArrowStringArray(lineage))
        return pd.DataFrame(columns, index=pd.RangeIndex(self.rows))


def _small_parts(path: Path, counts: dict[str, int]) -> dict[str, list[dict[str, Any]]]:
    """The records of the small parts (`counts` of each), read with orjson from their lines.

    `write_snapshot` writes them before the device parts, so reading stops after a few lines.
    """
    found: dict[str, list[dict[str, Any]]] = {part: [] for part in counts}
    markers = {f'"part":"{part}","records":'.encode(): part for part in counts}
    with _open(path) as stream:
        stream.readline()  # the header
        for line in stream:
            if all(len(found[p]) >= n for p, n in counts.items()):
                break
            head = line[: line.find(b'"records":') + 10]
            part = next((p for m, p in markers.items() if head.endswith(m)), None)
            if part is not None:
                found[part] += orjson.loads(line)["records"]
    return found


def _series(values: pa.Array) -> pd.Series:
    if pa.types.is_list(values.type):  # ids, as the general reader keeps them: `a, b` text
        values = pc.binary_join(values, ", ")
    if pa.types.is_boolean(values.type):
        return pd.Series(pd.array(values.to_pandas(), dtype="boolean"))
    return pd.Series(pd.arrays.ArrowStringArray(values))


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
