"""End to end: the `auditor` command on the bundled sample and on hand-made inputs.

Commands run in process (`cli_runner.auditor`, the entry point's code path); two smoke tests
start a fresh interpreter, as a user's shell does.
"""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from cli_runner import auditor
from outputs import pdf_pages

REPO = Path(__file__).resolve().parent.parent
REQUIRED_FINDING_KEYS = {"rule_id", "severity", "status", "entity_type", "entity_id", "detail"}


def in_a_fresh_interpreter(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=300,
    )


def test_the_entry_point_audits_the_sample_in_a_fresh_interpreter(tmp_path):
    done = in_a_fresh_interpreter(
        "run", "--as-of", "2026-09-01", "--out", str(tmp_path), "--no-history", "--format", "json"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(tmp_path / "findings.json"), str(tmp_path / "manifest.json")]


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample-run")
    done = auditor("run", "--as-of", "2026-09-01", "--out", str(out), "--no-history")
    assert done.returncode == 0, done.stderr
    return out


def test_sample_run_writes_the_four_files(sample_run):
    names = sorted(p.name for p in sample_run.iterdir())
    assert names == ["findings.json", "manifest.json", "report.pdf", "report.xlsx"]


def test_findings_json_has_the_public_shape(sample_run):
    data = json.loads((sample_run / "findings.json").read_text())
    assert {"run", "summary", "findings"} <= set(data)
    assert data["run"]["as_of"] == "2026-09-01"
    # No sample file states the tenant id; it is read from the ids Intune derives from it.
    assert data["run"]["tenant_id"] == "8b4ae5f1-a941-46a0-956a-26afbccdafe5"
    assert data["run"]["tool_version"]
    assert all({"path", "sha256", "records"} <= set(i) for i in data["run"]["inputs"])
    assert data["run"]["catalogue"]["as_of"]
    statuses = {f["status"] for f in data["findings"]}
    assert statuses <= {"fail", "unknown", "waived"}
    assert "fail" in statuses
    for finding in data["findings"]:
        assert set(finding) >= REQUIRED_FINDING_KEYS
        if finding["entity_type"] == "device":
            assert {"device_id", "serial_number", "device_name"} <= set(finding)
    assert data["summary"]["rules"], "per-rule counts"


def test_every_rule_of_the_catalogue_is_evaluated_on_the_sample(sample_run):
    from auditor.rules import ALL_RULES

    data = json.loads((sample_run / "findings.json").read_text())
    evaluated = {r["rule_id"] for r in data["summary"]["rules"]}
    assert evaluated == {r.id for r in ALL_RULES}


def test_sample_audit_golden(sample_run, golden):
    # What `make run` finds per rule (tests/test_sample_audit.py checks each intended case):
    # a new rule shows here with the outcomes the sample gives it, as a diff to review.
    data = json.loads((sample_run / "findings.json").read_text())
    counts = {
        r["rule_id"]: {s: r[s] for s in ("pass", "fail", "unknown", "not_applicable", "waived")}
        for r in data["summary"]["rules"]
    }
    golden("sample_audit.json", json.dumps(counts, indent=2, sort_keys=True) + "\n")


def test_workbook_and_pdf_carry_the_findings(sample_run):
    data = json.loads((sample_run / "findings.json").read_text())
    workbook = openpyxl.load_workbook(sample_run / "report.xlsx", read_only=True)
    try:
        assert {"Summary", "Findings"} <= set(workbook.sheetnames)
        findings_rows = sum(
            sum(1 for row in workbook[name].iter_rows(min_row=2) if row[0].value is not None)
            for name in workbook.sheetnames
            if name.startswith("Findings")
        )
    finally:
        workbook.close()
    assert findings_rows == len(data["findings"])
    pages = pdf_pages(sample_run)  # read page by page, up to the first that shows each
    assert any("2026-09-01" in page for page in pages)
    failing = [
        f for f in data["findings"] if f["entity_type"] == "device" and f["status"] == "fail"
    ]
    names = {f["device_name"] for f in failing if f["device_name"]}
    assert any(name in page for page in pages for name in names)


def test_manifest_hashes_match_the_outputs(sample_run):
    manifest = json.loads((sample_run / "manifest.json").read_text())
    outputs = {o["path"]: o for o in manifest["outputs"]}
    for name in ("findings.json", "report.pdf", "report.xlsx"):
        assert (
            outputs[name]["sha256"] == hashlib.sha256((sample_run / name).read_bytes()).hexdigest()
        )
    done = auditor("verify", str(sample_run))
    assert done.returncode == 0, done.stderr


def test_unreadable_input_names_the_file_and_writes_nothing(tmp_path):
    bad = tmp_path / "devices.json"
    bad.write_text('{"value": [{"id": "1", "deviceName": "x"', encoding="utf-8")
    out = tmp_path / "out"
    done = auditor("run", "--input", str(bad), "--out", str(out), "--no-history")
    assert done.returncode == 4
    assert "devices.json" in done.stderr
    assert not out.exists() or not any(p for p in out.iterdir() if not p.name.startswith("."))


def test_graph_json_and_export_csv_inputs_merge(tmp_path):
    sample = REPO / "sample_data"
    graph = sorted(sample.glob("managed_devices*.json"))
    export = sorted(sample.glob("export_devices*.csv"))
    assert graph and export
    out = tmp_path / "out"
    args = [a for path in (*graph, *export) for a in ("--input", str(path))]
    done = auditor(
        "run", *args, "--as-of", "2026-09-01", "--out", str(out), "--no-history", "--format", "json"
    )
    assert done.returncode == 0, done.stderr
    data = json.loads((out / "findings.json").read_text())
    kinds = {i["kind"] for i in data["run"]["inputs"]}
    assert len(kinds) == 2


def test_fail_on_exits_3_when_failures_reach_the_threshold(tmp_path):
    done = auditor(
        "run",
        "--as-of",
        "2026-09-01",
        "--out",
        str(tmp_path),
        "--no-history",
        "--format",
        "json",
        "--fail-on",
        "critical",
    )
    assert done.returncode == 3, done.stderr
    assert "at or above critical" in done.stderr


def test_config_errors_exit_2_listing_every_problem_in_a_fresh_interpreter(tmp_path):
    config = tmp_path / "auditor.toml"
    config.write_text(
        '[rules]\nexclude = ["MAC-NOPE-001"]\n[rules.params."MAC-SYN-001"]\nmax_dayz = 3\n'
    )
    done = in_a_fresh_interpreter(
        "run", "--config", str(config), "--out", str(tmp_path / "o"), "--no-history"
    )
    assert done.returncode == 2
    assert "MAC-NOPE-001" in done.stderr and "max_dayz" in done.stderr


def test_same_inputs_give_the_same_findings(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        done = auditor(
            "run", "--as-of", "2026-09-01", "--out", str(out), "--no-history", "--format", "json"
        )
        assert done.returncode == 0, done.stderr
    a, b = (json.loads((d / "findings.json").read_text()) for d in (first, second))
    a["run"].pop("generated_at"), b["run"].pop("generated_at")
    assert a == b


def test_run_from_graph_keeps_the_snapshot_as_verified_evidence(tmp_path):
    from graph_server import serve

    out = tmp_path / "out"
    with serve(60, export_polls=0) as graph:
        done = auditor(
            "run", "--source", "graph", "--graph-url", graph.url, "--as-of", "2026-09-01",
            "--out", str(out), "--no-history", "--format", "json",
            env={"AUDITOR_GRAPH_TOKEN": "test-token-not-secret"},
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "test-token-not-secret" not in done.stderr + done.stdout
    data = json.loads((out / "findings.json").read_text())
    assert data["summary"]["devices"] == 60
    assert data["run"]["source"] == "graph"
    assert [i["kind"] for i in data["run"]["inputs"]] == ["snapshot"]
    for name in ("snapshot.json.gz", "findings.json", "manifest.json"):
        assert "test-token-not-secret" not in (out / name).read_bytes().decode("latin-1")
    manifest = json.loads((out / "manifest.json").read_text())
    assert "snapshot.json.gz" in {o["path"] for o in manifest["outputs"]}
    assert auditor("verify", str(out)).returncode == 0
    # Re-auditing the snapshot in place keeps it, and the evidence still verifies.
    snapshot = out / "snapshot.json.gz"
    again = auditor(
        "run", "--input", str(snapshot), "--as-of", "2026-09-01", "--out", str(out),
        "--no-history", "--format", "json",
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert snapshot.is_file()
    verified = auditor("verify", str(out))
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_only_new_without_history_is_a_usage_error(tmp_path):
    done = auditor("run", "--out", str(tmp_path), "--no-history", "--fail-on", "high", "--only-new")
    assert done.returncode == 2
    assert "--only-new needs history" in done.stderr
    assert not any(tmp_path.iterdir())


def test_out_that_is_a_file_and_a_public_signing_key_fail_before_any_work(tmp_path):
    not_a_dir = tmp_path / "report.txt"
    not_a_dir.write_text("x")
    done = auditor("run", "--out", str(not_a_dir), "--no-history", "--format", "json")
    assert done.returncode == 2 and "is not a directory" in done.stderr
    assert auditor("keygen", str(tmp_path / "keys")).returncode == 0
    out = tmp_path / "signed"
    public = tmp_path / "keys" / "auditor-signing.pub"
    done = auditor("run", "--out", str(out), "--no-history", "--sign-key", str(public))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()


def test_rerun_with_fewer_formats_removes_the_earlier_reports(tmp_path):
    base = ("run", "--as-of", "2026-09-01", "--out", str(tmp_path), "--no-history")
    assert auditor(*base, "--format", "json,xlsx").returncode == 0
    assert auditor(*base, "--format", "json").returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["findings.json", "manifest.json"]
    assert auditor("verify", str(tmp_path)).returncode == 0


def test_missing_input_kinds_are_reported_as_gaps_not_as_a_clean_tenant(tmp_path):
    done = auditor(
        "run", "--input", str(REPO / "sample_data" / "export_devices.csv"), "--as-of", "2026-09-01",
        "--out", str(tmp_path), "--no-history", "--format", "json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    run = json.loads((tmp_path / "findings.json").read_text())["run"]
    gaps = {g["part"] for g in run["gaps"]}
    assert gaps == {
        "device_details", "apns", "ade_tokens", "ade_profiles", "enrollment_configurations",
        "ade_identities", "vpp_tokens", "compliance_settings", "compliance_policies",
        "compliance_assignments",
    }  # fmt: skip
    assert run["complete"] is False  # any part not collected makes the run PARTIAL
