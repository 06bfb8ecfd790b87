"""Hostile sizes and text (issue 15): every report renders, showing the cut value, never the input.

A 16,000-character device name used to hold WeasyPrint for minutes (a 1 MB one, for a quarter
of an hour). Inventory text is cut at `normalize.text.TEXT_LIMIT` on the way in; the reports
show the cut value, and the data-quality notes keep each value's length and SHA-256.

The input is a Graph `managedDevices` list page whose records are the "Get managedDevice"
example response (microsoftgraph/microsoft-graph-docs-contrib api-reference/beta/api/
intune-devices-manageddevice-get.md, kept as tests/fixtures/files/published/
graph_docs_get_managed_device.json), with hostile names, ids and dates put in.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from auditor.normalize.text import TEXT_LIMIT
from tests.cli_runner import auditor
from tests.outputs import pdf_pages

PUBLISHED = Path(__file__).parent / "fixtures" / "files" / "published"
CONTEXT = "https://graph.microsoft.com/beta/$metadata#deviceManagement/managedDevices"
SIZES = {"A": 16_000, "B": 32_000, "C": 2**20}
FORMATS = "json,xlsx,pdf,html,csv,ndjson,ocsf,junit,parquet"
DATA = re.compile(r'<script id="report-data" type="([^"]+)">(.*?)</script>', re.S)


def _record(number: int, **fields: object) -> dict:
    record = json.loads((PUBLISHED / "graph_docs_get_managed_device.json").read_text())["value"]
    record.pop("@odata.type")
    record.update(
        id=f"6a1d8f0e-2b3c-4d5e-8f90-a1b2c3d4e5{number:02d}",
        serialNumber=f"C02HOSTILE{number:02d}",
        operatingSystem="macOS",
        osVersion="12.6.1 (21G217)",  # out of support: every Mac fails something
        lastSyncDateTime="2026-08-30T08:00:00Z",
    )
    return record | fields


def _name(letter: str) -> str:
    return letter + letter.lower() * (SIZES[letter] - 2) + "!"


def _shown(text: str) -> str:
    """What normalize makes of an over-long text (checked against the rule, not computed)."""
    reference = hashlib.sha256(text.casefold().encode()).hexdigest()[:16]
    mark = f"… [cut: {len(text):,} characters, ref {reference}]"
    return text[: TEXT_LIMIT - len(mark)] + mark


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One run over every format: three huge names, one hostile id, controls, an old date."""
    folder = tmp_path_factory.mktemp("hostile")
    records = [_record(i, deviceName=_name(letter)) for i, letter in enumerate(SIZES)]
    records.append(
        _record(
            7,
            id="7" * 40_000,
            deviceName="Bell\u0007 and \u0085NEL\u0000",
            userPrincipalName="ada@contoso.com\u001b[2J",
            enrolledDateTime="1850-01-01T00:00:00Z",
        )
    )
    records.append(
        _record(
            8,
            deviceName="FUTURE-8",
            enrolledDateTime="9999-12-31T23:59:59.9999999Z",  # past Excel's last millisecond
            lastSyncDateTime="/Date(300000000000000)/",  # year 11476: no report can hold it
        )
    )
    source = folder / "devices.json"
    source.write_text(json.dumps({"@odata.context": CONTEXT, "value": records}))
    out = folder / "out"
    done = auditor(
        "run", "--input", str(source), "--out", str(out), "--as-of", "2026-09-01",
        "--no-history", "--format", FORMATS,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out, records


def _expected(records: list[dict]) -> dict[str, str]:
    """Serial number → the device name every report must show."""
    shown = {}
    for record in records:
        name = record["deviceName"]
        shown[record["serialNumber"]] = _shown(name) if len(name) > TEXT_LIMIT else name
    shown["C02HOSTILE07"] = "Bell and NEL"  # BEL, NEL (C1) and NUL removed
    return shown


def test_findings_json_shows_the_cut_names_and_keeps_length_and_digest(run):
    out, records = run
    document = json.loads((out / "findings.json").read_text())
    expected = _expected(records)
    names = {f["serial_number"]: f["device_name"] for f in document["findings"] if f["device_id"]}
    assert names == expected
    notes = {(n["field"], n["problem"]): n for n in document["data_quality"]["notes"]}
    capped = notes[("device_name", "capped")]
    assert capped["count"] == 3
    for letter, size in SIZES.items():
        digest = hashlib.sha256(_name(letter).encode()).hexdigest()
        assert any(
            f"{size:,} characters cut to 256; sha256 {digest}" in e for e in capped["examples"]
        )
    assert notes[("device_id", "capped")]["count"] == 1
    assert notes[("device_name", "control_characters")]["examples"] == [
        "Bell and NEL (C02HOSTILE07): U+0007, U+0085, U+0000 removed"
    ]
    assert notes[("upn", "control_characters")]["count"] == 1
    assert notes[("last_sync_at", "unparseable")]["examples"] == [
        "FUTURE-8 (C02HOSTILE08): '/Date(300000000000000)/'"
    ]
    for finding in document["findings"]:
        assert len(finding["device_id"] or "") <= TEXT_LIMIT


def test_every_flat_format_shows_the_cut_names(run):
    out, records = run
    expected = set(_expected(records).values())
    csv = pd.read_csv(out / "findings.csv", dtype=str, keep_default_na=False)
    assert set(csv["device_name"]) - {""} == expected
    ndjson = [json.loads(line) for line in (out / "findings.ndjson").read_text().splitlines()]
    assert {r["device_name"] for r in ndjson if r.get("device_name")} == expected
    devices = pd.read_parquet(out / "devices.parquet")
    assert set(devices["device_name"]) == expected
    for name in ("findings.ocsf.json", "junit.xml"):
        text = (out / name).read_text()
        assert "a" * 300 not in text and "b" * 300 not in text, name
    assert _shown(_name("C")).split("…")[0][-40:] in (out / "findings.ocsf.json").read_text()


def test_the_workbook_shows_the_cut_names_and_the_old_date_as_text(run):
    out, records = run
    workbook = openpyxl.load_workbook(out / "report.xlsx", read_only=True)
    rows = list(workbook["Devices"].iter_rows(values_only=True))
    header = rows[0]
    devices = {r[header.index("serial_number")]: r for r in rows[1:]}
    names = {serial: row[header.index("device_name")] for serial, row in devices.items()}
    assert names == _expected(records)
    enrolled = header.index("enrolled_at")
    assert devices["C02HOSTILE07"][enrolled] == "1850-01-01 00:00:00 UTC"  # no date before 1900
    assert devices["C02HOSTILE08"][enrolled] == "9999-12-31 23:59:59 UTC"
    info = {r[0]: r[1] for r in workbook["Run info"].iter_rows(values_only=True) if r[0]}
    assert info["dates_as_text"].startswith("2 dates Excel cannot show (before 1900-03-01")


def test_the_html_page_shows_the_cut_names(run):
    out, records = run
    kind, text = DATA.search((out / "report.html").read_text()).groups()
    data = json.loads(gzip.decompress(base64.b64decode(text)) if "gzip" in kind else text)
    devices = data["tables"]["devices"]
    column = next(c for c in devices["columns"] if c["key"] == "device_name")["data"]
    values = column.get("values") or [column["dict"][c] for c in column["codes"]]
    assert set(values) == set(_expected(records).values())
    assert "\u0007" not in json.dumps(data) and "\\u0007" not in json.dumps(data)


def test_the_pdf_shows_the_cut_names(run):
    out, _ = run
    flat = re.sub(r"\s+", "", "".join(pdf_pages(out)))
    for letter, size in SIZES.items():
        assert f"[cut:{size:,}characters,ref" in flat
        assert letter.lower() * 300 not in flat
    assert "BellandNEL" in flat


def test_a_cell_over_excels_limit_is_cut_with_a_mark_and_named_on_run_info(tmp_path):
    """A Mac listed 3,000 times (a folder of diagnostic exports does that) has 3,000 source
    records: 58,000 characters, more than a cell holds. The workbook says so; Parquet keeps
    them all."""
    records = [_record(1, deviceName="LISTED-OFTEN") for _ in range(3_000)]
    source = tmp_path / "devices.json"
    source.write_text(json.dumps({"@odata.context": CONTEXT, "value": records}))
    out = tmp_path / "out"
    done = auditor(
        "run", "--input", str(source), "--out", str(out), "--as-of", "2026-09-01",
        "--no-history", "--format", "xlsx,parquet",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    whole = pd.read_parquet(out / "devices.parquet")["source_record"].iloc[0]
    assert len(whole) > 32_767 and whole.count("; ") == 2_999
    workbook = openpyxl.load_workbook(out / "report.xlsx", read_only=True)
    rows = list(workbook["Devices"].iter_rows(values_only=True))
    cell = rows[1][rows[0].index("source_record")]
    assert len(cell) == 32_767
    assert cell.endswith(f"… [cut at Excel's 32,767-character limit; {len(whole):,} in all]")
    assert whole.startswith(cell.split("…")[0])
    info = [r[:2] for r in workbook["Run info"].iter_rows(values_only=True)]
    at = info.index(("cells_cut", "1 text over Excel's 32,767 characters per cell, cut"))
    assert info[at + 1][1].startswith("Devices!") and "(source_record)" in info[at + 1][1]
