"""Issue 17: page one fits one page, counts Macs where it says Macs, one line per problem.

The bundled sample tenant (`sample_data/`, as of 2026-09-01) audited after the same generated
tenant as of 2026-08-01, so page one carries its fullest content: the change since last
period, its causes, the exposure clock and needs attention. The PDF is read back with pypdf.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from cli_runner import auditor
from outputs import findings, pdf_pages

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
EXPIRED_TOKEN = "Fabrikam ABM (legacy)"  # sample_data/dep_onboarding_settings.json: expired


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("page_one")
    made = auditor("sample", "--devices", "300", "--seed", "7", "--out", str(base / "aug"),
                   "--as-of", "2026-08-01")  # fmt: skip
    assert made.returncode == 0, made.stderr
    for folder, as_of, formats in ((base / "aug", "2026-08-01", "json"),
                                   (SAMPLE, "2026-09-01", "json,pdf")):  # fmt: skip
        done = auditor("run", "--input", str(folder), "--as-of", as_of, "--history",
                       str(base / "history.sqlite"), "--out", str(base / as_of),
                       "--format", formats)  # fmt: skip
        assert done.returncode == 0, done.stderr
    return base / "2026-09-01"


def _fail_macs(data: dict[str, Any], **where: str) -> int:
    rows = [f for f in data["findings"] if f["status"] == "fail" and f["entity_type"] == "device"]
    return len({f["entity_id"] for f in rows if all(f[k] == v for k, v in where.items())})


def test_page_one_is_one_page(out):
    pages = pdf_pages(out)
    data = findings(out)
    assert data["changes"]["previous_period"] == "2026-08"  # the fullest page one
    first, second = pages[0], pages[1]
    for heading in ("Why it changed since 2026-08", "Exposure clock", "Needs attention now",
                    "Key numbers", "Failures by severity", "Top device rules"):  # fmt: skip
        assert heading in first, heading
    top = [r for r in data["summary"]["rules"] if r["entity_type"] == "device" and r["fail"]]
    last_top = sorted(top, key=lambda r: (["critical", "high", "medium", "low", "info"].index(
        r["severity"]), -r["fail"], r["rule_id"]))[4]  # fmt: skip
    assert f"{last_top['rule_id']} {last_top['severity']} {last_top['problem']}" in first
    assert second.startswith("What changed since 2026-08")


def test_needs_attention_lists_each_problem_once_counting_macs(out):
    data = findings(out)
    attention = data["summary"]["needs_attention"]
    assert len({a["rule_id"] for a in attention}) == len(attention)
    naming = [a for a in attention if EXPIRED_TOKEN in a["names"]]
    assert [a["rule_id"] for a in naming] == ["MAC-TEN-003"]  # expired: 003 only, not 004 too
    for item in attention:
        if item["entity_type"] == "device":
            assert item["devices"] == _fail_macs(data, rule_id=item["rule_id"])
    page_one = pdf_pages(out)[0]
    assert page_one.count(EXPIRED_TOKEN) == 1
    first = attention[0]
    assert f"{first['problem']} ({first['rule_id']}) {first['devices']}" in page_one
    # ranked by severity weight × Macs affected
    weight = {"critical": 81, "high": 27, "medium": 9, "low": 3, "info": 1}
    scores = [weight[a["severity"]] * max(a["devices"] or 0, 1) for a in attention]
    assert scores == sorted(scores, reverse=True)


def test_page_one_mac_counts_equal_distinct_macs_in_findings(out):
    data = findings(out)
    summary = data["summary"]
    for severity, macs in summary["failing_devices_by_severity"].items():
        assert macs == _fail_macs(data, severity=severity)
    page_one = pdf_pages(out)[0]
    for rule in summary["rules"]:
        if rule["entity_type"] == "device" and rule["fail"] and f"{rule['rule_id']} " in page_one:
            row = f"{rule['rule_id']} {rule['severity']} {rule['problem']} {rule['fail']}"
            if row in page_one:
                assert rule["fail"] == _fail_macs(data, rule_id=rule["rule_id"])
    counts = Counter(f["severity"] for f in data["findings"] if f["status"] == "fail")
    assert summary["fail_by_severity"] == {s: counts.get(s, 0) for s in summary["fail_by_severity"]}
