"""The Graph snapshot file: write it atomically (gzip for .gz), load it, turn it into raw batches.

Written as version 2, JSON lines (gzip for .gz): a header line, then each part's records in
pages of `PAGE_RECORDS`, one page per line::

    {"auditor_snapshot": 2, "tool_version", "fetched_at", "graph_url", "cloud", "tenant_id",
     "complete": bool,
     "parts": {name: {"status": "ok|partial|denied|failed|skipped", "endpoint", "records": N,
                      "error"?: str, "note"?: str, "failures"?: [{"id", "status", "reason"}]}},
     "reconciliation": {"listed", "exported", "only_in_list", "only_in_export", "recovered"},
     "gaps": [{"part", "status", "reason", "fields", "is_core"}], "notes": [str], "stats": {...}}
    {"fields": [...], "part": name, "records": [...]}
    …

The header's `records` is how many records the part has, so a file cut short after a whole
line is refused, never read as a smaller tenant. A page's `fields` are the members its
records carry (nested ones as `parent.member`), so a column-wise reader knows a member sent
as null from one never sent. Device-detail records keep the
`@odata.context` Graph answered their single GET with, which says what the GET selected.
Keys are sorted and gzip carries no timestamp: the same pull gives the same bytes.
`snapshot_pages` reads this file column-wise (500k Macs in seconds); version 1, one JSON
document with the records inline (`"records": [...]`), is still read (`load_snapshot`,
`read_snapshot`). It never holds a secret: no token, no client secret, no pre-signed URL.
"""

from __future__ import annotations

import gzip
import itertools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from auditor.errors import SourceError
from auditor.fileops import atomic_path
from auditor.models import BatchKind, InventoryPart, RawBatch, SourceGap

SNAPSHOT_VERSION = 1  # one JSON document, records inline (read, no longer written)
PAGED_VERSION = 2  # JSON lines: a header, then pages of records
PAGE_RECORDS = 1_000
PAGED_PREFIX = b'{"auditor_snapshot":2,'  # how a version-2 file starts (sorted keys, compact)
_CONTEXT = "@odata.context"
_DEVICE_PARTS = (
    InventoryPart.MANAGED_DEVICES,
    InventoryPart.DEVICE_DETAILS,
    InventoryPart.EXPORT_DEVICES,
)
_LINE = orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE
PART_KINDS = {  # snapshot part → RawBatch kind
    InventoryPart.MANAGED_DEVICES: BatchKind.GRAPH_DEVICES,
    InventoryPart.DEVICE_DETAILS: BatchKind.GRAPH_DEVICE_DETAILS,
    InventoryPart.EXPORT_DEVICES: BatchKind.EXPORT_DEVICES,
    InventoryPart.APNS: BatchKind.APNS,
    InventoryPart.ADE_TOKENS: BatchKind.ADE_TOKENS,
    InventoryPart.ADE_PROFILES: BatchKind.ADE_PROFILES,
    InventoryPart.ENROLLMENT_CONFIGURATIONS: BatchKind.ENROLLMENT_CONFIGURATIONS,
    InventoryPart.ADE_IDENTITIES: BatchKind.ADE_IDENTITIES,
    InventoryPart.VPP_TOKENS: BatchKind.VPP_TOKENS,
    InventoryPart.COMPLIANCE_SETTINGS: BatchKind.COMPLIANCE_SETTINGS,
    InventoryPart.COMPLIANCE_POLICIES: BatchKind.COMPLIANCE_POLICIES,
    InventoryPart.COMPLIANCE_ASSIGNMENTS: BatchKind.COMPLIANCE_ASSIGNMENTS,
    BatchKind.ROLE_SCOPE_TAGS.value: BatchKind.ROLE_SCOPE_TAGS,  # owner parts (graph_owners)
    BatchKind.ENTRA_USERS.value: BatchKind.ENTRA_USERS,
}
USABLE = frozenset({"ok", "partial", "denied"})  # statuses whose records are worth reading


def write_snapshot(
    snapshot: dict[str, Any], path: Path, *, page_records: int = PAGE_RECORDS
) -> None:
    """Write `snapshot` as a version-2 file (gzip when the name ends .gz), atomically.

    `snapshot` is the pull's document (`fetch_snapshot`): each part's `records` a sized
    collection of record objects, written a page per line as they are iterated.

    Raises:
        SourceError: The directory is not writable or the snapshot is not JSON-able.
    """
    try:
        # Owner-only from the first byte, as the pull has always been: it names every user.
        with atomic_path(path, mode=0o600) as temporary:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with open(descriptor, "wb") as raw:
                if path.name.endswith(".gz"):  # no name, no mtime: same input, same bytes
                    with gzip.GzipFile("", "wb", compresslevel=6, fileobj=raw, mtime=0) as out:
                        _write_lines(snapshot, out.write, page_records)
                else:
                    _write_lines(snapshot, raw.write, page_records)
    except TypeError as exc:
        raise SourceError(f"{path}: snapshot is not JSON-serialisable ({exc})") from exc
    except OSError as exc:
        raise SourceError(f"{path}: cannot write the snapshot ({exc.strerror})") from exc


def _write_lines(
    snapshot: dict[str, Any], write: Callable[[bytes], object], page_records: int
) -> None:
    parts = snapshot.get("parts") or {}
    header = {
        **snapshot,
        "auditor_snapshot": PAGED_VERSION,
        "parts": {
            name: {**part, "records": len(part.get("records") or ())}
            for name, part in parts.items()
        },
    }
    write(orjson.dumps(header, option=_LINE))
    # the small tenant parts first: a reader has them after a few lines
    for name, part in sorted(parts.items(), key=lambda item: item[0] in _DEVICE_PARTS):
        records = iter(part.get("records") or ())
        selected = with_selection if name == InventoryPart.DEVICE_DETAILS else None
        while page := list(itertools.islice(records, page_records)):
            if selected is not None:  # keys sorted first, as the file has them
                page = [selected(dict(sorted(record.items()))) for record in page]
            fields = sorted({key for record in page for key in _flatten(record)})
            line = {"fields": fields, "part": name, "records": page}
            write(orjson.dumps(line, option=_LINE))


def load_snapshot(path: Path) -> dict[str, Any]:
    """Read a snapshot file of either version (gzip recognised by its magic bytes).

    A version-2 file comes back as the document the pull made (`auditor_snapshot` 1, each
    part's pages joined into its records), so both versions load to the same thing.

    Raises:
        SourceError: Unreadable, not JSON, cut short, or not an auditor snapshot.
    """
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        if raw.startswith(PAGED_PREFIX):
            return _joined(raw.splitlines(), str(path))
        data = orjson.loads(raw)
    except FileNotFoundError as exc:
        raise SourceError(f"{path}: snapshot file not found") from exc
    except (OSError, EOFError) as exc:
        raise SourceError(f"{path}: cannot read the snapshot ({exc})") from exc
    except orjson.JSONDecodeError as exc:
        raise SourceError(f"{path}: not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise SourceError(f"{path}: not an auditor snapshot (top level is not an object)")
    return data


def _joined(lines: list[bytes], source: str) -> dict[str, Any]:
    """A version-2 file's lines as one document (each part's pages joined)."""
    header: dict[str, Any] = orjson.loads(lines[0])
    records: dict[str, list[Any]] = {name: [] for name in header.get("parts") or {}}
    for number, line in enumerate(lines[1:], 2):
        page = orjson.loads(line)
        if not isinstance(page, dict) or page.get("part") not in records:
            raise SourceError(f"{source}: line {number} is not a page of a part the header names")
        records[page["part"]] += page.get("records") or []
    parts = header["parts"]
    check_counts({name: len(found) for name, found in records.items()}, parts, source)
    if InventoryPart.DEVICE_DETAILS in records:
        records[InventoryPart.DEVICE_DETAILS] = [
            _without_rebuilt_context(r) for r in records[InventoryPart.DEVICE_DETAILS]
        ]
    header["parts"] = {name: {**parts[name], "records": records[name]} for name in parts}
    header["auditor_snapshot"] = SNAPSHOT_VERSION  # the document as the pull made it
    return header


def _without_rebuilt_context(record: dict[str, Any]) -> dict[str, Any]:
    """A detail record as the pull kept it: without the context the writer rebuilt."""
    rest = {k: v for k, v in record.items() if k != _CONTEXT}
    return rest if with_selection(rest).get(_CONTEXT) == record.get(_CONTEXT) else record


def check_counts(found: dict[str, int], parts: dict[str, Any], source: str) -> None:
    """Refuse a version-2 file whose pages do not add up to the header's record counts."""
    for name, part in parts.items():
        expected = part.get("records") if isinstance(part, dict) else None
        if expected != found.get(name, 0):
            raise SourceError(
                f"{source}: parts.{name} holds {found.get(name, 0):,} records, the header says "
                f"{expected}: the file is cut short or altered; fetch it again"
            )


def read_snapshot(data: dict[str, Any], source: str) -> tuple[list[RawBatch], list[SourceGap]]:
    """The snapshot's parts as raw batches (source field names, nested objects flattened once).

    Each record gets `source_record` = "<source>:<part>[<index>]". Parts that were skipped or
    failed without records yield no batch; an empty part that was collected yields an empty batch.

    Args:
        data: The snapshot dict (from `load_snapshot` or `fetch_snapshot`).
        source: Name used in `source_record`, e.g. "snapshot.json.gz".

    Returns:
        The batches and the gaps recorded in the snapshot.

    Raises:
        SourceError: Not a version-1 auditor snapshot, or a part/gap is malformed.
    """
    version = data.get("auditor_snapshot")
    if version != SNAPSHOT_VERSION:
        what = (
            "not an auditor snapshot"
            if version is None
            else f"snapshot version {version!r} is not supported"
        )
        raise SourceError(f"{source}: {what} (expected auditor_snapshot: {SNAPSHOT_VERSION})")
    parts = data.get("parts")
    if not isinstance(parts, dict):
        raise SourceError(f"{source}: 'parts' is missing or not an object")
    batches = []
    for name, kind in PART_KINDS.items():
        part = parts.get(name)
        if part is None:
            continue
        records = part.get("records") if isinstance(part, dict) else None
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise SourceError(f"{source}: parts.{name}.records is not a list of objects")
        if part.get("status") not in USABLE and not records:
            continue
        if kind == BatchKind.GRAPH_DEVICE_DETAILS:
            records = [with_selection(r) for r in records]
        batches.append(
            RawBatch(kind=kind, source=source, records=frame_of(records, f"{source}:{name}"))
        )
    return batches, gaps_of(data.get("gaps", []), source)


def frame_of(records: list[dict[str, Any]], prefix: str) -> pd.DataFrame:
    """Records as an object-dtype frame: JSON values kept, absent keys None, one level flattened."""
    rows = [_flatten(record) for record in records]
    columns = list(dict.fromkeys(key for row in rows for key in row))
    data = {column: [row.get(column) for row in rows] for column in columns}
    data["source_record"] = [f"{prefix}[{i}]" for i in range(len(rows))]
    return pd.DataFrame(data, dtype=object, index=pd.RangeIndex(len(rows)))


def with_selection(record: dict[str, Any]) -> dict[str, Any]:
    """A GET-by-id record with the `@odata.context` the pull removed, rebuilt from its keys.

    The pull selects the members it needs, and Graph answers a `$select` with exactly the
    selected members (null ones too): the keys say what the GET carried.
    """
    if _CONTEXT in record:
        return record
    members = ",".join(k for k in record if not k.startswith("@"))
    return {_CONTEXT: f"$metadata#deviceManagement/managedDevices({members})/$entity", **record}


def _flatten(record: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, dict):
            for inner, inner_value in value.items():
                out[f"{key}.{inner}"] = inner_value
        else:
            out[key] = value
    return out


def gaps_of(raw: Any, source: str) -> list[SourceGap]:
    """The snapshot's `gaps` list as SourceGaps (a malformed one is a SourceError)."""
    if not isinstance(raw, list):
        raise SourceError(f"{source}: 'gaps' is not a list")
    gaps = []
    for i, gap in enumerate(raw):
        if not isinstance(gap, dict) or not isinstance(gap.get("part"), str):
            raise SourceError(f"{source}: gaps[{i}] has no 'part'")
        fields = gap.get("fields") or []
        if not isinstance(fields, list):
            raise SourceError(f"{source}: gaps[{i}].fields is not a list")
        gaps.append(
            SourceGap(
                gap["part"],
                str(gap.get("reason", "")),
                tuple(map(str, fields)),
                bool(gap.get("is_core")),
                str(gap.get("status") or ""),
            )
        )
    return gaps
