"""The workbook read back with openpyxl: cell values match the model, no formula from inventory."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from report_inputs import FORMULA, SCRIPT, generated_at, golden_rules, make_report

from auditor.render import RENDERERS
from auditor.render.xlsx import render

SHEETS = [
    "Summary",
    "Findings",
    "Devices",
    "ABM serials",
    "Action plan",
    "Population",
    "Rules",
    "Tenant",
    "Data quality",
    "Waivers",
    "Changes",
    "Run info",
]


@pytest.fixture(scope="module")
def report():
    return make_report(rules=golden_rules())


@pytest.fixture(scope="module")
def workbook(report, tmp_path_factory):
    path = tmp_path_factory.mktemp("xlsx") / "report.xlsx"
    RENDERERS["xlsx"](report, path)
    return openpyxl.load_workbook(path)


def records(sheet) -> list[dict]:
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def column_of(sheet, key: str, offset: int = 1):
    """The value right of the cell whose text is `key` in column A."""
    for row in sheet.iter_rows():
        if row[0].value == key:
            return row[offset].value
    raise KeyError(key)


def test_the_workbook_has_every_sheet(workbook):
    assert workbook.sheetnames == SHEETS


def test_summary_shows_the_models_numbers(workbook, report):
    summary = workbook["Summary"]
    assert column_of(summary, "Organisation") == report.run.meta.organisation
    assert column_of(summary, report.summary.posture.label) == report.summary.posture.count
    for kpi in report.summary.kpis:
        assert column_of(summary, kpi.label) == kpi.count
    assert column_of(summary, "high") == 4  # failing results of severity high
    assert summary._charts, "the Summary sheet carries a native Excel chart"


def test_findings_sheet_has_one_row_per_non_passing_result(workbook, report):
    rows = records(workbook["Findings"])
    assert len(rows) == len(report.findings)
    keys = ["rule_id", "entity_id", "status"]
    expected = [tuple(e) for e in report.findings[keys].itertuples(index=False)]
    assert [tuple(r[k] for k in keys) for r in rows] == expected
    waived = next(r for r in rows if r["status"] == "waived")
    assert waived["waiver_id"] == "W001"
    synced = next(r for r in rows if r["entity_id"] == "dev-02")["last_sync_at"]
    assert synced == dt.datetime(2026, 8, 31)  # a real Excel date, UTC, zone stripped


def test_devices_sheet_has_one_row_per_mac_and_a_status_column_per_rule(workbook, report):
    rows = records(workbook["Devices"])
    assert len(rows) == 9
    by_name = {r["device_name"]: r for r in rows}
    assert by_name["filevault-off-mbp"]["MAC-FV-001"] == "fail"
    assert by_name["waived-lab-mac"]["MAC-FV-001"] == "waived"
    assert by_name["healthy-air"]["is_encrypted"] is True
    assert by_name["never-synced"]["last_sync_at"] is None
    assert workbook["Devices"].freeze_panes == "C2"
    assert "Devices" in workbook["Devices"].tables


def test_no_cell_is_a_formula_and_hostile_text_stays_literal(workbook):
    formulas = [
        f"{sheet.title}!{cell.coordinate}"
        for sheet in workbook
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]
    assert formulas == []
    for title in ("Findings", "Devices", "Changes"):
        cells = {c.value: c for row in workbook[title].iter_rows() for c in row}
        assert SCRIPT in cells
        assert cells[FORMULA].data_type == "s"
        assert cells[FORMULA].quotePrefix  # stays text even when edited in Excel
    findings = {c.value: c for row in workbook["Findings"].iter_rows() for c in row}
    assert findings["=1+2"].quotePrefix
    assert findings["+cmd|' /C calc'!A0"].quotePrefix


def test_rules_tenant_quality_waivers_and_changes_sheets(workbook, report):
    rules = records(workbook["Rules"])
    assert [r["rule_id"] for r in rules] == [r.rule_id for r in report.rules]
    assert rules[0]["rationale"] == report.rules[0].rationale
    assert column_of(workbook["Tenant"], "APNs days left") == 19
    waivers = {r["waiver_id"]: r["state"] for r in records(workbook["Waivers"])}
    assert waivers == {"W001": "applied", "W002": "expired", "W003": "unmatched"}
    changes = workbook["Changes"]
    assert column_of(changes, "New") == 3
    assert column_of(changes, "Previous period") == "2026-08"


def test_run_info_states_the_run(workbook, report):
    info = workbook["Run info"]
    assert column_of(info, "as_of") == dt.datetime(2026, 9, 1)
    assert column_of(info, "complete") is False  # the per-device details were denied
    assert column_of(info, "findings_rows") == f"{len(report.findings)} rows on sheet Findings"


def test_long_tables_split_across_sheets_and_run_info_says_so(report, tmp_path):
    path = tmp_path / "split.xlsx"
    render(report, path, rows_per_sheet=4)
    workbook = openpyxl.load_workbook(path)
    parts = [n for n in workbook.sheetnames if n.startswith("Findings")]
    assert parts == ["Findings", "Findings (2)", "Findings (3)"]
    rows = [r for name in parts for r in records(workbook[name])]
    assert len(rows) == len(report.findings)
    assert "split over sheets Findings, Findings (2), Findings (3)" in column_of(
        workbook["Run info"], "findings_rows"
    )
    assert sum(len(records(workbook[n])) for n in workbook.sheetnames if "Devices" in n) == 9


def test_the_workbook_without_history_has_no_changes_sheet(tmp_path):
    path = tmp_path / "plain.xlsx"
    render(make_report(rules=golden_rules(), with_changes=False), path)
    workbook = openpyxl.load_workbook(path)
    assert "Changes" not in workbook.sheetnames
    assert "first_seen" not in next(workbook["Findings"].iter_rows(values_only=True))


def test_same_inputs_give_the_same_cell_values_apart_from_generated_at(report, tmp_path):
    later = generated_at(report, dt.datetime(2027, 1, 1))
    values = []
    for name, model in (("a.xlsx", report), ("b.xlsx", later)):
        render(model, tmp_path / name)
        workbook = openpyxl.load_workbook(tmp_path / name)
        values.append(
            {
                (sheet.title, cell.coordinate): cell.value
                for sheet in workbook
                for row in sheet.iter_rows()
                for cell in row
                if not (sheet.title == "Run info" and row[0].value == "generated_at (UTC)")
            }
        )
    assert values[0] == values[1]


def test_a_failed_write_leaves_no_file_behind(report, tmp_path):
    target = tmp_path / "missing-dir-is-created" / "report.xlsx"
    render(report, target)
    assert target.exists()
    assert [p.name for p in target.parent.iterdir()] == ["report.xlsx"]


def _cells_by_reference(rows):
    """Each `<c>` of the `<row>`s by its reference, as a reader places it (ECMA-376 §18.3.1.4):
    its `r`, or else the column after the previous cell of its row (column A first)."""
    from openpyxl.utils import get_column_letter
    from openpyxl.utils.cell import coordinate_to_tuple

    cells = {}
    for row in rows:
        column = 0
        for cell in row:
            reference = cell.get("r")
            column = coordinate_to_tuple(reference)[1] if reference else column + 1
            cells[f"{get_column_letter(column)}{row.get('r')}"] = cell
    return cells


def test_streamed_rows_escape_text_and_keep_types():
    import xml.etree.ElementTree as ET

    import pandas as pd

    from auditor.render.xlsx.stream import MAX_CELL_CHARS, Styles, rows_xml

    frame = pd.DataFrame(
        {
            "text": pd.array(["a&b<c>", "bell\x07", "=1+1", "x" * 40_000, None], "string"),
            "count": pd.array([1, None, 3, 4, 5], "Int64"),
            "flag": pd.array([True, False, None, True, False], "boolean"),
            "at": pd.to_datetime(["2026-09-01 12:00", None, None, None, None], utc=True),
        }
    )
    xml = b"".join(rows_xml(frame, Styles(date=5, quoted=6))).decode()
    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    rows = ET.fromstring(f'<sheetData xmlns="{ns[1:-1]}">{xml}</sheetData>')
    cells = _cells_by_reference(rows)
    text = {ref: "".join(c.itertext()) for ref, c in cells.items() if c.get("t") == "inlineStr"}
    assert text["A2"] == "a&b<c>"
    assert text["A3"] == "bell\ufffd"  # a character XML cannot carry
    assert (text["A4"], cells["A4"].get("s")) == ("=1+1", "6")
    assert len(text["A5"]) == MAX_CELL_CHARS
    assert "A6" not in cells and "B3" not in cells  # missing values leave the cell empty
    # a reference only where the cell before it in the row was left out
    assert [c.get("r") for c in rows[1]] == [None, "C3"]
    assert (cells["C2"].get("t"), "".join(cells["C2"].itertext())) == ("b", "1")
    assert (cells["D2"].get("s"), "".join(cells["D2"].itertext())) == ("5", "46266.5")


def test_wide_rows_come_in_smaller_chunks_with_the_same_xml():
    """A chunk's XML is one Arrow string array (under 2 GiB): rows of long cells that escape to
    five times their length (every `&`) are split into more chunks, byte for byte the same XML.
    (Full size, 20,000 rows of four 32,767-character cells need 2.6 GB: here the limit shrinks.)"""
    import pandas as pd

    from auditor.render.xlsx.stream import CHUNK_ROWS, SharedStrings, Styles, rows_xml

    rows = 500
    texts = [f"{i:04}" + "&" * 3_000 for i in range(rows)]
    frame = pd.DataFrame(
        {
            "name": pd.array(texts, "string"),
            "note": pd.array([t[::-1] for t in texts], "string"),
            "status": pd.array(["fail", "pass"] * (rows // 2), "string"),
            "count": pd.array(range(rows), "Int64"),
        }
    )
    limit = 1_000_000  # ~30,000 bytes per row: at most ~33 rows per chunk
    whole = [bytes(c) for c in rows_xml(frame, Styles(date=5, quoted=6), shared=SharedStrings())]
    parts = [
        bytes(c)
        for c in rows_xml(
            frame, Styles(date=5, quoted=6), shared=SharedStrings(), chunk_bytes=limit
        )
    ]
    assert len(whole) == 1 and rows < CHUNK_ROWS
    assert len(parts) > rows * 30_000 // limit and all(len(p) <= limit for p in parts)
    assert b"".join(parts) == whole[0]
    assert whole[0].count(b"&amp;") == 2 * 3_000 * rows


def test_a_stale_catalogue_warning_states_the_limit_the_run_used(tmp_path):
    from auditor.refdata.catalogue import STALE_AFTER_DAYS

    path = tmp_path / "stale.xlsx"
    render(make_report(rules=golden_rules(), stale=True), path)
    warning = column_of(openpyxl.load_workbook(path)["Summary"], "WARNING")
    assert warning.startswith(f"release catalogue older than {STALE_AFTER_DAYS} days")


def _cell_text(value) -> object:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def test_workbook_cell_values_golden(workbook, golden):
    # Every sheet's cell values read back with openpyxl, row by row (empty trailing cells
    # dropped): what a reader of the workbook sees, reviewed as a diff (`make golden`).
    import json

    sheets = {}
    for sheet in workbook:
        rows = []
        for row in sheet.iter_rows(values_only=True):
            values = [_cell_text(v) for v in row]
            while values and values[-1] is None:
                values.pop()
            rows.append(values)
        sheets[sheet.title] = rows
    golden("report.xlsx.json", json.dumps(sheets, indent=1, ensure_ascii=False) + "\n")
