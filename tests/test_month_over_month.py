"""Issue 7 acceptance: two audits of a generated tenant a month apart, in every output."""

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest
from cli_runner import auditor
from outputs import pdf_pages

from auditor.sample import generate_tenant, write_tenant

FV = "MAC-FV-001"


def write_month(devices: list[dict], folder: Path) -> Path:
    folder.mkdir(parents=True)
    path = folder / "managed_devices.json"
    path.write_text(json.dumps({"value": devices}), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def two_months(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    base = tmp_path_factory.mktemp("tenant")
    write_tenant(generate_tenant(80, 3, dt.date(2026, 8, 1)), base / "raw")
    august = json.loads((base / "raw" / "managed_devices.json").read_text())["value"]
    reported = [d for d in august if d.get("isEncrypted") is not None]
    for position, device in enumerate(reported):
        device["isEncrypted"] = position >= 6  # six Macs without FileVault in August
    unencrypted, encrypted = reported[:6], reported[6:]
    fixed, retired = unencrypted[:2], unencrypted[2]
    broken = encrypted[:3]
    newcomer = {
        **broken[0],
        "id": "0000aaaa-0000-4000-8000-000000000001",
        "serialNumber": "C02NEWMAC001",
        "deviceName": "NEW-MAC-01",
        "isEncrypted": False,
    }
    september = []
    for device in august:
        if device is retired:
            continue
        changed = dict(device)
        if device in fixed:
            changed["isEncrypted"] = True
        if device in broken:
            changed["isEncrypted"] = False
        september.append(changed)
    september.append(newcomer)
    history = base / "history.sqlite"
    out = base / "reports"
    for as_of, devices, period, formats in (
        ("2026-08-01", august, "2026-08", "json"),  # only September's reports are read
        ("2026-09-01", september, "2026-09", "json,xlsx,pdf"),
    ):
        # The enrollment configurations name the tenant: history compares a tenant's own runs.
        done = auditor(
            "run", "--input", str(write_month(devices, base / period)), "--input",
            str(base / "raw" / "enrollment_configurations.json"), "--as-of", as_of,
            "--out", str(out / period), "--history", str(history), "--format", formats,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    expected = {"new": 4, "resolved": 3, "persisting": len(unencrypted) - 3}
    return out / "2026-09", expected


def test_findings_json_counts_new_resolved_and_persisting(two_months):
    out, expected = two_months
    data = json.loads((out / "findings.json").read_text())
    assert data["changes"]["previous_period"] == "2026-08"
    row = next(r for r in data["changes"]["per_rule"] if r["rule_id"] == FV)
    assert {k: row[k] for k in expected} == expected
    newcomer = next(
        f for f in data["findings"] if f["rule_id"] == FV and f["device_name"] == "NEW-MAC-01"
    )
    assert newcomer["first_seen"] == "2026-09"


def test_workbook_changes_sheet_counts_match(two_months):
    out, expected = two_months
    workbook = openpyxl.load_workbook(out / "report.xlsx", read_only=True)
    try:
        rows = list(workbook["Changes"].iter_rows(values_only=True))
    finally:
        workbook.close()
    header = next(r for r in rows if r and r[0] == "rule_id")
    row = dict(zip(header, next(r for r in rows if r and r[0] == FV), strict=False))
    assert (row["new"], row["resolved"], row["persisting"]) == (
        expected["new"], expected["resolved"], expected["persisting"],
    )  # fmt: skip


def test_pdf_says_what_changed(two_months):
    out, _ = two_months
    pages = pdf_pages(out)  # read page by page, up to the first that shows each
    assert any("What changed since 2026-08" in page for page in pages)
    assert any("still failing since 2026-08" in page for page in pages)
