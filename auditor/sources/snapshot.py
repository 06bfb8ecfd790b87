"""The Graph snapshot file: write it atomically (gzip for .gz), load it, turn it into raw batches.

Format (version 1)::

    {"auditor_snapshot": 1, "tool_version", "fetched_at", "graph_url", "cloud", "tenant_id",
     "complete": bool,
     "parts": {name: {"status": "ok|partial|denied|failed|skipped", "endpoint", "records": [...],
                      "error"?: str, "note"?: str, "failures"?: [{"id", "status", "reason"}]}},
     "reconciliation": {"listed", "exported", "only_in_list", "only_in_export", "recovered"},
     "gaps": [{"part", "status", "reason", "fields", "is_core"}], "notes": [str], "stats": {...}}

It never holds a secret: no token, no client secret, no pre-signed export URL.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from auditor.errors import SourceError
from auditor.fileops import write_atomic
from auditor.models import BatchKind, InventoryPart, RawBatch, SourceGap

SNAPSHOT_VERSION = 1
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
_USABLE = frozenset({"ok", "partial", "denied"})  # statuses whose records are worth reading


def write_snapshot(snapshot: dict[str, Any], path: Path) -> None:
    """Write `snapshot` as JSON (gzip when the name ends .gz), atomically: temp file + os.replace.

    Raises:
        SourceError: The directory is not writable or the snapshot is not JSON-able.
    """
    try:
        payload = orjson.dumps(snapshot, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)
    except TypeError as exc:
        raise SourceError(f"{path}: snapshot is not JSON-serialisable ({exc})") from exc
    if path.name.endswith(".gz"):
        payload = gzip.compress(payload, compresslevel=6, mtime=0)  # same input, same bytes
    try:
        # Owner-only, as the pull has always been written: it names every Mac's user.
        write_atomic(path, payload, mode=0o600)
    except OSError as exc:
        raise SourceError(f"{path}: cannot write the snapshot ({exc.strerror})") from exc


def load_snapshot(path: Path) -> dict[str, Any]:
    """Read a snapshot file (gzip recognised by its magic bytes, whatever the name).

    Raises:
        SourceError: Unreadable, not JSON, or not an auditor snapshot.
    """
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
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
        if part.get("status") not in _USABLE and not records:
            continue
        if kind == BatchKind.GRAPH_DEVICE_DETAILS:
            records = [_with_selection(r) for r in records]
        batches.append(
            RawBatch(kind=kind, source=source, records=_frame(records, f"{source}:{name}"))
        )
    return batches, _gaps(data.get("gaps", []), source)


def _frame(records: list[dict[str, Any]], prefix: str) -> pd.DataFrame:
    """Records as an object-dtype frame: JSON values kept, absent keys None, one level flattened."""
    rows = [_flatten(record) for record in records]
    columns = list(dict.fromkeys(key for row in rows for key in row))
    data = {column: [row.get(column) for row in rows] for column in columns}
    data["source_record"] = [f"{prefix}[{i}]" for i in range(len(rows))]
    return pd.DataFrame(data, dtype=object, index=pd.RangeIndex(len(rows)))


def _with_selection(record: dict[str, Any]) -> dict[str, Any]:
    """A GET-by-id record with the `@odata.context` the pull removed, rebuilt from its keys.

    The pull selects the members it needs, and Graph answers a `$select` with exactly the
    selected members (null ones too): the keys say what the GET carried.
    """
    if "@odata.context" in record:
        return record
    members = ",".join(k for k in record if not k.startswith("@"))
    return {
        "@odata.context": f"$metadata#deviceManagement/managedDevices({members})/$entity",
        **record,
    }


def _flatten(record: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, dict):
            for inner, inner_value in value.items():
                out[f"{key}.{inner}"] = inner_value
        else:
            out[key] = value
    return out


def _gaps(raw: Any, source: str) -> list[SourceGap]:
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
