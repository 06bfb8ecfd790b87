"""The Population block and section, VPP tokens and compliance coverage in every output.

The sample tenant audited once into PDF (read back with pypdf), workbook (openpyxl) and
findings.json; each output must show the same numbers the report model holds.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import openpyxl
import pytest
from outputs import pdf_pages

from auditor.config import Config
from auditor.pipeline import RunOptions, RunResult, run_audit, tenant_files

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    out = tmp_path_factory.mktemp("population")
    config = Config(
        source="files",
        inputs=tuple(tenant_files(SAMPLE)),
        out_dir=out,
        formats=("pdf", "xlsx", "json"),
    )
    return run_audit(
        config, RunOptions(dt.date(2026, 9, 1), dt.datetime(2026, 9, 1, 6, tzinfo=dt.UTC))
    )


def _pages(run: RunResult) -> list[str]:
    return pdf_pages(run.manifest.parent)


def test_page_one_shows_the_population_block(run: RunResult) -> None:
    p = run.report.population
    first = _pages(run)[0]
    assert "Population: Macs assigned to Intune in Apple Business Manager" in first
    numbers = (
        f"{p.assigned} assigned in ABM · {p.enrolled_via_ade} enrolled through ADE · "
        f"{p.enrolled_otherwise} enrolled outside ADE · {p.never_enrolled} never enrolled"
    )  # one line since issue 17: page one must stay one page
    assert numbers in first


def test_the_pdf_has_a_population_section_and_the_tenant_policy_tables(run: RunResult) -> None:
    text = " ".join(_pages(run))
    p = run.report.population
    section = text[text.index("Population An audit tests completeness first") :]
    assert f"not deleted) {p.assigned}" in section
    for token in p.tokens:
        row = (f"{token.token_name} {token.assigned} {token.enrolled_via_ade} "
               f"{token.enrolled_otherwise} {token.not_enrolled}")  # fmt: skip
        assert row in section
    assert "VPP (Apps and Books) tokens" in text
    assert re.search(r"Fabrikam Inc \(legacy\) it-admin@fabrikam\.com 2026-07-22 -41", text)
    assert "Macs without an assigned compliance policy are marked compliant" in text
    assert "macOS – Lab (no OS floor) yes all devices" in text


def test_the_workbook_has_the_population_and_every_serial(run: RunResult) -> None:
    book = openpyxl.load_workbook(run.manifest.parent / "report.xlsx", read_only=True)
    p = run.report.population
    facts = {row[0]: row[1] for row in book["Population"].iter_rows(values_only=True) if row[0]}
    assert facts["Assigned in Apple Business Manager (macOS, not deleted)"] == p.assigned
    assert facts["Enrolled through ADE"] == p.enrolled_via_ade
    assert facts["Enrolled outside ADE"] == p.enrolled_otherwise
    assert facts["Never enrolled"] == p.never_enrolled
    rows = list(book["ABM serials"].iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert header[-1] == "MAC-ADE-001" and len(body) == len(p.identities)
    status = header.index("MAC-ADE-001")
    fails = sorted(r[0] for r in body if r[status] == "fail")
    model = p.identities[p.identities["MAC-ADE-001"] == "fail"]["serial_number"]
    assert fails == sorted(model)
    tenant = [row for row in book["Tenant"].iter_rows(values_only=True)]
    assert ("Macs without a compliance policy marked not compliant", False) in [
        row[:2] for row in tenant
    ]


def test_findings_json_population_reconciles_and_matches_the_model(run: RunResult) -> None:
    data = json.loads((run.manifest.parent / "findings.json").read_text())
    population = data["population"]
    p = run.report.population
    assert population["assigned"] == p.assigned == (
        population["enrolled_via_ade"] + population["enrolled_otherwise"]
        + population["never_enrolled"]
    )  # fmt: skip
    assert [t["token_name"] for t in population["tokens"]] == [t.token_name for t in p.tokens]
    tenant = data["tenant"]
    assert list(tenant)[-2:] == ["vpp_tokens", "compliance"]  # added after the first keys
    assert {t["state"] for t in tenant["vpp_tokens"]} == {"valid", "expired"}
    assert tenant["compliance"]["secure_by_default"] is False
    assert tenant["compliance"]["filevault_policy_assigned"] is True
    kinds = {i["kind"] for i in data["run"]["inputs"]}
    assert {"graph-ade-identities", "graph-vpp-tokens", "graph-compliance-settings",
            "graph-compliance-policies", "graph-compliance-assignments"} <= kinds  # fmt: skip
