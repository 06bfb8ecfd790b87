"""Issue 14 / user review A8: an old export, dates after the as-of date, and as-of dates far
from the data are said on page one and in the log, never scored as a clean (or a dead) fleet.

Runs are `auditor` in process on the bundled sample tenant (sample_data/, check-ins up to
2026-08-31, catalogue of 2026-08-22); outputs are read back.
"""

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from cli_runner import auditor
from outputs import findings, pdf_pages

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_data"


def audit(out: Path, *args: str, formats: str = "json,pdf") -> str:
    done = auditor("run", "--out", str(out), "--no-history", "--format", formats, *args)
    assert done.returncode == 0, done.stderr
    return done.stderr


def counts(data: dict, rule_id: str) -> dict[str, int]:
    rule = next(r for r in data["summary"]["rules"] if r["rule_id"] == rule_id)
    return {k: rule[k] for k in ("pass", "fail", "unknown")}


def test_an_old_export_audited_today_is_flagged_on_page_one_and_in_the_log(tmp_path):
    log = audit(tmp_path, "--as-of", "2026-12-07")
    message = (
        "The newest check-in (2026-08-31) is 98 days before the as-of date 2026-12-07: "
        "is this an old export?"
    )
    assert message in log
    assert message in pdf_pages(tmp_path)[0]
    codes = [w["code"] for w in findings(tmp_path)["run"]["warnings"]]
    assert "stale_export" in codes


def test_data_newer_than_the_as_of_date_is_unknown_and_warned_about(tmp_path):
    log = audit(tmp_path, "--as-of", "2024-01-01")
    data = findings(tmp_path)
    for rule_id in ("MAC-SYN-001", "MAC-SYN-002"):  # never a pass for a check-in to come
        assert counts(data, rule_id)["pass"] == 0
    codes = {w["code"]: w["message"] for w in data["run"]["warnings"]}
    assert "The inventory has dates after the as-of date 2024-01-01" in codes["dates_after_as_of"]
    assert codes["catalogue_after_as_of"].startswith(
        "The macOS release catalogue (facts as of 2026-08-22) is newer than the as-of date "
        "2024-01-01"
    )
    assert codes["dates_after_as_of"] in log and codes["catalogue_after_as_of"] in log
    notes = {(n["field"], n["problem"]) for n in data["data_quality"]["notes"]}
    assert {("last_sync_at", "after_as_of"), ("enrolled_at", "after_as_of")} <= notes
    page_one = pdf_pages(tmp_path)[0]
    assert "The inventory has dates after the as-of date 2024-01-01" in page_one
    assert "is newer than the as-of date 2024-01-01" in page_one


def test_a_check_in_in_9999_is_unknown_with_a_data_quality_note(tmp_path):
    inputs = tmp_path / "inputs"
    shutil.copytree(SAMPLE, inputs)
    page = json.loads((inputs / "managed_devices.json").read_text(encoding="utf-8"))
    future = page["value"][0]
    future["lastSyncDateTime"] = "9999-12-31T00:00:00Z"
    (inputs / "managed_devices.json").write_text(json.dumps(page), encoding="utf-8")
    files = [f for p in sorted(inputs.glob("*.json")) + sorted(inputs.glob("*.csv"))
             if p.name != "expected.json" for f in ("--input", str(p))]  # fmt: skip
    audit(tmp_path / "out", "--as-of", "2026-09-01", *files, formats="json")
    data = findings(tmp_path / "out")
    mine = [f for f in data["findings"] if f["device_id"] == future["id"]]
    by_rule = {f["rule_id"]: (f["status"], f["detail"]) for f in mine}
    for rule_id in ("MAC-SYN-001", "MAC-SYN-002"):
        assert by_rule[rule_id] == (
            "unknown", "last check-in 9999-12-31 is after the as-of date 2026-09-01"
        )  # fmt: skip
    note = next(n for n in data["data_quality"]["notes"] if n["problem"] == "after_as_of")
    assert (note["field"], note["count"]) == ("last_sync_at", 1)
    assert note["examples"][0].endswith(": 9999-12-31")


def test_the_earliest_as_of_date_runs_every_format(tmp_path):
    audit(tmp_path, "--as-of", "2000-01-01", formats="json,xlsx,pdf")
    data = findings(tmp_path)
    assert data["run"]["as_of"] == "2000-01-01"
    assert counts(data, "MAC-OS-003")["pass"] == 0  # nothing to judge against in 2000
    assert (tmp_path / "report.pdf").stat().st_size > 0


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--as-of", "1999-12-31"), "--as-of: 1999-12-31 is outside"),
        (("--as-of", "2999-01-01"), "--as-of: 2999-01-01 is outside"),
    ],
)
def test_as_of_dates_outside_the_range_exit_2_naming_the_flag(tmp_path, args, named):
    done = auditor("run", "--out", str(tmp_path / "out"), "--no-history", *args)
    assert done.returncode == 2, done.stderr
    assert named in done.stderr
    latest = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=365)
    assert f"(2000-01-01 to {latest}, a year from today)" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_as_of_date_in_the_configuration_is_held_to_the_same_range(tmp_path):
    config = tmp_path / "auditor.toml"
    config.write_text('as_of = 1998-03-01\nsource = "sample"\n', encoding="utf-8")
    done = auditor("run", "--config", str(config), "--out", str(tmp_path / "out"), "--no-history")
    assert done.returncode == 2, done.stderr
    assert "as_of in the configuration: 1998-03-01 is outside" in done.stderr
