"""The small sheets: Summary (with a chart), Rules, Tenant, Data quality, Waivers, Changes, Run.

Each table is a column spec: `Column(header, how to read a record)`; values come from the
report model as they are (the model has already counted, sorted and formatted them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from openpyxl.chart import BarChart, Reference
from openpyxl.worksheet.worksheet import Worksheet

from auditor.models import InputFile, QualityNote, Severity, SourceGap
from auditor.render.xlsx.attribution import attribution_block
from auditor.render.xlsx.cells import (
    DATE_FORMAT,
    PCT_FORMAT,
    SEVERITY_COLOURS,
    TITLE,
    Column,
    colour_rules,
    facts,
    put,
    table,
    widths,
)
from auditor.render.xlsx.population import tenant_policy_tables
from auditor.report import Report
from auditor.report.model import (
    EntityResult,
    Kpi,
    RuleDelta,
    RuleSummary,
    SeverityCount,
    Share,
    TokenRow,
    TrendPoint,
    UnknownRow,
    WaiverRow,
)
from auditor.report.run_model import PartStatus


def _failing(severity: Severity) -> Callable[[TrendPoint], int | None]:
    """How many results of `severity` failed in a trend period."""
    return lambda point: dict(point.fail_by_severity).get(severity.value)


def _item(position: int) -> Callable[[tuple[Any, ...]], Any]:
    """The value at `position` of a changed-findings row."""
    return lambda row: row[position]


RULES: tuple[Column[RuleSummary], ...] = (
    Column("rule_id", lambda r: r.rule_id, 14),
    Column("title", lambda r: r.title, 44),
    Column("severity", lambda r: r.severity, 10),
    Column("entity", lambda r: r.entity_type, 11),
    Column("scope", lambda r: r.scope_text, 24),
    Column("fails when", lambda r: r.fails_when, 40),
    Column("parameters (this run)", lambda r: r.params_text, 20),
    Column("pass", lambda r: r.passed, 8),
    Column("fail", lambda r: r.failed, 8),
    Column("unknown", lambda r: r.unknown, 9),
    Column("not_applicable", lambda r: r.not_applicable, 9),
    Column("waived", lambda r: r.waived, 8),
    Column("fail %", lambda r: r.fail_pct, 8, PCT_FORMAT),
    Column("rationale", lambda r: r.rationale, 60),
    Column("remediation", lambda r: r.remediation, 60),
    Column("controls", lambda r: r.controls_text, 50),
    Column("own mapping", lambda r: ", ".join(c.framework for c in r.controls if c.is_own), 24),
    Column("references", lambda r: "\n".join(r.references), 50),
)
KPIS: tuple[Column[Kpi], ...] = (
    Column("key number (Macs)", lambda k: k.label),
    Column("count", lambda k: k.count),
    Column("share", lambda k: k.pct, number_format=PCT_FORMAT),
    Column("not reported", lambda k: k.unknown),
    Column("state", lambda k: k.state.replace("_", " ")),
)
BY_SEVERITY: tuple[Column[SeverityCount], ...] = (
    Column("severity", lambda s: s.severity),
    Column("failing results", lambda s: s.results),
    Column("Macs", lambda s: s.devices),
    Column("waived results", lambda s: s.waived),
)
BY_WORST: tuple[Column[Share], ...] = (
    Column("worst failing severity", lambda s: s.label),
    Column("Macs", lambda s: s.count),
    Column("share", lambda s: s.pct, number_format=PCT_FORMAT),
)
TOP_RULES: tuple[Column[RuleSummary], ...] = (
    Column("rule", lambda r: r.rule_id),
    Column("passing state", lambda r: r.title),
    Column("severity", lambda r: r.severity),
    Column("failing Macs", lambda r: r.failed),
)
TOKENS: tuple[Column[TokenRow], ...] = (
    Column("token", lambda t: t.token_name),
    Column("token_id", lambda t: t.token_id),
    Column("Apple ID", lambda t: t.apple_id),
    Column("type", lambda t: t.token_type),
    Column("expires", lambda t: t.expires_at),
    Column("days left", lambda t: t.days_left),
    Column("last sync", lambda t: t.last_sync_at),
    Column("days since sync", lambda t: t.days_since_sync),
    Column("last sync error", lambda t: t.last_sync_error_code),
    Column("Macs synced", lambda t: t.synced_device_count),
)
DEM_ACCOUNTS: tuple[Column[Share], ...] = (
    Column("DEM account", lambda a: a.label),
    Column("Macs enrolled", lambda a: a.count),
)
TENANT_RESULTS: tuple[Column[EntityResult], ...] = (
    Column("rule_id", lambda r: r.rule_id),
    Column("title", lambda r: r.title),
    Column("severity", lambda r: r.severity),
    Column("entity_type", lambda r: r.entity_type),
    Column("entity_id", lambda r: r.entity_id),
    Column("status", lambda r: r.status),
    Column("detail", lambda r: r.detail),
)
PARTS: tuple[Column[PartStatus], ...] = (
    Column("part", lambda p: p.label),
    Column("state", lambda p: p.state.replace("_", " ")),
    Column("reason", lambda p: p.reason or None),
    Column("rules it silences", lambda p: ", ".join(p.silenced_rule_ids) or None),
)
GAPS: tuple[Column[SourceGap], ...] = (
    Column("part not collected", lambda g: g.part),
    Column("reason", lambda g: g.reason),
    Column("fields it feeds", lambda g: g.fields),
    Column("core", lambda g: g.is_core),
)
NOTES: tuple[Column[QualityNote], ...] = (
    Column("field", lambda n: n.field),
    Column("problem", lambda n: n.problem),
    Column("records", lambda n: n.count),
    Column("examples", lambda n: " · ".join(n.examples)),
    Column("source", lambda n: n.source),
)
UNKNOWNS: tuple[Column[UnknownRow], ...] = (
    Column("rule_id", lambda u: u.rule_id),
    Column("title", lambda u: u.title),
    Column("unknown", lambda u: u.count),
    Column("commonest reason", lambda u: u.top_reason),
    Column("of these", lambda u: u.top_reason_count),
)
WAIVERS: tuple[Column[WaiverRow], ...] = (
    Column("waiver_id", lambda w: w.waiver_id, 10),
    Column("rule_id", lambda w: w.rule_id, 14),
    Column("severity", lambda w: w.severity or None, 10),
    Column("selects", lambda w: w.selector, 28),
    Column("reason", lambda w: w.reason, 40),
    Column("approver", lambda w: w.approver, 26),
    Column("ticket", lambda w: w.ticket, 14),
    Column("expires", lambda w: w.expires, 12, DATE_FORMAT),
    Column("days left", lambda w: w.days_left, 9),
    Column("state", lambda w: w.state, 11),
    Column("matched", lambda w: w.matched, 9),
    Column("origin", lambda w: w.origin, 28),
)
TREND: tuple[Column[TrendPoint], ...] = (
    Column("period", lambda t: t.period),
    Column("Macs", lambda t: t.devices),
    Column("failing Macs", lambda t: t.failing_devices),
    Column("posture %", lambda t: t.posture_pct, number_format=PCT_FORMAT),
    *(Column(f"fail {s}", _failing(s)) for s in Severity),
)
RULE_CHANGES: tuple[Column[RuleDelta], ...] = (
    Column("rule_id", lambda d: d.rule_id),
    Column("title", lambda d: d.title),
    Column("severity", lambda d: d.severity),
    Column("failing before", lambda d: d.previous_fail),
    Column("failing now", lambda d: d.current_fail),
    Column("new", lambda d: d.new),
    Column("resolved", lambda d: d.resolved),
    Column("persisting", lambda d: d.persisting),
    Column("change", lambda d: d.delta),
)


def summary_sheet(sheet: Worksheet, report: Report) -> None:
    """The Summary sheet: the page-one numbers and a native bar chart."""
    run, meta, summary = report.run, report.run.meta, report.summary
    put(sheet, 1, 1, "Intune Mac audit").font = TITLE
    pairs: list[tuple[str, Any]] = [
        ("Organisation", meta.organisation),
        ("Tenant", meta.tenant_id),
        ("As of", meta.as_of),
        ("Classification", meta.classification),
        (
            "Data",
            "complete: every part collected"
            if run.is_complete
            else "PARTIAL: "
            + "; ".join(
                f"{p.label} {p.state.replace('_', ' ')}"
                for p in run.parts
                if p.state != "collected"
            ),
        ),
        ("Newest check-in", summary.newest_sync_at),
        ("Oldest check-in", summary.oldest_sync_at),
        ("Macs without a check-in date", summary.never_synced),
        ("Release catalogue", meta.catalogue_as_of),
        ("Catalogue age (days)", meta.catalogue_age_days),
    ]
    if meta.catalogue_is_stale:
        limit = f"{run.catalogue_stale_after_days} days"
        pairs.append(("WARNING", f"release catalogue older than {limit}: OS findings may be stale"))
    pairs += [("WARNING", w.message) for w in run.warnings]
    row = facts(sheet, 3, pairs) + 1
    facts(sheet, row, [
        (summary.posture.label, summary.posture.count),
        (summary.posture_without_waivers.label, summary.posture_without_waivers.count),
        ("Macs with an unknown on a critical or high rule", summary.serious_unknown_devices),
    ])  # fmt: skip
    put(sheet, row, 3, summary.posture.pct, number_format=PCT_FORMAT)
    put(sheet, row + 1, 3, summary.posture_without_waivers.pct, number_format=PCT_FORMAT)
    row += 2
    row = table(sheet, "KeyNumbers", row + 2, KPIS, summary.kpis)
    severity_top = row
    row = table(sheet, "FindingsBySeverity", row, BY_SEVERITY, summary.failing_by_severity)
    worst_top = row
    row = table(sheet, "MacsByWorstSeverity", row, BY_WORST, summary.devices_by_worst)
    table(sheet, "TopRules", row, TOP_RULES, summary.top_rules)
    colour_rules(sheet, f"A{severity_top + 1}:A{severity_top + len(Severity)}", SEVERITY_COLOURS)
    chart = BarChart()
    chart.type = "bar"
    chart.title = "Macs by worst failing severity"
    chart.legend = None
    last = worst_top + len(summary.devices_by_worst)
    chart.add_data(
        Reference(sheet, min_col=2, min_row=worst_top, max_row=last), titles_from_data=True
    )
    chart.set_categories(Reference(sheet, min_col=1, min_row=worst_top + 1, max_row=last))
    chart.height, chart.width = 7.5, 13
    sheet.add_chart(chart, "F3")
    widths(sheet, [42, 44, 12, 14])


def rules_sheet(sheet: Worksheet, report: Report) -> None:
    """The Rules sheet: the catalogue with this run's counts."""
    table(sheet, "Rules", 1, RULES, report.rules)
    colour_rules(sheet, f"C2:C{len(report.rules) + 1}", SEVERITY_COLOURS)
    sheet.freeze_panes = "B2"
    widths(sheet, [c.width for c in RULES])


def tenant_sheet(sheet: Worksheet, report: Report) -> None:
    """The Tenant sheet: APNs, ADE tokens, DEM accounts and tenant rule results."""
    tenant = report.tenant
    row = facts(
        sheet,
        1,
        [
            ("Tenant", tenant.tenant_id),
            ("APNs certificate expires", tenant.apns_expires_at),
            ("APNs days left", tenant.apns_days_left),
            ("APNs Apple ID", tenant.apns_apple_id),
            ("Personal Mac enrollment blocked", tenant.personal_enrollment_blocked),
            ("macOS enrollment blocked", tenant.macos_enrollment_blocked),
        ],
    )
    row = table(sheet, "AdeTokens", row + 1, TOKENS, tenant.tokens)
    row = table(sheet, "DemAccounts", row, DEM_ACCOUNTS, tenant.dem_accounts)
    row = table(sheet, "TenantResults", row, TENANT_RESULTS, tenant.results)
    tenant_policy_tables(sheet, report, row)
    widths(sheet, [32, 40, 26, 12, 18, 10, 18, 12, 12, 12])


def quality_sheet(sheet: Worksheet, report: Report) -> None:
    """The Data quality sheet: gaps, normalization notes, unknowns per rule."""
    row = table(sheet, "Parts", 1, PARTS, report.run.parts)
    row = table(sheet, "Gaps", row, GAPS, report.run.gaps)
    row = table(sheet, "QualityNotes", row, NOTES, report.quality.notes)
    table(sheet, "Unknowns", row, UNKNOWNS, report.quality.unknowns)
    widths(sheet, [24, 36, 30, 50, 20])


def waivers_sheet(sheet: Worksheet, report: Report) -> None:
    """The Waivers sheet: every waiver and its fate."""
    table(sheet, "Waivers", 1, WAIVERS, report.waivers)
    sheet.freeze_panes = "A2"
    widths(sheet, [c.width for c in WAIVERS])


def changes_sheet(sheet: Worksheet, report: Report) -> None:
    """The Changes sheet: trend, per-rule deltas and every changed finding."""
    changes = report.changes
    assert changes is not None
    row = facts(
        sheet,
        1,
        [
            ("Current period", changes.current_period),
            ("Previous period", changes.previous_period or "none recorded"),
            ("New", changes.new),
            ("Resolved", changes.resolved),
            ("Persisting", changes.persisting),
        ],
    )
    row = attribution_block(sheet, row, changes)
    row = table(sheet, "Trend", row + 1, TREND, changes.trend)
    row = table(sheet, "RuleChanges", row, RULE_CHANGES, changes.per_rule)
    items = changes.items
    columns = [Column(str(name), _item(i)) for i, name in enumerate(items.columns)]
    rows = items.astype(object).where(items.notna(), None).itertuples(index=False, name=None)
    table(sheet, "ChangedFindings", row, columns, rows)
    widths(sheet, [16, 40, 10, 12, 28, 30, 18, 12, 14])


def run_info_sheet(
    sheet: Worksheet,
    report: Report,
    splits: Sequence[tuple[str, int, list[str]]],
    rows_per_sheet: int,
    adjusted: Sequence[tuple[str, str]] = (),
) -> None:
    """The Run info sheet: as-of date, versions, digests, sheet splits, adjusted cells, inputs."""
    run, meta = report.run, report.run.meta
    pairs: list[tuple[str, Any]] = [
        ("as_of", meta.as_of),
        ("period", meta.period),
        ("generated_at (UTC)", meta.generated_at),
        ("tool_version", meta.tool_version),
        ("organisation", meta.organisation),
        ("classification", meta.classification),
        ("tenant_id", meta.tenant_id),
        ("source", meta.source),
        ("complete", run.is_complete),
        ("catalogue_as_of", meta.catalogue_as_of),
        ("catalogue_source", meta.catalogue_source),
        ("catalogue_age_days", meta.catalogue_age_days),
        ("catalogue_stale", meta.catalogue_is_stale),
        ("config_sha256", meta.config_digest),
        ("waivers_sha256", meta.waivers_digest),
        ("signing_key_sha256", meta.signing_key_sha256 or None),
        ("prepared_by", run.sign_off.prepared_by or None),
        ("reviewed_by", run.sign_off.reviewed_by or None),
        ("macs_audited", run.scope.devices),
        *((f"left_out: {e.reason}", f"{e.records:,} ({e.detail}; {e.source})")
          for e in run.scope.excluded),
        ("pdf_devices_per_rule", report.pdf_devices_per_rule),
    ]  # fmt: skip
    for title, count, names in splits:
        note = f"{count:,} rows on sheet {names[0]}"
        if len(names) > 1:
            note = (
                f"{count:,} rows split over sheets {', '.join(names)}: Excel holds at most "
                f"{rows_per_sheet:,} data rows per sheet"
            )
        pairs.append((f"{title.lower()}_rows", note))
    pairs += adjusted
    row = facts(sheet, 1, pairs)
    inputs: tuple[Column[InputFile], ...] = (
        Column("input", lambda i: i.path),
        Column("kind", lambda i: i.kind),
        Column("sha256", lambda i: i.sha256),
        Column("records", lambda i: i.records),
    )
    table(sheet, "Inputs", row + 1, inputs, run.inputs)
    widths(sheet, [24, 70, 66, 10])
