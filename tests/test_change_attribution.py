"""Issue 17 acceptance: two generated months, every new failure attributed to its cause.

August 2026, then September 2026 where (a) the catalogue's 2026-08-06 releases (macOS
26.6.1/15.7.9/14.8.9, fixing the actively exploited CVE-2026-65400; `refdata/
macos_catalogue.json`) enter the bar, (b) three Macs turn FileVault off, (c) ten Macs are new
and five retired. Every Mac checks in again in September. findings.json, the PDF's page one
(read back with pypdf), the workbook's Changes sheet and `history diff` must attribute every
new failure to the right cause, and the counts must add up.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import pytest
from cli_runner import auditor
from outputs import findings, pdf_pages, sheet_rows, sheet_text

from auditor.sample import generate_tenant, write_tenant

# Versions the generator places that the 2026-08-06 releases or later superseded: in August
# those Macs run the releases before them (`sample/catalog.py` dates).
AUGUST_VERSION = {
    "26.6.2 (25G83)": "26.6 (25G72)",
    "26.6.1 (25G76)": "26.6 (25G72)",
    "15.7.9 (24G830)": "15.7.8 (24G824)",
    "15.7.9": "15.7.8 (24G824)",
    "14.8.9 (23J631)": "14.8.8 (23J620)",
}
NEW_IDS = [f"0000aaaa-0000-4000-8000-{i:012d}" for i in range(10)]


def _later(stamp: str, days: int) -> str:
    moment = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")) + dt.timedelta(days=days)
    return moment.isoformat()


@pytest.fixture(scope="module")
def months(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("attribution")
    write_tenant(generate_tenant(80, 3, dt.date(2026, 8, 1)), base / "raw")
    august = json.loads((base / "raw" / "managed_devices.json").read_text())["value"]
    for device in august:
        device["osVersion"] = AUGUST_VERSION.get(device.get("osVersion"), device.get("osVersion"))
    encrypted = [d for d in august if d.get("isEncrypted") is True]
    regressed, retired = encrypted[:3], encrypted[3:8]
    september = []
    for device in august:
        if device in retired:
            continue
        moved = dict(device)
        if device in regressed:
            moved["isEncrypted"] = False
        if str(device.get("lastSyncDateTime", "")).startswith("2026"):
            moved["lastSyncDateTime"] = _later(device["lastSyncDateTime"], 31)
        september.append(moved)
    for number, model in enumerate(september[10:20]):
        september.append({**model, "id": NEW_IDS[number], "serialNumber": f"C02NEWMAC{number:03d}",
                          "deviceName": f"NEW-MAC-{number:02d}"})  # fmt: skip
    history = base / "history.sqlite"
    config = base / "auditor.toml"
    config.write_text("[owners.sla_days]\ncritical = 10\nhigh = 20\n", encoding="utf-8")
    for as_of, devices, period, formats in (
        ("2026-08-01", august, "2026-08", "json"),
        ("2026-09-01", september, "2026-09", "json,xlsx,pdf"),
    ):
        folder = base / period
        folder.mkdir()
        (folder / "managed_devices.json").write_text(json.dumps({"value": devices}))
        done = auditor(
            "run", "--input", str(folder / "managed_devices.json"), "--input",
            str(base / "raw" / "enrollment_configurations.json"), "--as-of", as_of,
            "--out", str(base / "out" / period), "--history", str(history), "--format", formats,
            *(("--config", str(config), "--split-by", "group") if period == "2026-09" else ()),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    diff = auditor("history", "diff", "2026-08", "2026-09", "--history", str(history))
    assert diff.returncode == 0, diff.stderr
    return {
        "owners": {
            d["id"]: d.get("userDisplayName") or d.get("userPrincipalName") or None
            for d in september
        },
        "out": base / "out" / "2026-09",
        "regressed": {d["id"] for d in regressed},
        "retired": {d["id"] for d in retired},
        "diff": diff.stdout,
    }


def _new(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in data["changes"]["items"] if i["change"] == "new"]


def test_every_new_failure_has_the_right_cause_and_the_counts_add_up(months):
    data = findings(months["out"])
    changes, new = data["changes"], _new(findings(months["out"]))
    by_cause = changes["new_by_cause"]
    assert sum(c["results"] for c in by_cause.values()) == changes["new"] == len(new)
    groups = changes["new_by_cause_group"]
    assert sum(g["results"] for g in groups.values()) == changes["new"]
    # (c) the ten new Macs: every failure of theirs, and only theirs, is `new_mac`
    assert {i["entity_id"] for i in new if i["cause"] == "new_mac"} <= set(NEW_IDS)
    assert all(i["cause"] == "new_mac" for i in new if i["entity_id"] in NEW_IDS)
    assert groups["new"]["macs"] == len({i["entity_id"] for i in new if i["entity_id"] in NEW_IDS})
    # (b) the three Macs that turned FileVault off regressed, and nothing else did
    regressed = {(i["rule_id"], i["entity_id"]) for i in new if i["cause"] == "regressed"}
    assert regressed == {("MAC-FV-001", mac) for mac in months["regressed"]}
    assert groups["mac"] == {"results": 3, "macs": 3}
    # (a) the catalogue: every Mac already there that now misses the exploited fix
    exploited = [i for i in new if i["rule_id"] == "MAC-OS-003" and i["entity_id"] not in NEW_IDS]
    assert exploited and all(i["cause"] == "catalogue" for i in exploited)
    assert all(i["cause_group"] == "bar" for i in exploited)
    release = next(c for c in changes["catalogue_changes"] if c["exploited_cves"])
    assert release == {"kind": "release", "versions": "26.6.1/15.7.9/14.8.9",
                       "released": "2026-08-06", "exploited_cves": ["CVE-2026-65400"]}  # fmt: skip
    # resolutions: the retired Macs' failures are `retired`, and only theirs
    resolved = [i for i in changes["items"] if i["change"] == "resolved"]
    retired = [i for i in resolved if i["resolution"] == "retired"]
    assert {i["entity_id"] for i in retired} <= months["retired"]
    assert changes["resolved_by_resolution"]["retired"]["results"] == len(retired)
    assert sum(r["results"] for r in changes["resolved_by_resolution"].values()) == len(resolved)


def test_the_cause_sentence_names_release_cve_and_date(months):
    causes = findings(months["out"])["changes"]["causes"]
    top = causes[0]
    assert (top["cause"], top["rule_id"]) == ("catalogue", "MAC-OS-003")
    assert top["sentence"] == (
        f"{top['entities']} Macs newly fail MAC-OS-003 (critical: Macs missing a fix for an "
        "actively exploited vulnerability) because macOS 26.6.1/15.7.9/14.8.9, released "
        "2026-08-06, fix CVE-2026-65400, which is actively exploited."
    )


def test_page_one_shows_last_period_the_delta_the_causes_and_the_exposure_clock(months):
    data = findings(months["out"])
    changes, page_one = data["changes"], pdf_pages(months["out"])[0]
    before, delta = changes["previous_posture_pct"], changes["posture_delta_pts"]
    assert before is not None and delta is not None
    assert round(data["summary"]["posture"]["pct"] - before, 1) == delta
    points = f"{delta:+.1f}".replace("-", "\N{MINUS SIGN}")
    assert f"Last period (2026-08): {before:.1f} % · {points} points" in page_one
    assert changes["causes"][0]["sentence"] in page_one
    assert "the Mac changed: 3 Macs (3 results)" in page_one
    clock = next(c for c in data["summary"]["exposure"] if c["cve"] == "CVE-2026-65400")
    assert clock["days_since_fix"] == (dt.date(2026, 9, 1) - dt.date(2026, 8, 6)).days
    failing = {f["entity_id"] for f in data["findings"]
               if f["rule_id"] == "MAC-OS-003" and f["status"] == "fail"}  # fmt: skip
    assert clock["exposed_devices"] == len(failing)  # every Mac below its major's fix
    assert f"CVE-2026-65400 26.6.1/15.7.9/14.8.9 2026-08-06 26 {len(failing)}" in page_one


def test_the_changes_sheet_and_history_diff_attribute_the_same_way(months):
    changes = findings(months["out"])["changes"]
    text = sheet_text(months["out"], "Changes")
    groups = changes["new_by_cause_group"]
    for key, words in (("mac", "the Mac changed"), ("bar", "the bar moved"), ("new", "new Macs")):
        assert f"New: {words} {groups[key]['results']} results on {groups[key]['macs']} Macs" in (
            text
        )
    rows = sheet_rows(months["out"], "Changes")
    header = next(r for r in rows if r and r[0] == "cause")
    causes = [dict(zip(header, r, strict=False)) for r in rows[rows.index(header) + 1 :]]
    causes = causes[: len(changes["causes"])]
    assert [c["why"] for c in causes] == [c["sentence"] for c in changes["causes"]]
    item_header = next(r for r in rows if r and r[0] == "change")
    assert {"cause", "cause_group", "resolution"} <= set(item_header)
    diff = months["diff"]
    assert "regressed (the Mac changed): 3 results on 3 Macs" in diff
    catalogue = changes["new_by_cause"]["catalogue"]
    assert f"catalogue (the bar moved): {catalogue['results']} results on" in diff
    assert "release macOS 26.6.1/15.7.9/14.8.9 released 2026-08-06, fixes exploited" in diff


SLA = {"critical": 10, "high": 20, "medium": 90, "low": 180}  # the config's, then the defaults
AS_OF = dt.datetime(2026, 9, 1)


def test_the_action_plan_has_owner_due_date_overdue_and_link_for_every_failing_result(months):
    data = findings(months["out"])
    rows = sheet_rows(months["out"], "Action plan")
    header, body = rows[0], [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert {"owner", "group", "rule_id", "severity", "first_seen", "due", "overdue", "link"} <= set(
        header
    )
    failing = [f for f in data["findings"] if f["status"] == "fail"]
    assert len(body) == len(failing)
    streaks = {(f["rule_id"], f["entity_id"]): f["first_seen"] for f in failing}
    overdue = 0
    for row in body:
        began = streaks[(row["rule_id"], row["entity_id"])]
        assert row["first_seen"] == (dt.datetime(2026, 8, 1) if began == "2026-08" else AS_OF)
        if row["severity"] in SLA:
            assert row["due"] == row["first_seen"] + dt.timedelta(days=SLA[row["severity"]])
            assert row["overdue"] is (row["due"] < AS_OF)
            assert row["days_left"] == (row["due"] - AS_OF).days
            overdue += row["overdue"]
        else:
            assert row["due"] is None and row["overdue"] is None
        if row["entity_type"] == "device":
            assert row["owner"] == months["owners"][row["entity_id"]]
            if row["owner"] is None:
                assert row["group"] == "No owner (shared, lab or DEM)"
            link = urlsplit(row["link"])
            assert (link.scheme, link.netloc) == ("https", "intune.microsoft.com")
            assert link.fragment.endswith(f"/mdmDeviceId/{row['entity_id']}")
    assert overdue, "August's critical and high failures are past their due date"
    summary = data["summary"]["overdue_by_severity"]
    assert sum(s["results"] for s in summary.values()) == overdue
    critical = summary["critical"]
    if critical["results"]:
        page_one = pdf_pages(months["out"])[0]
        assert f"critical {critical['results']} results on {critical['devices']} Macs" in page_one


def test_split_by_writes_one_action_plan_csv_per_group_listed_in_the_manifest(months):
    out = months["out"]
    rows = sheet_rows(out, "Action plan")
    groups = Counter(dict(zip(rows[0], r, strict=True))["group"] for r in rows[1:])
    files = sorted(out.glob("action-plan-*.csv"))
    assert len(files) == len(groups)
    seen = Counter()
    for path in files:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            body = list(csv.DictReader(handle))
        assert len({r["group"] for r in body}) == 1
        seen[body[0]["group"]] += len(body)
    assert seen == groups
    assert (out / "action-plan-No-owner-shared-lab-or-DEM.csv").is_file() == (
        "No owner (shared, lab or DEM)" in groups
    )
    listed = {o["path"] for o in json.loads((out / "manifest.json").read_text())["outputs"]}
    assert {p.name for p in files} <= listed
