"""The portfolio model: one row per tenant, worst first, grouped by tenant group, with totals.

Pure: built from the evidence `collect` read, the portfolio's as-of date and where the
reports will be written (`expected` checks it against a tenants file). Every number is
copied from the tenant's findings.json, never recomputed; a value the file does not carry
stays None (unknown), never 0. Renderers compute nothing: every text a cell shows (outcome
words, the expiry horizon, the parts not collected) is made here.
"""

from __future__ import annotations

import datetime as dt
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from auditor.notify.message import Expiry
from auditor.portfolio.collect import Audited, Evidence, Failed, period_of
from auditor.portfolio.expiry import EXPIRY_PARTS, expiry_horizon
from auditor.portfolio.totals import NO_GROUP, Group, Totals, group_rows, totals_of

__all__ = ["NO_GROUP", "ORDER", "Gap", "Group", "Link", "Portfolio", "TenantRow", "Totals",
           "build_portfolio", "without_numbers"]  # fmt: skip

ORDER = (
    "failed and not-audited tenants first; then PARTIAL tenants, tenants whose posture is "
    "unknown and tenants whose newest audit is older than the portfolio's newest period; then "
    "complete tenants; sample-data tenants last. Within each: lowest posture first (unknown "
    "first), then most Macs failing a critical rule, then a high one, then most overdue "
    "critical and high results, then name. Groups are ordered by their worst tenant"
)
OUTCOME_WORDS = {"not_audited": "NOT AUDITED", "failed": "FAILED", "partial": "PARTIAL", "ok": "ok",
                 "sample": "sample data"}  # fmt: skip
REPORT_LABELS = {"report.pdf": "PDF", "report.html": "HTML", "report.xlsx": "Excel",
                 "findings.json": "JSON", "failure.json": "failure"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Link:
    """One of a tenant's files, relative to the portfolio's folder."""

    label: str  # PDF, HTML, Excel, JSON, failure
    path: str  # POSIX path relative to where the portfolio is written
    href: str  # the same, percent-encoded for a URL


@dataclass(frozen=True, slots=True)
class Gap:
    """A part of the inventory the tenant's run did not collect whole (findings.json run.gaps)."""

    part: str
    state: str | None  # denied, failed, not_supplied (null in files before issue 14)
    reason: str | None
    is_core: bool


@dataclass(frozen=True, slots=True)
class AuditRef:
    """An earlier (or this) audit of the tenant: when, and where its reports are."""

    period: str
    as_of: dt.date
    folder: str  # relative to the portfolio root (--from)


@dataclass(frozen=True, slots=True)
class TenantRow:
    """One tenant's line in the portfolio (docs/portfolio.md describes every field)."""

    name: str
    display_name: str
    tenant_id: str
    groups: tuple[str, ...]
    outcome: str  # ok | partial | failed | sample | not_audited
    outcome_label: str
    period: str | None  # None: not audited (no evidence at all)
    as_of: dt.date | None
    is_stale: bool  # older than the portfolio's newest period
    devices: int | None
    posture_pct: float | None
    posture_delta_pts: float | None
    previous_period: str | None
    not_collected: tuple[Gap, ...]
    not_collected_text: str
    critical_failing_devices: int | None
    high_failing_devices: int | None
    overdue_critical_results: int | None
    overdue_high_results: int | None
    expiry_state: str  # found | none | not_collected
    nearest_expiry: Expiry | None
    expiry_not_collected: tuple[str, ...]
    expiry_text: str
    last_successful_audit: AuditRef | None
    last_complete_audit: AuditRef | None
    folder: str | None
    links: tuple[Link, ...]
    error: str | None  # failed rows: the error as the CLI printed it; not audited: why
    error_type: str | None
    exit_code: int | None
    failed_at: str | None
    warnings: tuple[str, ...]
    in_tenants_file: bool | None = None  # None: no tenants file was given


@dataclass(frozen=True, slots=True)
class Portfolio:
    """The whole roll-up."""

    as_of: dt.date
    generated_at: dt.datetime
    tool_version: str
    newest_period: str
    order: str
    totals: Totals
    rows: tuple[TenantRow, ...]
    groups: tuple[Group, ...]
    expected_tenants: int | None = None  # the tenants file's count; None: no file given


def _number(block: dict[str, Any] | None, *keys: str) -> Any:
    """block[k1][k2]…, or None when any level is missing."""
    value: Any = block
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _links(prefix: str, folder: str, names: Sequence[str]) -> tuple[Link, ...]:
    paths = [posixpath.normpath(posixpath.join(prefix, folder, name)) for name in names]
    return tuple(Link(REPORT_LABELS[n], p, quote(p)) for n, p in zip(names, paths, strict=True))


def _gaps(run: dict[str, Any]) -> tuple[Gap, ...]:
    return tuple(
        Gap(str(g.get("part")), g.get("state"), g.get("reason"), bool(g.get("is_core")))
        for g in run.get("gaps") or []
        if isinstance(g, dict)
    )


def _ref(audit: Audited | None) -> AuditRef | None:
    return None if audit is None else AuditRef(period_of(audit), audit.as_of, audit.folder)


def _is_sample(run: dict[str, Any]) -> bool:
    codes = {w.get("code") for w in run.get("warnings") or [] if isinstance(w, dict)}
    return run.get("source") == "sample" or "sample_data" in codes


def tenant_row(history: Sequence[Evidence], as_of: dt.date, newest: str, prefix: str) -> TenantRow:
    """The row of one tenant from its folders (newest period first)."""
    latest = history[0]
    audits = [e for e in history if isinstance(e, Audited)]
    complete = next((a for a in audits if a.run.get("complete") is True), None)
    common: dict[str, Any] = {
        "period": period_of(latest),
        "as_of": latest.as_of,
        "is_stale": period_of(latest) < newest,
        "last_successful_audit": _ref(audits[0] if audits else None),
        "last_complete_audit": _ref(complete),
        "folder": latest.folder,
    }
    if isinstance(latest, Failed):
        return _failed_row(latest, audits, prefix, common)
    run, summary = latest.run, latest.summary
    gaps = _gaps(run)
    is_partial = run.get("complete") is not True
    outcome = "partial" if is_partial else ("sample" if _is_sample(run) else "ok")
    state, nearest, missing, text = expiry_horizon(latest, as_of)
    return TenantRow(
        name=latest.name,
        display_name=str(run.get("organisation") or latest.name),
        tenant_id=latest.tenant_id,
        groups=tuple(run.get("tenant_groups") or ()),
        outcome=outcome,
        outcome_label=OUTCOME_WORDS[outcome],
        devices=summary.get("devices"),
        posture_pct=_number(summary, "posture", "pct"),
        posture_delta_pts=_number(latest.changes, "posture_delta_pts"),
        previous_period=_number(latest.changes, "previous_period"),
        not_collected=gaps,
        not_collected_text="; ".join(f"{g.part} ({g.state or 'not collected'})" for g in gaps),
        critical_failing_devices=_number(summary, "failing_devices_by_severity", "critical"),
        high_failing_devices=_number(summary, "failing_devices_by_severity", "high"),
        overdue_critical_results=_number(summary, "overdue_by_severity", "critical", "results"),
        overdue_high_results=_number(summary, "overdue_by_severity", "high", "results"),
        expiry_state=state,
        nearest_expiry=nearest,
        expiry_not_collected=missing,
        expiry_text=text,
        links=_links(prefix, latest.folder, latest.reports),
        error=None,
        error_type=None,
        exit_code=None,
        failed_at=None,
        warnings=tuple(str(w.get("code")) for w in run.get("warnings") or []),
        **common,
    )


def _failed_row(
    failure: Failed, audits: Sequence[Audited], prefix: str, common: dict[str, Any]
) -> TenantRow:
    """A failed tenant: no numbers at all (unknown, never 0), the error, the last audit."""
    record = failure.record
    earlier = audits[0].run if audits else {}
    name = record.get("tenant_name") or earlier.get("tenant_name") or failure.name
    return TenantRow(
        name=str(name or failure.tenant_id),
        display_name=str(record.get("display_name") or earlier.get("organisation") or name),
        tenant_id=failure.tenant_id,
        groups=tuple(record.get("groups") or ()),
        outcome="failed",
        outcome_label=OUTCOME_WORDS["failed"],
        links=_links(prefix, failure.folder, ("failure.json",)),
        error=record.get("error"),
        error_type=record.get("error_type"),
        exit_code=record.get("exit_code"),
        failed_at=record.get("failed_at"),
        **without_numbers("the run failed"),
        **common,
    )


def without_numbers(reason: str) -> dict[str, Any]:
    """A row's fields for a tenant with no audit to show: every number unknown, never 0."""
    return {
        "devices": None,
        "posture_pct": None,
        "posture_delta_pts": None,
        "previous_period": None,
        "not_collected": (),
        "not_collected_text": f"nothing: {reason}",
        "critical_failing_devices": None,
        "high_failing_devices": None,
        "overdue_critical_results": None,
        "overdue_high_results": None,
        "expiry_state": "not_collected",
        "nearest_expiry": None,
        "expiry_not_collected": tuple(w for _, _, w in EXPIRY_PARTS),
        "expiry_text": f"not collected: {reason}",
        "warnings": (),
    }


def _tier(row: TenantRow) -> int:
    if row.outcome in ("failed", "not_audited"):
        return 0
    if row.outcome == "sample":
        return 3
    return 1 if row.outcome == "partial" or row.posture_pct is None or row.is_stale else 2


def _worst_first(value: float | None, *, larger_is_worse: bool) -> tuple[int, float]:
    """Sort key: unknown first, then the worse values."""
    if value is None:
        return (0, 0.0)
    return (1, -value if larger_is_worse else value)


def sort_key(row: TenantRow) -> tuple[Any, ...]:
    """Worst first, as ORDER says."""
    overdue = None
    if row.overdue_critical_results is not None or row.overdue_high_results is not None:
        overdue = (row.overdue_critical_results or 0) + (row.overdue_high_results or 0)
    return (
        _tier(row),
        _worst_first(row.posture_pct, larger_is_worse=False),
        _worst_first(row.critical_failing_devices, larger_is_worse=True),
        _worst_first(row.high_failing_devices, larger_is_worse=True),
        _worst_first(overdue, larger_is_worse=True),
        row.name.casefold(),
        row.tenant_id,
    )


def build_portfolio(
    tenants: dict[str, list[Evidence]],
    *,
    as_of: dt.date,
    generated_at: dt.datetime,
    tool_version: str,
    link_prefix: str = ".",
) -> Portfolio:
    """The portfolio of `tenants` (collect.by_tenant), links relative to `link_prefix`.

    `link_prefix` is the portfolio root as seen from the folder the portfolio is written to.
    """
    newest = max((period_of(h[0]) for h in tenants.values()), default="")
    rows = tuple(
        sorted((tenant_row(h, as_of, newest, link_prefix) for h in tenants.values()), key=sort_key)
    )
    return Portfolio(
        as_of=as_of,
        generated_at=generated_at,
        tool_version=tool_version,
        newest_period=newest,
        order=ORDER,
        totals=totals_of(rows),
        rows=rows,
        groups=group_rows(rows),
    )
