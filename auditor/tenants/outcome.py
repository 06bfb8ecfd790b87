"""What became of each tenant: its outcome record, failure.json, and the table on stderr.

A failed tenant is never shown as fine: it has no report, a `failure.json` in its folder (unless
the folder already holds evidence, which a failure never overwrites) and a `failed` row.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from auditor.errors import AuditorError
from auditor.evidence import MANIFEST
from auditor.fileops import write_atomic
from auditor.pipeline.folder import FAILURE

FAILURE_SCHEMA_VERSION = 1
OK, PARTIAL, FAILED = "ok", "partial", "failed"


@dataclass(frozen=True, slots=True)
class Audited:
    """What an audit worker sends back: a few numbers, not the report model."""

    devices: int
    posture_pct: float | None
    is_complete: bool
    failures: dict[str, int]  # failing results by severity value
    new_failures: dict[str, int]
    outputs: tuple[Path, ...]  # every file written, the manifest last


@dataclass(frozen=True, slots=True)
class TenantOutcome:
    """One tenant's outcome: ok / partial (reports written, PARTIAL) / failed (no report)."""

    name: str
    tenant_id: str
    display_name: str
    groups: tuple[str, ...]
    folder: Path
    outcome: str
    exit_code: int
    audited: Audited | None = None
    error_type: str = ""
    error: str = ""  # as the CLI would print it (never a secret)
    failure_file: Path | None = None  # None for a failure when the folder keeps earlier evidence
    exception: AuditorError | None = field(default=None, compare=False, repr=False)


def write_failure(outcome: TenantOutcome, as_of: dt.date, failed_at: dt.datetime) -> Path | None:
    """Write `failure.json` into the tenant's folder, unless the folder holds evidence.

    Earlier evidence (a manifest.json) is never overwritten by a failure record: the failure
    is then reported on stderr and in the table only. Returns the file written, else None.
    """
    if (outcome.folder / MANIFEST).is_file():
        return None
    record = {
        "schema_version": FAILURE_SCHEMA_VERSION,
        "tenant_name": outcome.name,
        "tenant_id": outcome.tenant_id,
        "display_name": outcome.display_name,
        "groups": list(outcome.groups),
        "as_of": as_of.isoformat(),
        "period": f"{as_of:%Y-%m}",
        "failed_at": failed_at.astimezone(dt.UTC).replace(microsecond=0).isoformat(),
        "exit_code": outcome.exit_code,
        "error_type": outcome.error_type,
        "error": outcome.error,
    }
    outcome.folder.mkdir(parents=True, exist_ok=True)
    path = outcome.folder / FAILURE
    write_atomic(path, json.dumps(record, indent=2, ensure_ascii=False).encode() + b"\n")
    return path


def outcome_table(outcomes: Sequence[TenantOutcome]) -> str:
    """`tenant | outcome | exit | Macs | posture | folder`, one row per tenant, then the errors."""
    rows = [("tenant", "outcome", "exit", "Macs", "posture", "folder")]
    for o in outcomes:
        audited = o.audited
        pct = None if audited is None else audited.posture_pct
        posture = "-" if pct is None else f"{pct:.1f}%"
        rows.append(
            (
                o.name,
                o.outcome,
                str(o.exit_code),
                "-" if audited is None else f"{audited.devices:,}",
                posture,
                str(o.folder),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    for o in outcomes:
        if o.outcome == FAILED:
            kept = "" if o.failure_file is not None else " (earlier evidence in the folder kept)"
            lines.append(f"{o.name}: {o.error_type}: {o.error}{kept}")
    return "\n".join(lines)


def counts_line(outcomes: Sequence[TenantOutcome], total: int) -> str:
    """`N tenants: a ok, b partial, c failed` for the end of the table."""
    by = {k: sum(1 for o in outcomes if o.outcome == k) for k in (OK, PARTIAL, FAILED)}
    left = total - len(outcomes)
    tail = f", {left} not run" if left else ""
    return f"{total} tenant(s): {by[OK]} ok, {by[PARTIAL]} partial, {by[FAILED]} failed{tail}"
