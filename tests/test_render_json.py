"""findings.json read back: documented shape and order, determinism, hostile text kept literal."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import orjson
import pytest
from report_inputs import FORMULA, SCRIPT, generated_at, golden_rules, make_report

from auditor.render import OUTPUT_NAMES, RENDERERS
from auditor.render.json import document_bytes
from auditor.report import Report

TOP_KEYS = ["schema_version", "run", "summary", "findings", "data_quality", "waivers", "changes",
            "tenant", "population"]  # fmt: skip


def write(report: Report, tmp_path, name: str = "findings.json") -> tuple[bytes, dict]:
    path = tmp_path / name
    RENDERERS["json"](report, path)
    raw = path.read_bytes()
    return raw, orjson.loads(raw)


@pytest.fixture(scope="module")
def report():
    return make_report(rules=golden_rules())


def test_the_document_has_the_documented_blocks_in_order(report, tmp_path):
    _, data = write(report, tmp_path)
    assert list(data) == TOP_KEYS
    assert OUTPUT_NAMES["json"] == "findings.json"
    run = data["run"]
    assert run["as_of"] == "2026-09-01"
    assert run["complete"] is False  # the per-device details were denied
    catalogue = {"as_of": "2026-08-22", "source": "bundled", "age_days": 10, "stale": False}
    assert run["catalogue"] == catalogue
    assert run["inputs"] == [
        {"path": "inputs/export.csv", "kind": "export-devices", "sha256": "ab" * 32, "records": 9}
    ]
    assert run["gaps"][0]["part"] == "device_details"


def test_summary_counts_match_the_model(report, tmp_path):
    _, data = write(report, tmp_path)
    summary = data["summary"]
    assert summary["devices"] == 9
    assert summary["status"] == dict(report.summary.status_counts)
    assert summary["fail_by_severity"]["high"] == 4
    fv = next(r for r in summary["rules"] if r["rule_id"] == "MAC-FV-001")
    assert {k: fv[k] for k in ("pass", "fail", "unknown", "not_applicable", "waived")} == {
        "pass": 4,
        "fail": 3,
        "unknown": 1,
        "not_applicable": 0,
        "waived": 1,
    }


def test_findings_are_the_non_passing_results_sorted_with_device_fields(report, tmp_path):
    _, data = write(report, tmp_path)
    findings = data["findings"]
    assert len(findings) == len(report.findings)
    assert {f["status"] for f in findings} == {"fail", "unknown", "waived"}
    first = findings[0]
    assert list(first)[:8] == [
        "rule_id",
        "severity",
        "status",
        "entity_type",
        "entity_id",
        "device_id",
        "serial_number",
        "device_name",
    ]
    assert [(f["rule_id"], f["entity_id"]) for f in findings[:2]] == [
        ("MAC-FV-001", "dev-02"),
        ("MAC-FV-001", "dev-05"),
    ]
    names = {f["device_name"] for f in findings}
    assert {SCRIPT, FORMULA} <= names  # kept literally: JSON consumers escape for their medium


def test_waiver_id_appears_only_on_waived_findings_and_first_seen_with_history(report, tmp_path):
    _, data = write(report, tmp_path)
    for finding in data["findings"]:
        assert ("waiver_id" in finding) == (finding["status"] == "waived")
        assert "first_seen" in finding
    stale = next(
        f for f in data["findings"] if (f["rule_id"], f["entity_id"]) == ("MAC-SYN-001", "dev-03")
    )
    assert (stale["first_seen"], stale["months_failing"]) == ("2026-06", 4)
    assert data["changes"]["new"] == 3
    assert [t["period"] for t in data["changes"]["trend"]][-1] == "2026-09"


def test_without_history_changes_is_null_and_findings_have_no_first_seen(tmp_path):
    _, data = write(make_report(rules=golden_rules(), with_changes=False), tmp_path)
    assert data["changes"] is None
    assert all("first_seen" not in f for f in data["findings"])


def test_streamed_output_equals_one_compact_dump(report, tmp_path):
    raw, data = write(report, tmp_path)
    assert raw == orjson.dumps(data) + b"\n"


def test_indented_output_equals_one_indented_dump_of_the_same_document(report, tmp_path):
    compact, data = write(report, tmp_path)
    indented = b"".join(document_bytes(report, indent=True))
    assert indented == orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"
    assert orjson.loads(indented) == orjson.loads(compact)  # only whitespace differs


@pytest.mark.parametrize("indent", [False, True])
def test_chunked_serialization_gives_the_same_bytes(report, indent):
    whole = b"".join(document_bytes(report, indent=indent))
    for chunk_rows in (1, 2, 1000):
        assert b"".join(document_bytes(report, chunk_rows=chunk_rows, indent=indent)) == whole


@pytest.mark.parametrize("indent", [False, True])
def test_a_run_without_findings_is_still_one_document(indent):
    empty = make_report(rules=golden_rules(), with_changes=False)
    empty = dataclasses.replace(empty, findings=empty.findings.iloc[:0])
    raw = b"".join(document_bytes(empty, indent=indent))
    assert orjson.loads(raw)["findings"] == []


def test_same_inputs_give_the_same_document_apart_from_generated_at(report, tmp_path):
    later = generated_at(report, dt.datetime(2027, 1, 1))
    _, first = write(report, tmp_path, "a.json")
    _, second = write(later, tmp_path, "b.json")
    assert first["run"].pop("generated_at") != second["run"].pop("generated_at")
    assert first == second


def test_waivers_and_data_quality_blocks(report, tmp_path):
    _, data = write(report, tmp_path)
    assert [(w["waiver_id"], w["state"]) for w in data["waivers"]] == [
        ("W001", "applied"),
        ("W002", "expired"),
        ("W003", "unmatched"),
    ]
    assert data["data_quality"]["never_synced_devices"] == 1
    assert data["data_quality"]["unknown_by_rule"][0]["rule_id"] == "MAC-FV-001"


def test_docs_findings_json_names_every_key_the_document_has(report, tmp_path):
    """docs/findings-json.md is the contract: every key written is documented there."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "findings-json.md").read_text()
    _, data = write(report, tmp_path)

    def keys(value, depth=0):
        if isinstance(value, dict) and depth < 3:
            for key, inner in value.items():
                if not key.startswith("MAC-") and key not in ("critical", "high", "medium",
                                                              "low", "info"):  # fmt: skip
                    yield key
                yield from keys(inner, depth + 1)
        elif isinstance(value, list) and value:
            yield from keys(value[0], depth)

    written = {k for block in ("run", "summary", "data_quality") for k in keys(data[block])}
    listed_elsewhere = set(data["summary"]["kpis"]) | set(data["summary"]["status"])
    named = set(re.findall(r"[a-z_0-9]+", doc))  # `key` in a table, or inside `{a, b, c}`
    undocumented = sorted(k for k in written - listed_elsewhere if k not in named)
    assert undocumented == []
