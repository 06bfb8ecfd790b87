"""The workbook's building blocks: safe cell writes, Excel tables, and the small sheets.

Summary, Rules, Tenant, Data quality, Waivers, Changes and Run info are written cell by cell
here; `auditor.render.xlsx` assembles the workbook and streams the long sheets.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
from openpyxl.cell.cell import Cell
from openpyxl.chart import BarChart, Reference
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from auditor.render.sheetdata import FORMULA_TRIGGERS, ILLEGAL_XML
from auditor.report import Report
from auditor.report_sections import SEVERITY_ORDER, param_list

DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"  # to the second, like findings.json
PCT_FORMAT = '0.0" %"'
BOLD = Font(bold=True)
TITLE = Font(bold=True, size=16)
HEADER_FILL = PatternFill("solid", start_color="E5E7EB", end_color="E5E7EB")
SEVERITY_COLOURS = {
    "critical": ("7F1D1D", "FEE2E2"),
    "high": ("9A3412", "FFEDD5"),
    "medium": ("854D0E", "FEF9C3"),
    "low": ("1E40AF", "DBEAFE"),
    "info": ("334155", "F1F5F9"),
}
STATUS_COLOURS = {
    "fail": ("B91C1C", "FEE2E2"),
    "waived": ("6B21A8", "F3E8FF"),
    "unknown": ("4B5563", "F3F4F6"),
    "pass": ("166534", "DCFCE7"),
}


# --- cells --------------------------------------------------------------------------------


def _excel(value: Any) -> Any:
    """A model value as something a cell holds: naive UTC datetimes, text for tuples."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, tuple | list):
        return ", ".join(str(v) for v in value)
    return value


def put(sheet: Worksheet, row: int, col: int, value: Any, *, number_format: str = "") -> Cell:
    """Write one value; text is always a string cell, quote-prefixed if it looks like a formula."""
    cell = sheet.cell(row=row, column=col)
    assert isinstance(cell, Cell)  # a fresh cell, never part of a merged range
    plain = _excel(value)
    if isinstance(plain, str):
        cell.value = ILLEGAL_XML.sub("\ufffd", plain)
        cell.data_type = "s"  # openpyxl would otherwise store "=..." as a formula
        if plain.startswith(FORMULA_TRIGGERS):
            cell.quotePrefix = True
    else:
        cell.value = plain
    if number_format:
        cell.number_format = number_format
    elif isinstance(plain, dt.datetime):
        cell.number_format = DATETIME_FORMAT
    elif isinstance(plain, dt.date):
        cell.number_format = DATE_FORMAT
    return cell


def header(sheet: Worksheet, row: int, headers: Sequence[str]) -> None:
    """Bold, shaded column headers in `row`."""
    for col, name in enumerate(headers, 1):
        cell = put(sheet, row, col, name)
        cell.font = BOLD
        cell.fill = HEADER_FILL


def _table(
    sheet: Worksheet,
    name: str,
    top: int,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    formats: dict[int, str] | None = None,
) -> int:
    """Write a header and rows as an Excel table (filters on); returns the next free row."""
    header(sheet, top, headers)
    row = top
    for row, values in enumerate(rows, top + 1):
        for col, value in enumerate(values, 1):
            put(sheet, row, col, value, number_format=(formats or {}).get(col, ""))
    if row > top:
        ref = f"A{top}:{get_column_letter(len(headers))}{row}"
        sheet.add_table(excel_table(name, ref, headers, stripes=True))
    return row + 2


def excel_table(name: str, ref: str, headers: Sequence[str], *, stripes: bool) -> Table:
    """An Excel table with its columns named up front (else openpyxl reads every cell of it)."""
    table = Table(displayName=name, ref=ref, autoFilter=AutoFilter(ref=ref))
    table.tableColumns = [TableColumn(id=i, name=h) for i, h in enumerate(headers, 1)]
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight1", showRowStripes=stripes)
    return table


def widths(sheet: Worksheet, values: Sequence[float]) -> None:
    """Set column widths (characters), from column A on."""
    for col, width in enumerate(values, 1):
        sheet.column_dimensions[get_column_letter(col)].width = width


def colour_rules(sheet: Worksheet, ref: str, colours: dict[str, tuple[str, str]]) -> None:
    """Conditional formats colouring cells of `ref` whose text equals a key of `colours`."""
    for value, (ink, paper) in colours.items():
        fill = PatternFill("solid", start_color=paper, end_color=paper)
        rule = CellIsRule(  # type: ignore[no-untyped-call]
            operator="equal", formula=[f'"{value}"'], font=Font(color=ink), fill=fill
        )
        sheet.conditional_formatting.add(ref, rule)


# --- small sheets -------------------------------------------------------------------------


def summary_sheet(sheet: Worksheet, report: Report) -> None:
    """The Summary sheet: the page-one numbers and a native bar chart."""
    run, summary = report.run, report.summary
    put(sheet, 1, 1, "Intune Mac audit").font = TITLE
    facts: list[tuple[str, Any]] = [
        ("Organisation", run.organisation),
        ("Tenant", run.tenant_id),
        ("As of", run.as_of),
        ("Classification", run.classification),
        ("Data", "complete" if run.is_complete else "PARTIAL: some inventory not collected"),
        ("Newest check-in", summary.newest_sync_at),
        ("Oldest check-in", summary.oldest_sync_at),
        ("Macs without a check-in date", summary.never_synced),
        ("Release catalogue", run.catalogue_as_of),
        ("Catalogue age (days)", run.catalogue_age_days),
    ]
    if run.catalogue_is_stale:
        facts.append(("WARNING", "release catalogue older than 45 days: OS findings may be stale"))
    for row, (key, value) in enumerate(facts, 3):
        put(sheet, row, 1, key).font = BOLD
        put(sheet, row, 2, value)
    row = len(facts) + 4
    put(sheet, row, 1, summary.posture.label).font = BOLD
    put(sheet, row, 2, summary.posture.count)
    put(sheet, row, 3, summary.posture.pct, number_format=PCT_FORMAT)
    row = _table(
        sheet,
        "KeyNumbers",
        row + 2,
        ["key number (Macs)", "count", "share", "not reported"],
        [(k.label, k.count, k.pct, k.unknown) for k in summary.kpis],
        {3: PCT_FORMAT},
    )
    severity_top = row
    row = _table(
        sheet,
        "FindingsBySeverity",
        row,
        ["severity", "failing results", "Macs"],
        [(s.severity, s.results, s.devices) for s in summary.failing_by_severity],
    )
    worst_top = row
    row = _table(
        sheet,
        "MacsByWorstSeverity",
        row,
        ["worst failing severity", "Macs", "share"],
        [(s.label, s.count, s.pct) for s in summary.devices_by_worst],
        {3: PCT_FORMAT},
    )
    _table(
        sheet,
        "TopRules",
        row,
        ["rule", "passing state", "severity", "failing Macs"],
        [(r.rule_id, r.title, r.severity, r.failed) for r in summary.top_rules],
    )
    colour_rules(sheet, f"A{severity_top + 1}:A{severity_top + 5}", SEVERITY_COLOURS)
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
    headers = [
        "rule_id",
        "title",
        "severity",
        "entity",
        "scope",
        "fails when",
        "parameters (this run)",
        "pass",
        "fail",
        "unknown",
        "not_applicable",
        "waived",
        "fail %",
        "rationale",
        "remediation",
        "controls",
        "own mapping",
        "references",
    ]
    rows = [
        (
            r.rule_id,
            r.title,
            r.severity,
            r.entity_type,
            r.scope_text,
            r.fails_when,
            param_list(r),
            r.passed,
            r.failed,
            r.unknown,
            r.not_applicable,
            r.waived,
            r.fail_pct,
            r.rationale,
            r.remediation,
            "; ".join(f"{c.framework}: {', '.join(c.ids)}" for c in r.controls),
            ", ".join(c.framework for c in r.controls if c.is_own),
            "\n".join(r.references),
        )
        for r in report.rules
    ]
    _table(sheet, "Rules", 1, headers, rows, {13: PCT_FORMAT})
    colour_rules(sheet, f"C2:C{len(rows) + 1}", SEVERITY_COLOURS)
    sheet.freeze_panes = "B2"
    widths(sheet, [14, 44, 10, 11, 24, 40, 20, 8, 8, 9, 9, 8, 8, 60, 60, 50, 24, 50])


def tenant_sheet(sheet: Worksheet, report: Report) -> None:
    """The Tenant sheet: APNs, ADE tokens, DEM accounts and tenant rule results."""
    tenant = report.tenant
    facts = [
        ("Tenant", tenant.tenant_id),
        ("APNs certificate expires", tenant.apns_expires_at),
        ("APNs days left", tenant.apns_days_left),
        ("APNs Apple ID", tenant.apns_apple_id),
        ("Personal Mac enrollment blocked", tenant.personal_enrollment_blocked),
        ("macOS enrollment blocked", tenant.macos_enrollment_blocked),
    ]
    for row, (key, value) in enumerate(facts, 1):
        put(sheet, row, 1, key).font = BOLD
        put(sheet, row, 2, value)
    row = _table(
        sheet,
        "AdeTokens",
        len(facts) + 2,
        [
            "token",
            "token_id",
            "Apple ID",
            "type",
            "expires",
            "days left",
            "last sync",
            "days since sync",
            "last sync error",
            "Macs synced",
        ],
        [
            (
                t.token_name,
                t.token_id,
                t.apple_id,
                t.token_type,
                t.expires_at,
                t.days_left,
                t.last_sync_at,
                t.days_since_sync,
                t.last_sync_error_code,
                t.synced_device_count,
            )
            for t in tenant.tokens
        ],
    )
    row = _table(
        sheet,
        "DemAccounts",
        row,
        ["DEM account", "Macs enrolled"],
        [(a.label, a.count) for a in tenant.dem_accounts],
    )
    _table(
        sheet,
        "TenantResults",
        row,
        ["rule_id", "title", "severity", "entity_type", "entity_id", "status", "detail"],
        [
            (r.rule_id, r.title, r.severity, r.entity_type, r.entity_id, r.status, r.detail)
            for r in tenant.results
        ],
    )
    widths(sheet, [32, 40, 26, 12, 18, 10, 18, 12, 12, 12])


def quality_sheet(sheet: Worksheet, report: Report) -> None:
    """The Data quality sheet: gaps, normalization notes, unknowns per rule."""
    quality = report.quality
    row = _table(
        sheet,
        "Gaps",
        1,
        ["part not collected", "reason", "fields it feeds", "core"],
        [(g.part, g.reason, g.fields, g.is_core) for g in quality.gaps],
    )
    row = _table(
        sheet,
        "QualityNotes",
        row,
        ["field", "problem", "records", "examples", "source"],
        [(n.field, n.problem, n.count, " · ".join(n.examples), n.source) for n in quality.notes],
    )
    _table(
        sheet,
        "Unknowns",
        row,
        ["rule_id", "title", "unknown", "commonest reason", "of these"],
        [(u.rule_id, u.title, u.count, u.top_reason, u.top_reason_count) for u in quality.unknowns],
    )
    widths(sheet, [24, 36, 30, 50, 20])


def waivers_sheet(sheet: Worksheet, report: Report) -> None:
    """The Waivers sheet: every waiver and its fate."""
    _table(
        sheet,
        "Waivers",
        1,
        [
            "waiver_id",
            "rule_id",
            "selects",
            "reason",
            "approver",
            "ticket",
            "expires",
            "state",
            "matched",
            "origin",
        ],
        [
            (
                w.waiver_id,
                w.rule_id,
                w.selector,
                w.reason,
                w.approver,
                w.ticket,
                w.expires,
                w.state,
                w.matched,
                w.origin,
            )
            for w in report.waivers
        ],
        {7: DATE_FORMAT},
    )
    sheet.freeze_panes = "A2"
    widths(sheet, [10, 14, 28, 40, 26, 14, 12, 11, 9, 28])


def changes_sheet(sheet: Worksheet, report: Report) -> None:
    """The Changes sheet: trend, per-rule deltas and every changed finding."""
    changes = report.changes
    assert changes is not None
    put(sheet, 1, 1, "Current period").font = BOLD
    put(sheet, 1, 2, changes.current_period)
    put(sheet, 2, 1, "Previous period").font = BOLD
    put(sheet, 2, 2, changes.previous_period or "none recorded")
    counts = [
        ("New", changes.new),
        ("Resolved", changes.resolved),
        ("Persisting", changes.persisting),
    ]
    for row, (key, value) in enumerate(counts, 3):
        put(sheet, row, 1, key).font = BOLD
        put(sheet, row, 2, value)
    row = _table(
        sheet,
        "Trend",
        7,
        ["period", "Macs", "failing Macs", "posture %", *[f"fail {s}" for s in SEVERITY_ORDER]],
        [
            (
                t.period,
                t.devices,
                t.failing_devices,
                t.posture_pct,
                *[dict(t.fail_by_severity).get(s) for s in SEVERITY_ORDER],
            )
            for t in changes.trend
        ],
        {4: PCT_FORMAT},
    )
    row = _table(
        sheet,
        "RuleChanges",
        row,
        [
            "rule_id",
            "title",
            "severity",
            "failing before",
            "failing now",
            "new",
            "resolved",
            "persisting",
            "change",
        ],
        [
            (
                d.rule_id,
                d.title,
                d.severity,
                d.previous_fail,
                d.current_fail,
                d.new,
                d.resolved,
                d.persisting,
                d.delta,
            )
            for d in changes.per_rule
        ],
    )
    items = changes.items
    _table(
        sheet,
        "ChangedFindings",
        row,
        [str(c) for c in items.columns],
        items.astype(object).where(items.notna(), None).itertuples(index=False, name=None),
    )
    widths(sheet, [16, 40, 10, 12, 28, 30, 18, 12, 14])


def run_info_sheet(
    sheet: Worksheet,
    report: Report,
    splits: Sequence[tuple[str, int, list[str]]],
    rows_per_sheet: int,
) -> None:
    """The Run info sheet: as-of date, versions, digests, inputs and sheet splits."""
    run = report.run
    facts: list[tuple[str, Any]] = [
        ("as_of", run.as_of),
        ("period", run.period),
        ("generated_at (UTC)", run.generated_at),
        ("tool_version", run.tool_version),
        ("organisation", run.organisation),
        ("classification", run.classification),
        ("tenant_id", run.tenant_id),
        ("source", run.source),
        ("complete", run.is_complete),
        ("catalogue_as_of", run.catalogue_as_of),
        ("catalogue_source", run.catalogue_source),
        ("catalogue_age_days", run.catalogue_age_days),
        ("catalogue_stale", run.catalogue_is_stale),
        ("config_sha256", run.config_digest),
        ("waivers_sha256", run.waivers_digest),
        ("pdf_devices_per_rule", report.pdf_devices_per_rule),
    ]
    for title, count, names in splits:
        note = f"{count:,} rows on sheet {names[0]}"
        if len(names) > 1:
            note = (
                f"{count:,} rows split over sheets {', '.join(names)}: Excel holds at most "
                f"{rows_per_sheet:,} data rows per sheet"
            )
        facts.append((f"{title.lower()}_rows", note))
    for row, (key, value) in enumerate(facts, 1):
        put(sheet, row, 1, key).font = BOLD
        put(sheet, row, 2, value)
    _table(
        sheet,
        "Inputs",
        len(facts) + 2,
        ["input", "kind", "sha256", "records"],
        [(i.path, i.kind, i.sha256, i.records) for i in run.inputs],
    )
    widths(sheet, [24, 70, 66, 10])
