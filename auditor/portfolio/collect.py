"""Find and read the per-tenant evidence folders under a portfolio root, grouped per tenant.

An evidence folder is a folder holding `findings.json` (a run that wrote reports) or
`failure.json` (a tenant whose run failed, INTERFACE of issue 20); it is a leaf: nothing
below it is read. Hidden folders (an interrupted run's `.auditor-…` staging) are skipped.
findings.json is read in one streaming pass (`notify.document`), so a tenant of any size
costs little memory. A file that is not JSON, lacks a field the roll-up needs or carries a
schema_version this build does not know is a SourceError naming the file and the field.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ijson

from auditor.errors import SourceError
from auditor.notify.document import read_document
from auditor.render import OUTPUT_NAMES

FINDINGS = "findings.json"
FAILURE = "failure.json"
SCHEMA_VERSIONS = frozenset({1})  # of findings.json and of failure.json
# The files a tenant's row links to, the first present being the main link.
REPORT_FILES = tuple(OUTPUT_NAMES[f] for f in ("pdf", "html", "xlsx", "json"))
UNKNOWN_TENANT = "unknown"  # findings.json's tenant_id when no tenant data was collected


@dataclass(frozen=True, slots=True)
class Audited:
    """A folder whose run wrote reports: the parts of its findings.json the roll-up reads."""

    folder: str  # relative to the portfolio root, POSIX
    reports: tuple[str, ...]  # REPORT_FILES present in the folder, in that order
    run: dict[str, Any]
    summary: dict[str, Any]
    changes: dict[str, Any] | None
    tenant: dict[str, Any] | None  # findings.json's tenant block (absent in old files)

    @property
    def tenant_id(self) -> str:
        """The Entra tenant id as the run recorded it."""
        return str(self.run["tenant_id"])

    @property
    def as_of(self) -> dt.date:
        """The audit's as-of date."""
        return dt.date.fromisoformat(str(self.run["as_of"])[:10])

    @property
    def name(self) -> str:
        """The tenants-file name (run.tenant_name), else the organisation."""
        return str(self.run.get("tenant_name") or self.run.get("organisation") or "")


@dataclass(frozen=True, slots=True)
class Failed:
    """A folder holding failure.json: the tenant's run failed and wrote no report."""

    folder: str
    record: dict[str, Any]

    @property
    def tenant_id(self) -> str:
        """The Entra tenant id the failed run was for."""
        return str(self.record["tenant_id"])

    @property
    def as_of(self) -> dt.date:
        """The as-of date the failed run audited."""
        return dt.date.fromisoformat(str(self.record["as_of"])[:10])

    @property
    def name(self) -> str:
        """The tenants-file name."""
        return str(self.record.get("tenant_name") or self.record.get("display_name") or "")


Evidence = Audited | Failed


def period_of(evidence: Evidence) -> str:
    """The audited period, YYYY-MM."""
    if isinstance(evidence, Failed):
        return str(evidence.record["period"])
    return evidence.as_of.strftime("%Y-%m")


def tenant_key(evidence: Evidence) -> str:
    """The tenant a folder belongs to: its tenant id (lower-case).

    A run that collected no tenant data records `unknown`; such folders are told apart by
    their tenant name (else organisation), never merged into one tenant.
    """
    tenant_id = evidence.tenant_id.strip().lower()
    if tenant_id == UNKNOWN_TENANT:
        return f"{UNKNOWN_TENANT}:{evidence.name}"
    return tenant_id


def evidence_folders(root: Path) -> list[Path]:
    """Every folder under `root` (itself included) holding findings.json or failure.json."""
    found: list[Path] = []
    for folder, subfolders, files in os.walk(root, onerror=_walk_error):
        if FINDINGS in files or FAILURE in files:
            found.append(Path(folder))
            subfolders.clear()  # an evidence folder is a leaf (its bundle/ is inputs)
            continue
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
    return sorted(found)


def _walk_error(exc: OSError) -> None:
    raise SourceError(f"{exc.filename}: cannot read folder ({exc.strerror})") from exc


def read_folder(root: Path, folder: Path) -> Evidence:
    """The evidence of one folder; a folder holding both files is refused (which to believe?)."""
    relative = folder.relative_to(root).as_posix()
    findings, failure = folder / FINDINGS, folder / FAILURE
    if findings.is_file() and failure.is_file():
        raise SourceError(
            f"{folder}: holds both {FINDINGS} and {FAILURE}; a failed run never writes beside "
            f"reports, so one of them was copied in: remove the one that does not belong"
        )
    if failure.is_file():
        return Failed(relative, read_failure(failure))
    return _read_findings(findings, relative)


def _read_findings(path: Path, folder: str) -> Audited:
    _check_schema_version(path, _findings_schema_version(path))
    document = read_document(path, names=0)
    run = document.run
    for key in ("tenant_id", "as_of"):
        if not isinstance(run.get(key), str) or not run[key]:
            raise SourceError(f"{path}: run.{key} is missing or not text")
    _check_date(path, "run.as_of", run["as_of"])
    if not isinstance(run.get("tenant_name"), str | None):
        raise SourceError(f"{path}: run.tenant_name must be text or null")
    groups = run.get("tenant_groups", [])
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise SourceError(f"{path}: run.tenant_groups must be a list of text")
    reports = tuple(name for name in REPORT_FILES if (path.parent / name).is_file())
    return Audited(folder, reports, run, document.summary, document.changes, document.tenant)


def _findings_schema_version(path: Path) -> object:
    """findings.json's schema_version (its first key), read without reading the rest."""
    try:
        with path.open("rb") as stream:
            for prefix, event, value in ijson.parse(stream, use_float=True):
                if prefix == "schema_version" and event in ("number", "string", "null"):
                    return value
                if event == "map_key" and prefix == "" and value != "schema_version":
                    return None  # the version comes first in every findings.json
    except OSError as exc:
        raise SourceError(f"{path}: cannot read {FINDINGS} ({exc.strerror})") from exc
    except ijson.JSONError as exc:
        raise SourceError(f"{path}: not valid JSON ({exc})") from exc
    return None


def read_failure(path: Path) -> dict[str, Any]:
    """failure.json, checked: schema_version 1, tenant_id, as_of and period present."""
    try:
        record = json.loads(path.read_bytes())
    except OSError as exc:
        raise SourceError(f"{path}: cannot read {FAILURE} ({exc.strerror})") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(record, dict):
        raise SourceError(f"{path}: not a {FAILURE} (the document is not an object)")
    _check_schema_version(path, record.get("schema_version"))
    for key in ("tenant_id", "as_of", "period"):
        if not isinstance(record.get(key), str) or not record[key]:
            raise SourceError(f"{path}: {key} is missing or not text")
    _check_date(path, "as_of", record["as_of"])
    try:
        dt.datetime.strptime(record["period"], "%Y-%m")
    except ValueError as exc:
        raise SourceError(f"{path}: period {record['period']!r} is not YYYY-MM") from exc
    groups = record.get("groups", [])
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise SourceError(f"{path}: groups must be a list of text")
    return record


def _check_schema_version(path: Path, version: object) -> None:
    if version not in SCHEMA_VERSIONS or isinstance(version, bool):
        known = ", ".join(str(v) for v in sorted(SCHEMA_VERSIONS))
        raise SourceError(
            f"{path}: schema_version {version!r} is not one this auditor reads ({known}); "
            "a newer auditor wrote it, or it is not an auditor file"
        )


def _check_date(path: Path, field: str, value: str) -> None:
    try:
        dt.date.fromisoformat(value[:10])
    except ValueError as exc:
        raise SourceError(f"{path}: {field} {value!r} is not a YYYY-MM-DD date") from exc


def collect(root: Path) -> list[Evidence]:
    """Every evidence folder under `root`, read (sorted by folder)."""
    return [read_folder(root, folder) for folder in evidence_folders(root)]


def by_tenant(evidence: Iterable[Evidence], as_of: dt.date) -> dict[str, list[Evidence]]:
    """Folders per tenant, newest period first, leaving out audits dated after `as_of`.

    Raises:
        SourceError: two folders claim the same tenant and period (every such pair named):
            the roll-up never picks one silently.
    """
    tenants: dict[str, dict[str, list[Evidence]]] = {}
    for item in evidence:
        if item.as_of <= as_of:
            tenants.setdefault(tenant_key(item), {}).setdefault(period_of(item), []).append(item)
    conflicts = [
        f"tenant {key} ({items[0].name}), period {period}: "
        + " and ".join(i.folder or "." for i in items)
        for key, periods in sorted(tenants.items())
        for period, items in sorted(periods.items())
        if len(items) > 1
    ]
    if conflicts:
        raise SourceError(
            "more than one evidence folder for the same tenant and period; keep one of each "
            "(a rerun into another folder, or the same shard copied twice?): "
            + "; ".join(conflicts)
        )
    return {
        key: [periods[p][0] for p in sorted(periods, reverse=True)]
        for key, periods in sorted(tenants.items())
    }
