"""The Excel workbook: the report model laid out as sheets (Summary, Findings, Devices, …).

openpyxl builds every sheet, style, table, filter and chart (`sheets`, `cells`); the long
sheets (Findings, Devices) get their rows streamed in by `package.splice_rows`. Sheets longer
than Excel's row limit are split ("Findings (2)") and Run info says so, as it names any cell
Excel could not hold as given (`limits`). Inventory text is always written as text, never as
a formula.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from auditor.render import report_path
from auditor.render.xlsx.cells import (
    DATETIME_FORMAT,
    SEVERITY_COLOURS,
    STATUS_COLOURS,
    colour_rules,
    excel_table,
    header,
    widths,
)
from auditor.render.xlsx.limits import adjustments_of, fit_frame
from auditor.render.xlsx.package import SheetRows, splice_rows
from auditor.render.xlsx.population import IDENTITIES_SHEET, population_sheet
from auditor.render.xlsx.sheets import (
    changes_sheet,
    quality_sheet,
    rules_sheet,
    run_info_sheet,
    summary_sheet,
    tenant_sheet,
    waivers_sheet,
)
from auditor.render.xlsx.stream import Styles
from auditor.report import FINDINGS_SCHEMA, Report

EXCEL_MAX_ROWS = 1_048_576  # per sheet, header included
ACTION_PLAN_SHEET = "Action plan"  # one row per failing result: owner, group, due date, link
# The findings table as the sheet shows it: device_id equals entity_id for a Mac and is empty
# for other entities; the streak columns only when the run has history.
FINDINGS_SHEET = tuple(name for name in FINDINGS_SCHEMA if name != "device_id")
HISTORY_ONLY = ("first_seen", "months_failing")


def render(report: Report, path: Path, *, rows_per_sheet: int = EXCEL_MAX_ROWS - 1) -> None:
    """Write the workbook to `path`; long tables split into sheets of `rows_per_sheet` rows."""
    workbook = Workbook()
    styles = _register_styles(workbook)
    summary = workbook.active
    assert summary is not None  # a new Workbook always has one sheet
    summary.title = "Summary"
    summary_sheet(summary, report)
    shown = [c for c in FINDINGS_SHEET if report.changes is not None or c not in HISTORY_ONLY]
    parts: list[SheetRows] = []
    splits: list[tuple[str, int, list[str]]] = []
    statuses = {"Devices": report.device_rule_ids, IDENTITIES_SHEET: report.population.rule_ids}
    for title, frame in (
        ("Findings", report.findings[shown]),
        ("Devices", report.devices),
        (IDENTITIES_SHEET, report.population.identities),
        (ACTION_PLAN_SHEET, report.action_plan),
    ):
        names = _long_sheets(workbook, title, frame, statuses.get(title, ()), rows_per_sheet, parts)
        splits.append((title, len(frame), names))
    adjustments = adjustments_of(workbook)
    parts = [SheetRows(p.sheet, fit_frame(p.frame, p.sheet, adjustments)) for p in parts]
    population_sheet(workbook.create_sheet("Population"), report)
    rules_sheet(workbook.create_sheet("Rules"), report)
    tenant_sheet(workbook.create_sheet("Tenant"), report)
    quality_sheet(workbook.create_sheet("Data quality"), report)
    waivers_sheet(workbook.create_sheet("Waivers"), report)
    if report.changes is not None:
        changes_sheet(workbook.create_sheet("Changes"), report)
    run_info_sheet(
        workbook.create_sheet("Run info"), report, splits, rows_per_sheet, adjustments.lines()
    )
    with report_path(path) as temporary:
        staged = temporary.with_name(temporary.name + ".openpyxl")
        try:
            workbook.save(staged)
            splice_rows(staged, temporary, parts, styles)
        finally:
            staged.unlink(missing_ok=True)


def _register_styles(workbook: Workbook) -> Styles:
    """Register the date and quote-prefix cell styles the streamed rows refer to."""
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)
    date = Cell(sheet, row=1, column=1)
    date.number_format = DATETIME_FORMAT
    quoted = Cell(sheet, row=1, column=1)
    quoted.quotePrefix = True
    return Styles(date=date.style_id, quoted=quoted.style_id)


def _long_sheets(
    workbook: Workbook,
    title: str,
    frame: pd.DataFrame,
    status_columns: Sequence[str],
    rows_per_sheet: int,
    parts: list[SheetRows],
) -> list[str]:
    """Header-only sheets for a long table (split at the row limit); rows come later."""
    count = max(1, -(-len(frame) // rows_per_sheet))
    names = [title if i == 0 else f"{title} ({i + 1})" for i in range(count)]
    headers = [str(c) for c in frame.columns]
    column_widths = _data_widths(frame)
    for i, name in enumerate(names):
        part = frame.iloc[i * rows_per_sheet : (i + 1) * rows_per_sheet]
        sheet = workbook.create_sheet(name)
        header(sheet, 1, headers)
        widths(sheet, column_widths)
        sheet.freeze_panes = "C2" if title == "Devices" else "A2"
        last = f"{get_column_letter(frame.shape[1])}{len(part) + 1}"
        if len(part):
            table_name = title.replace(" ", "") + ("" if i == 0 else f"_{i + 1}")
            sheet.add_table(excel_table(table_name, f"A1:{last}", headers, stripes=False))
        else:
            sheet.auto_filter.ref = f"A1:{get_column_letter(max(frame.shape[1], 1))}1"
        _long_sheet_colours(sheet, headers, status_columns, len(part))
        parts.append(SheetRows(name, part))
    return names


def _long_sheet_colours(
    sheet: Worksheet, headers: Sequence[str], status_columns: Sequence[str], rows: int
) -> None:
    """Severity and status colours; the per-rule status columns leave `pass` plain."""
    if not rows:
        return
    for name, colours in (
        ("severity", SEVERITY_COLOURS),
        ("worst_severity", SEVERITY_COLOURS),
        ("status", STATUS_COLOURS),
    ):
        if name in headers:
            letter = get_column_letter(headers.index(name) + 1)
            colour_rules(sheet, f"{letter}2:{letter}{rows + 1}", colours)
    positions = [headers.index(c) + 1 for c in status_columns]
    if positions:
        first, last = get_column_letter(min(positions)), get_column_letter(max(positions))
        not_pass = {k: v for k, v in STATUS_COLOURS.items() if k != "pass"}
        colour_rules(sheet, f"{first}2:{last}{rows + 1}", not_pass)


def _data_widths(frame: pd.DataFrame, sample: int = 5_000) -> list[float]:
    """Column widths from the header and a sample of values (vectorised), 8–60 characters."""
    head = frame.head(sample)
    widths = []
    for name in frame.columns:
        values = head[name]
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            longest = 16
        else:
            lengths = values.astype("string").str.len()
            longest = int(lengths.max()) if lengths.notna().any() else 0
        widths.append(float(min(max(longest, len(str(name)), 6) + 2, 60)))
    return widths
