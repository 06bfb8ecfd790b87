from auditor.rules import rule_by_id
from rules.frames import statuses

CMP_001 = rule_by_id("MAC-CMP-001")


def test_only_compliant_passes_and_non_verdicts_are_unknown():
    states = ["compliant", "noncompliant", "conflict", "error", "inGracePeriod", "configManager"]
    rows = [{"has_user_affinity": True, "compliance_state": s} for s in [*states, "unknown"]]
    assert statuses(CMP_001, rows) == [
        "pass",
        "fail",
        "fail",
        "fail",
        "fail",
        "unknown",
        "unknown",
    ]


def test_userless_macs_are_out_of_scope_and_unknown_affinity_is_unknown():
    rows = [
        {"has_user_affinity": False, "compliance_state": "noncompliant"},
        {"has_user_affinity": None, "compliance_state": "noncompliant"},
    ]
    assert statuses(CMP_001, rows) == ["not_applicable", "unknown"]
