"""The report model: counts, rollups, sorts and deltas computed once from real components."""

from __future__ import annotations

import orjson
import pandas as pd
import pytest
from report_inputs import (
    FORMULA,
    SCRIPT,
    golden_rules,
    inventory,
    make_report,
    results_for,
)

from auditor.models import Severity
from auditor.report import NON_PASSING


@pytest.fixture(scope="module")
def report():
    return make_report(rules=golden_rules())


def statuses(report, rule_id: str) -> dict[str, str]:
    rows = report.devices
    return dict(zip(rows["device_name"], rows[rule_id].astype(str), strict=True))


def test_each_mac_gets_the_status_its_fixture_name_promises(report):
    fv = statuses(report, "MAC-FV-001")
    assert {name for name, s in fv.items() if s == "fail"} == {"filevault-off-mbp", SCRIPT, FORMULA}
    assert fv["waived-lab-mac"] == "waived"
    assert fv["never-synced"] == "unknown"
    stale30 = statuses(report, "MAC-SYN-001")
    failing = {name for name, s in stale30.items() if s == "fail"}
    assert failing == {"stale-95-days", "stale-40-days"}
    stale90 = statuses(report, "MAC-SYN-002")
    assert {name for name, s in stale90.items() if s == "fail"} == {"stale-95-days"}


def test_rule_counts_add_up_to_the_results():
    inv = inventory()
    outcome = results_for(inv, golden_rules())
    report = make_report(rules=golden_rules())
    assert sum(n for _, n in report.summary.status_counts) == len(outcome.results)
    fv = next(r for r in report.rules if r.rule_id == "MAC-FV-001")
    assert (fv.passed, fv.failed, fv.unknown, fv.waived, fv.not_applicable) == (4, 3, 1, 1, 0)
    assert fv.fail_pct == 37.5  # 3 failing of 8 judged (pass + fail + waived)


def test_findings_list_every_non_passing_result_once_in_severity_rule_entity_order(report):
    findings = report.findings
    assert set(findings["status"]) <= set(NON_PASSING)
    counted = sum(r.failed + r.unknown + r.waived for r in report.rules)
    assert len(findings) == counted
    ranks = findings["severity"].map({s.value: s.rank for s in Severity})
    keys = list(zip(ranks, findings["rule_id"], findings["entity_id"], strict=True))
    assert keys == sorted(keys)
    assert not findings.duplicated(["rule_id", "entity_id"]).any()


def test_findings_carry_the_macs_fields_and_the_waiver(report):
    waived = report.findings[report.findings["status"] == "waived"]
    assert waived["serial_number"].tolist() == ["C02WAIVED008"]
    assert waived["waiver_id"].tolist() == ["W001"]
    hostile = report.findings[report.findings["device_name"] == FORMULA]
    assert hostile["serial_number"].tolist() == ["=1+2"]


def test_summary_posture_and_key_numbers(report):
    summary = report.summary
    assert summary.devices == 9
    # high failures: filevault-off, script, formula (FileVault) and stale-95-days (90-day sync)
    assert summary.posture.count == 5
    assert summary.posture.pct == 55.6
    kpis = {k.key: k for k in summary.kpis}
    assert (kpis["filevault"].count, kpis["filevault"].unknown) == (4, 1)
    assert kpis["ade"].count == 8
    assert kpis["user_approved"].unknown == 1
    by_worst = {s.label: s.count for s in summary.devices_by_worst}
    assert by_worst == {"critical": 0, "high": 4, "medium": 1, "low": 0, "info": 0, "none": 4}
    # most severe first, then most failing Macs: high FV-001 (3), high SYN-002 (1), medium SYN-001
    assert [r.rule_id for r in summary.top_rules] == ["MAC-FV-001", "MAC-SYN-002", "MAC-SYN-001"]


def test_failures_by_severity_feed_the_exit_code(report):
    assert report.failures_by_severity() == {
        Severity.CRITICAL: 0,
        Severity.HIGH: 4,
        Severity.MEDIUM: 2,
        Severity.LOW: 0,
        Severity.INFO: 0,
    }
    assert report.new_failures_by_severity()[Severity.HIGH] == 3


def test_sections_cap_the_listed_macs_and_count_the_rest():
    report = make_report(rules=golden_rules(), cap=2)
    fv = next(s for s in report.sections if s.rule.rule_id == "MAC-FV-001")
    assert len(fv.rows) == 2
    assert fv.more == 1
    assert [s.rule.rule_id for s in report.sections] == ["MAC-FV-001", "MAC-SYN-002", "MAC-SYN-001"]


def test_any_gap_marks_the_report_partial():
    assert make_report(rules=golden_rules(), gaps=False).run.is_complete
    denied = make_report(rules=golden_rules())
    assert not denied.run.is_complete
    assert [(p.part, p.state) for p in denied.run.parts if p.state != "collected"] == [
        ("device_details", "denied"),
        ("ade_profiles", "collected"),
    ][:1]
    partial = make_report(rules=golden_rules(), core_gap=True)
    assert not partial.run.is_complete
    assert partial.run.gaps[0].is_core


def test_every_waiver_is_reported_with_its_fate(report):
    states = {w.waiver_id: (w.state, w.matched) for w in report.waivers}
    assert states == {"W001": ("applied", 1), "W002": ("expired", 0), "W003": ("unmatched", 0)}


def test_changes_give_first_seen_per_finding_and_deltas(report):
    seen = report.findings.set_index(["rule_id", "entity_id"])["first_seen"]
    assert seen[("MAC-SYN-001", "dev-03")] == "2026-06"
    assert seen.isna().sum() > 0  # unknowns were never failing
    changes = report.changes
    assert (changes.new, changes.resolved, changes.persisting) == (3, 1, 2)
    assert [p.period for p in changes.trend] == ["2026-06", "2026-07", "2026-08", "2026-09"]
    assert {d.rule_id: d.delta for d in changes.per_rule} == {"MAC-FV-001": 2, "MAC-SYN-001": 0}
    assert list(changes.items["change"]) == ["new"] * 3 + ["persisting"] * 2 + ["resolved"]


def test_without_history_there_are_no_changes():
    report = make_report(rules=golden_rules(), with_changes=False)
    assert report.changes is None
    assert report.findings["first_seen"].isna().all()
    assert set(report.new_failures_by_severity().values()) == {0}


def test_data_quality_names_the_commonest_reason_for_unknown(report):
    unknown = {u.rule_id: (u.count, u.top_reason) for u in report.quality.unknowns}
    assert unknown["MAC-FV-001"] == (1, "FileVault state not reported")
    assert report.quality.never_synced == 1
    assert {n.problem for n in report.quality.notes} == {"missing", "suspicious_text"}


def test_devices_table_has_one_row_per_mac_and_a_status_per_device_rule(report):
    assert len(report.devices) == 9
    assert set(report.device_rule_ids) <= set(report.devices.columns)
    row = report.devices.set_index("device_name").loc["stale-95-days"]
    assert (row["failing_rules"], row["worst_severity"]) == (2, "high")


def test_the_full_catalogue_builds_a_report():
    report = make_report()
    assert len(report.devices) == 9
    assert len(report.rules) >= 3


def test_report_model_golden(report, golden):
    data = report.to_dict()
    text = orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"
    golden("report_model.json", text)


def test_rules_show_the_parameters_the_run_used_and_the_defaults_it_changed():
    report = make_report(rules=golden_rules(), params={"MAC-SYN-001": {"max_days": 14}})
    stale = {r.rule_id: r for r in report.rules}
    assert stale["MAC-SYN-001"].params == (("max_days", "14"),)
    assert stale["MAC-SYN-001"].param_defaults == (("max_days", "30"),)
    # the title states the limit the run used, everywhere it is shown
    assert stale["MAC-SYN-001"].title == "Mac checked in within 14 days"
    titles = report.findings.loc[report.findings["rule_id"] == "MAC-SYN-001", "title"]
    assert set(titles) == {"Mac checked in within 14 days"}
    assert stale["MAC-SYN-002"].params == (("max_days", "90"),)
    assert stale["MAC-SYN-002"].param_defaults == ()


def test_page_one_lists_failing_critical_and_high_tenant_results_by_name():
    report = make_report()
    attention = report.summary.attention
    assert [(r.rule_id, r.entity_name) for r in attention] == [("MAC-TEN-002", "tenant")]
    assert "2026-09-20" in (attention[0].detail or "")
    names = {r.entity_type: r.entity_name for r in report.tenant.results}
    assert names["ade_token"] == "Apple Business Manager"
    assert names["tenant"] == "tenant"


def test_the_long_tables_follow_their_declared_schemas(report):
    from auditor.report import DEVICE_TABLE_SCHEMA, FINDINGS_SCHEMA
    from auditor.report.changes import CHANGE_ITEMS_SCHEMA
    from auditor.report.findings import RULE_STATUS_COLUMN

    def dtypes(schema):
        return {name: pd.api.types.pandas_dtype(dtype) for name, (dtype, _) in schema.items()}

    assert dict(report.findings.dtypes) == dtypes(FINDINGS_SCHEMA)
    rule_columns = dict.fromkeys(report.device_rule_ids, RULE_STATUS_COLUMN[0])
    assert dict(report.devices.dtypes) == {**dtypes(DEVICE_TABLE_SCHEMA), **rule_columns}
    assert dict(report.changes.items.dtypes) == dtypes(CHANGE_ITEMS_SCHEMA)
