"""A generated tenant written as the Graph snapshot `auditor fetch` would save (for `--snapshot`).

The parts hold what the tenant's files hold, as `auditor fetch` keeps them: the list pages'
Macs (the members its `$select` names), the single-device GETs,
the Devices export's rows (as the pull keeps them: one object per CSV row) and the tenant
objects. Records are read file by file while the snapshot is written, so a 500k-Mac
snapshot is written without holding 500k records.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from auditor import __version__
from auditor.sources.graph_parts import LIST_FIELDS
from auditor.sources.snapshot import write_snapshot

GRAPH = "https://graph.microsoft.com/v1.0"


class _Records:
    """A part's records, read from its files each time they are iterated; knows its count."""

    def __init__(self, files: list[Path], read: Callable[[Path], list[dict[str, Any]]]) -> None:
        self.files, self.read = files, read
        self.count = sum(len(read(path)) for path in files)

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for path in self.files:
            yield from self.read(path)


def _value(path: Path) -> list[dict[str, Any]]:
    document = orjson.loads(path.read_bytes())
    return list(document["value"]) if isinstance(document, dict) else list(document)


def _listed(path: Path) -> list[dict[str, Any]]:
    """A list page's Macs as the pull keeps them: the members its `$select` names."""
    return [{k: r[k] for k in LIST_FIELDS if k in r} for r in _value(path)]


def _fetched(path: Path) -> list[dict[str, Any]]:
    """Single-device GETs as the pull keeps them: without their `@odata.context`."""
    return [{k: v for k, v in r.items() if k != "@odata.context"} for r in _value(path)]


def _rows(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _single(path: Path) -> list[dict[str, Any]]:
    document = orjson.loads(path.read_bytes())
    return [{k: v for k, v in document.items() if k != "@odata.context"}]


def write_tenant_snapshot(tenant: Path, path: Path) -> None:
    """Write the generated tenant in `tenant` as a snapshot file at `path`."""
    sources: dict[str, tuple[str, Callable[[Path], list[dict[str, Any]]]]] = {
        "managed_devices": ("managed_devices*.json", _listed),
        "device_details": ("device_details*.json", _fetched),
        "export_devices": ("export_devices*.csv", _rows),
        "apns": ("apns_certificate.json", _single),
        "ade_tokens": ("dep_onboarding_settings.json", _value),
        "ade_profiles": ("ade_enrollment_profiles.json", _value),
        "enrollment_configurations": ("enrollment_configurations.json", _value),
    }
    parts = {
        name: {
            "status": "ok",
            "endpoint": f"{GRAPH}/deviceManagement",
            "records": _Records(sorted(tenant.glob(pattern)), read),
        }
        for name, (pattern, read) in sources.items()
    }
    listed = len(parts["managed_devices"]["records"])
    snapshot = {
        "auditor_snapshot": 1,
        "tool_version": __version__,
        "fetched_at": dt.datetime(2026, 9, 1, 5, tzinfo=dt.UTC).isoformat(),
        "graph_url": GRAPH,
        "cloud": "global",
        "tenant_id": "bench-tenant",
        "complete": True,
        "parts": parts,
        "reconciliation": {
            "listed": listed,
            "exported": len(parts["export_devices"]["records"]),
            "only_in_list": [],
            "only_in_export": [],
            "recovered": 0,
        },
        "gaps": [],
        "notes": [],
        "stats": {},
    }
    write_snapshot(snapshot, path)
