"""portfolio.xlsx: the portfolio as a workbook (Tenants, By group, Totals), built with openpyxl.

Every value goes through the report workbook's `cells.put`, so a tenant name that starts like
a formula (`=`, `+`, `-`, `@` …) is text, never a formula. Each tenant's row links to its
report (relative to the workbook, so the folder can be moved or shared whole).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from auditor.portfolio.model import Portfolio, TenantRow, Totals
from auditor.render import report_path
from auditor.render.xlsx.cells import (
    BOLD,
    DATE_FORMAT,
    PCT_FORMAT,
    TITLE,
    Column,
    facts,
    put,
    table,
    widths,
)

POINTS_FORMAT = '+0.0" pts";-0.0" pts";0.0" pts"'


def _expires_on(row: TenantRow) -> Any:
    return row.nearest_expiry.expires_on if row.nearest_expiry else None


def _days_left(row: TenantRow) -> Any:
    return row.nearest_expiry.days_left if row.nearest_expiry else None


def _listed(row: TenantRow) -> Any:
    return None if row.in_tenants_file is None else ("yes" if row.in_tenants_file else "NO")


def _audit(row: TenantRow, which: str) -> Any:
    ref = getattr(row, which)
    return ref.period if ref else None


TENANT_COLUMNS: tuple[Column[TenantRow], ...] = (
    Column("Tenant", lambda r: r.name, 18),
    Column("Display name", lambda r: r.display_name, 24),
    Column("Groups", lambda r: r.groups, 18),
    Column("Outcome", lambda r: r.outcome_label, 11),
    Column("Period", lambda r: r.period, 9),
    Column("As of", lambda r: r.as_of, 11, DATE_FORMAT),
    Column("Behind newest period", lambda r: "yes" if r.is_stale else "no", 9),
    Column("In tenants file", _listed, 9),
    Column("Macs", lambda r: r.devices, 8),
    Column("Posture", lambda r: r.posture_pct, 9, PCT_FORMAT),
    Column("Posture change", lambda r: r.posture_delta_pts, 10, POINTS_FORMAT),
    Column("Compared with", lambda r: r.previous_period, 10),
    Column("Not collected", lambda r: r.not_collected_text, 30),
    Column("Critical failing Macs", lambda r: r.critical_failing_devices, 10),
    Column("High failing Macs", lambda r: r.high_failing_devices, 10),
    Column("Overdue critical", lambda r: r.overdue_critical_results, 10),
    Column("Overdue high", lambda r: r.overdue_high_results, 10),
    Column("Nearest expiry", lambda r: r.expiry_text, 40),
    Column("Expires on", _expires_on, 11, DATE_FORMAT),
    Column("Days left", _days_left, 8),
    Column("Last successful audit", lambda r: _audit(r, "last_successful_audit"), 11),
    Column("Last complete audit", lambda r: _audit(r, "last_complete_audit"), 11),
    Column("Error", lambda r: r.error, 40),
    Column("Tenant id", lambda r: r.tenant_id, 38),
    Column("Report", lambda r: r.links[0].label if r.links else None, 9),
)
TOTAL_COLUMNS: tuple[Column[tuple[str, Totals]], ...] = (
    Column("Group", lambda g: g[0], 22),
    Column("Tenants", lambda g: g[1].tenants, 9),
    Column("Failed", lambda g: g[1].failed, 8),
    Column("Not audited", lambda g: g[1].not_audited, 9),
    Column("PARTIAL", lambda g: g[1].partial, 9),
    Column("Ok", lambda g: g[1].ok, 6),
    Column("Sample data", lambda g: g[1].sample, 8),
    Column("Behind newest period", lambda g: g[1].stale, 9),
    Column("Not in tenants file", lambda g: g[1].not_in_tenants_file, 9),
    Column("Macs (audited tenants)", lambda g: g[1].devices, 11),
    Column("Critical failing Macs", lambda g: g[1].critical_failing_devices, 10),
    Column("High failing Macs", lambda g: g[1].high_failing_devices, 10),
    Column("Overdue critical", lambda g: g[1].overdue_critical_results, 10),
    Column("Overdue high", lambda g: g[1].overdue_high_results, 10),
    Column("Lowest posture", lambda g: g[1].lowest_posture_pct, 10, PCT_FORMAT),
    Column("Without posture", lambda g: g[1].without_posture, 10),
    Column("Expiring ≤ 30 days", lambda g: g[1].expiring_soon, 10),
    Column("Expiry not collected", lambda g: g[1].expiry_not_collected, 10),
    Column("Sums are lower bounds", lambda g: "yes" if g[1].is_lower_bound else "no", 10),
)


def _rows(
    sheet: Worksheet,
    name: str,
    top: int,
    columns: Sequence[Column[Any]],
    records: Sequence[Any],
    row_of: Callable[[Any], TenantRow],
) -> None:
    """A table of tenant rows whose last column links to each tenant's report."""
    table(sheet, name, top, columns, records)
    link_col = len(columns)
    for offset, record in enumerate(records, 1):
        row = row_of(record)
        if row.links:
            cell = sheet.cell(row=top + offset, column=link_col)
            cell.hyperlink = row.links[0].href
            cell.style = "Hyperlink"
    widths(sheet, [c.width for c in columns])


def _first(member: tuple[str, TenantRow]) -> str:
    return member[0]


def _of_member(column: Column[TenantRow]) -> Column[tuple[str, TenantRow]]:
    """A tenant column read from a (group, row) pair of the By group sheet."""
    return Column(column.header, lambda m: column.value(m[1]), column.width, column.number_format)


def render(portfolio: Portfolio, path: Path) -> None:
    """Write the workbook to `path`."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new Workbook always has one sheet
    sheet.title = "Tenants"
    _rows(sheet, "Tenants", 1, TENANT_COLUMNS, portfolio.rows, lambda r: r)
    sheet.freeze_panes = "B2"
    by_group = workbook.create_sheet("By group")
    grouped = [(g.name, r) for g in portfolio.groups for r in g.rows]
    group_columns: list[Column[tuple[str, TenantRow]]] = [Column("Tenant group", _first, 18)]
    group_columns += [_of_member(c) for c in TENANT_COLUMNS]
    _rows(by_group, "ByGroup", 1, group_columns, grouped, lambda m: m[1])
    by_group.freeze_panes = "C2"
    _totals_sheet(workbook.create_sheet("Totals"), portfolio)
    with report_path(path) as temporary:
        workbook.save(temporary)


def _totals_sheet(sheet: Worksheet, portfolio: Portfolio) -> None:
    put(sheet, 1, 1, "Intune Mac audit portfolio").font = TITLE
    top = facts(
        sheet,
        3,
        [
            ("As of", portfolio.as_of),
            ("Newest period", portfolio.newest_period),
            ("Generated", portfolio.generated_at),
            ("auditor", portfolio.tool_version),
            ("Order", portfolio.order),
            ("Tenants in the tenants file", portfolio.expected_tenants),
        ],
    )
    note = (
        "Sums cover audited tenants only (failed and not-audited tenants have no numbers; "
        "sample data is not added): with a failed, not-audited or PARTIAL tenant they are "
        "lower bounds."
    )
    put(sheet, top + 1, 1, note).font = BOLD
    records = [("All tenants", portfolio.totals)] + [(g.name, g.totals) for g in portfolio.groups]
    table(sheet, "Totals", top + 3, TOTAL_COLUMNS, records)
    widths(sheet, [c.width for c in TOTAL_COLUMNS])
