"""Issue 14: fewer inputs never read as a complete, cleaner tenant; no Macs is not a clean audit.

Every run goes through `auditor` in process (`cli_runner`) on the bundled sample tenant's files
(sample_data/, written by `auditor sample` from Graph's published shapes) and reads the outputs
back: findings.json, the PDF's text, the workbook's cells.
"""

import json
from pathlib import Path

import pytest
from cli_runner import auditor
from outputs import findings, pdf_pages, sheet_text

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_data"
NOT_COLLECTED = {
    "device_details": ["MAC-BST-001", "MAC-ENR-005", "MAC-HW-001", "MAC-HW-002", "MAC-KXT-001",
                       "MAC-SWU-001", "MAC-VM-001", "MAC-VM-002"],
    "export_devices": ["MAC-ENR-001"],
    "apns": ["MAC-TEN-001", "MAC-TEN-002"],
    "ade_tokens": ["MAC-ADE-001", "MAC-TEN-003", "MAC-TEN-004", "MAC-TEN-005"],
    "ade_profiles": [],
    "enrollment_configurations": ["MAC-TEN-006"],
    "ade_identities": ["MAC-ADE-001", "MAC-ADE-002"],
    "vpp_tokens": ["MAC-TEN-007", "MAC-TEN-008"],
    "compliance_settings": ["MAC-POL-001"],
    "compliance_policies": ["MAC-POL-002", "MAC-POL-003"],
    "compliance_assignments": ["MAC-POL-002", "MAC-POL-003"],
}  # fmt: skip


@pytest.fixture(scope="module")
def device_list_only(tmp_path_factory) -> Path:
    """User review A1: only the device list, every other part of the inventory absent."""
    out = tmp_path_factory.mktemp("device-list-only")
    done = auditor(
        "run", "--input", str(SAMPLE / "managed_devices.json"), "--as-of", "2026-09-01",
        "--out", str(out), "--no-history",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


def test_findings_json_says_partial_with_every_part_and_the_rules_it_silences(device_list_only):
    run = findings(device_list_only)["run"]
    assert run["complete"] is False
    states = {p["part"]: (p["state"], p["silenced_rules"]) for p in run["parts"]}
    assert states == {
        "managed_devices": ("collected", []),
        **{part: ("not_supplied", rules) for part, rules in NOT_COLLECTED.items()},
    }
    assert {g["part"] for g in run["gaps"]} == set(NOT_COLLECTED)
    assert {g["state"] for g in run["gaps"]} == {"not_supplied"}


def test_key_numbers_nothing_collected_say_so_never_zero(device_list_only):
    kpis = findings(device_list_only)["summary"]["kpis"]
    for key in ("bootstrap_escrowed", "user_approved"):
        assert kpis[key] == {"devices": None, "pct": None, "unknown": 300, "state": "not_collected"}
    assert kpis["filevault"]["state"] == "measured"
    page_one = pdf_pages(device_list_only)[0]
    assert "Bootstrap token escrowed not collected 300" in page_one
    assert "0.0 %" not in page_one
    assert "not collected" in sheet_text(device_list_only, "Summary")


def test_page_one_says_partial_naming_the_parts_and_the_rules_they_silence(device_list_only):
    """Page one names every missing part; with this many, each reason is one section away.

    (Eleven full reasons would push page one onto a second page: the completeness table in
    "Data quality" carries each reason and the rules it silences.)
    """
    pages = [page.replace("MAC- ", "MAC-") for page in pdf_pages(device_list_only)]
    page_one = pages[0]  # ids wrap at hyphens
    assert "PARTIAL: part of the inventory was not collected" in page_one
    assert "Data PARTIAL: 1 of 12 parts collected" in page_one
    assert "complete" not in page_one.replace("PARTIAL", "")
    assert "Not collected (11 of 12 parts): per-device details (not supplied) · " in page_one
    for part in ("ADE tokens (not supplied)", "compliance policy assignments (not supplied)"):
        assert part in page_one
    assert 'the rules it silences: Data quality, "What was collected"' in page_one
    section = next(page for page in pages if "What was collected" in page and page is not page_one)
    for line in (
        "per-device details not supplied no input carried it; add single-device GETs",
        "MAC-BST-001, MAC-ENR-005",
        "ADE tokens not supplied no input carried it; add GET depOnboardingSettings "
        "MAC-ADE-001, MAC-TEN-003",
    ):
        assert line in section
    assert "300 Macs had an unknown on a critical or high rule" in page_one


def test_page_one_stays_on_page_one_when_most_parts_are_missing(device_list_only):
    pages = pdf_pages(device_list_only)
    assert "Top device rules" in pages[0]
    assert "MAC-FV-001 high Macs with FileVault off" in pages[0]  # the summary's last block
    assert pages[1].startswith("Tenant health")  # the next section opens page 2
    assert "Top device rules" not in pages[1]


def test_the_workbook_says_partial_on_its_summary_and_lists_every_part(device_list_only):
    summary = sheet_text(device_list_only, "Summary")
    assert "PARTIAL: per-device details not supplied; Devices export report not supplied" in summary
    quality = sheet_text(device_list_only, "Data quality")
    assert "per-device details not supplied no input carried it; add single-device GETs" in quality
    assert "MAC-BST-001, MAC-ENR-005" in quality


def test_the_full_sample_is_complete(tmp_path):
    done = auditor(
        "run", "--as-of", "2026-09-01", "--out", str(tmp_path), "--no-history", "--format", "json"
    )
    assert done.returncode == 0, done.stderr
    run = findings(tmp_path)["run"]
    assert run["complete"] is True and run["gaps"] == []
    assert {p["state"] for p in run["parts"]} == {"collected"}


def test_require_complete_exits_4_naming_the_parts_after_writing_the_partial_reports(tmp_path):
    done = auditor(
        "run", "--input", str(SAMPLE / "managed_devices.json"), "--input",
        str(SAMPLE / "device_details.json"), "--as-of", "2026-09-01", "--out", str(tmp_path),
        "--no-history", "--format", "json", "--require-complete",
    )  # fmt: skip
    assert done.returncode == 4, done.stderr
    assert "--require-complete: the run is PARTIAL: Devices export report (not supplied)" in (
        done.stderr
    )
    assert findings(tmp_path)["run"]["complete"] is False  # the evidence says PARTIAL too
    complete = auditor(
        "run", "--as-of", "2026-09-01", "--out", str(tmp_path / "all"), "--no-history",
        "--format", "json", "--require-complete",
    )  # fmt: skip
    assert complete.returncode == 0, complete.stderr


def windows_only(folder: Path) -> Path:
    """A Graph managedDevices page holding Windows PCs only (sample records re-labelled)."""
    page = json.loads((SAMPLE / "managed_devices.json").read_text(encoding="utf-8"))
    records = page["value"][:10]
    for record in records:
        record["operatingSystem"] = "Windows"
        record["osVersion"] = "10.0.22631.4169"
    path = folder / "windows.json"
    path.write_text(json.dumps({**page, "value": records}), encoding="utf-8")
    return path


def test_an_inventory_without_macs_exits_4_saying_what_was_read(tmp_path):
    source = windows_only(tmp_path)
    out = tmp_path / "out"
    done = auditor("run", "--input", str(source), "--out", str(out), "--no-history",
                   "--as-of", "2026-09-01", "--fail-on", "high")  # fmt: skip
    assert done.returncode == 4, done.stderr
    assert "no Mac to audit: 0 Macs from 10 record(s) in windows.json" in done.stderr
    assert "10 Windows devices ignored (windows.json)" in done.stderr
    assert "--allow-empty" in done.stderr
    assert not out.exists()  # nothing half-written


def test_a_header_only_csv_is_not_a_clean_audit_either(tmp_path):
    header = (SAMPLE / "export_devices.csv").read_text(encoding="utf-8").splitlines()[0]
    source = tmp_path / "DevicesWithInventory.csv"
    source.write_text(header + "\n", encoding="utf-8")
    done = auditor("run", "--input", str(source), "--out", str(tmp_path / "out"),
                   "--no-history", "--as-of", "2026-09-01")  # fmt: skip
    assert done.returncode == 4, done.stderr
    assert "0 Macs from 0 record(s) in DevicesWithInventory.csv" in done.stderr


def test_allow_empty_writes_reports_that_say_the_inventory_had_no_mac(tmp_path):
    out = tmp_path / "out"
    done = auditor("run", "--input", str(windows_only(tmp_path)), "--out", str(out),
                   "--no-history", "--as-of", "2026-09-01", "--allow-empty",
                   "--format", "json,pdf")  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = findings(out)
    assert data["summary"]["devices"] == 0
    assert data["summary"]["posture"]["devices"] == 0
    assert data["run"]["warnings"][0]["code"] == "no_macs"
    page_one = pdf_pages(out)[0]
    assert "No Mac was audited: 0 Macs from 10 record(s) in windows.json" in page_one
    assert "This is not a clean audit." in page_one
    assert "no Macs" in page_one and "100.0 %" not in page_one


def test_the_sample_tenant_audited_through_input_files_is_labelled_sample_data(device_list_only):
    data = findings(device_list_only)
    assert data["run"]["classification"] == "SAMPLE DATA"
    assert data["run"]["warnings"][0]["code"] == "sample_data"
    pages = pdf_pages(device_list_only)
    assert all("SAMPLE DATA" in page for page in pages)  # the running header, every page


def test_an_optional_graph_part_failing_after_retries_makes_the_run_partial(tmp_path, monkeypatch):
    """User review: a 500 storm on an optional part ended 'complete', exit 0 (graph_server.py)."""
    from graph_server import Fault, GraphServer

    monkeypatch.setenv("AUDITOR_GRAPH_TOKEN", "eyJ0eXAiOiJKV1QifQ.storm.signature")
    storm = Fault(r"GET /beta/deviceManagement/depOnboardingSettings", 500, times=None,
                  headers={"Retry-After": "0"})  # fmt: skip
    with GraphServer(30, faults=[storm], export_polls=0) as graph:
        args = ("run", "--source", "graph", "--graph-url", graph.url, "--as-of", "2026-09-01",
                "--no-history", "--format", "json")  # fmt: skip
        lenient = auditor(*args, "--out", str(tmp_path / "lenient"), cwd=tmp_path)
        strict = auditor(*args, "--out", str(tmp_path / "strict"), "--require-complete",
                         cwd=tmp_path)  # fmt: skip
    assert lenient.returncode == 0, lenient.stderr
    run = findings(tmp_path / "lenient")["run"]
    assert run["complete"] is False
    ade = next(p for p in run["parts"] if p["part"] == "ade_tokens")
    assert ade["state"] == "failed" and "MAC-TEN-003" in ade["silenced_rules"]
    assert strict.returncode == 4
    assert "--require-complete: the run is PARTIAL: ADE tokens (failed)" in strict.stderr
