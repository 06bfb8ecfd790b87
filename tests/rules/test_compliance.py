import pytest

from auditor.errors import ConfigError
from auditor.rules import rule_by_id
from rules.frames import details, statuses

POL_001 = rule_by_id("MAC-POL-001")
POL_002 = rule_by_id("MAC-POL-002")
POL_003 = rule_by_id("MAC-POL-003")


def _policy(minimum: str | None, assigned: bool | None = True) -> dict[str, object]:
    return {
        "is_assigned": assigned,
        "sets_os_minimum": minimum is not None,
        "os_minimum_version": minimum,
        "policy_name": "Mac baseline",
    }


def test_secure_by_default_is_the_whole_question():
    rows = [{"secure_by_default": True}, {"secure_by_default": False}]
    assert statuses(POL_001, rows) == ["pass", "fail"]


def test_filevault_detail_says_why_none_is_assigned():
    rows = [
        {"filevault_policy_assigned": False, "macos_compliance_policies": 0,
         "filevault_policies": 0},
        {"filevault_policy_assigned": False, "macos_compliance_policies": 3,
         "filevault_policies": 0},
        {"filevault_policy_assigned": False, "macos_compliance_policies": 3,
         "filevault_policies": 2},
    ]  # fmt: skip
    assert statuses(POL_002, rows) == ["fail", "fail", "fail"]
    assert details(POL_002, rows) == [
        "no macOS compliance policy exists",
        "none of the 3 macOS compliance policies requires FileVault",
        "the policies that require FileVault (2 of 3 macOS compliance policies) are not assigned",
    ]


def test_the_minimum_os_is_compared_with_intunes_floor_at_the_as_of_date():
    # The bundled catalogue: Intune supports macOS 14 and later since 2025-09-15.
    rows = [_policy("14.0"), _policy("13.7.8"), _policy("15"), _policy(None), _policy("13", False)]
    assert statuses(POL_003, rows) == ["pass", "fail", "pass", "fail", "not_applicable"]
    assert details(POL_003, rows[1:2]) == [
        "'Mac baseline' accepts macOS 13.7.8; Intune supports macOS 14 and later (since 2025-09-15)"
    ]
    strict = {"intune_min_major": "15"}
    assert statuses(POL_003, rows[:1], params=strict) == ["fail"]


def test_a_configured_floor_that_is_not_a_version_is_a_config_error_naming_the_rule():
    with pytest.raises(ConfigError, match=r"rules\.params\.MAC-POL-003\.intune_min_major"):
        statuses(POL_003, [_policy("14.0")], params={"intune_min_major": "Sonoma"})
