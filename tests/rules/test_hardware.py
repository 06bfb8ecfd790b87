import datetime as dt

from auditor.rules import rule_by_id
from rules.frames import details, statuses

HW_001 = rule_by_id("MAC-HW-001")
HW_002 = rule_by_id("MAC-HW-002")


def _models(*identifiers: str | None) -> list[dict[str, object]]:
    return [{"model_identifier": i} for i in identifiers]


def test_model_ceiling_against_supported_majors_moves_with_the_as_of_date():
    rows = _models("MacBookPro14,1", "MacBookAir8,1", "Mac17,5")
    assert statuses(HW_001, rows, as_of=dt.date(2025, 9, 1)) == ["pass", "pass", "pass"]
    assert statuses(HW_001, rows) == ["fail", "pass", "pass"]


def test_models_older_than_the_catalogue_fail_only_once_their_bound_is_unsupported():
    rows = _models("MacBookPro11,1", "iMac14,2", "VirtualMac1,1", "Mac18,1")
    assert statuses(HW_001, rows) == ["fail", "fail", "not_applicable", "not_applicable"]
    # In 2022 macOS 11 was still patched: "at most macOS 11" cannot decide.
    assert statuses(HW_001, rows[:1], as_of=dt.date(2022, 6, 1)) == ["unknown"]


def test_hardware_detail_names_the_model():
    assert details(HW_001, _models("MacBookPro14,1")) == [
        "MacBookPro14,1 (MacBook Pro (13-inch, 2017, Two Thunderbolt 3 ports)) runs at most "
        "macOS 13; majors that still receive security updates: 14, 15, 26"
    ]


def test_intel_macs_fail_and_virtual_machines_are_out_of_scope():
    rows = [
        {"is_vm": False, "chip": "intel"},
        {"is_vm": False, "chip": "apple_silicon"},
        {"is_vm": True, "chip": "intel"},
        {"is_vm": False, "chip": "virtual"},
    ]
    assert statuses(HW_002, rows) == ["fail", "pass", "not_applicable", "unknown"]


def test_before_the_catalogues_first_major_hardware_support_is_unknown():
    rows = [{"model_identifier": "MacBookPro18,3", "chip": "apple_silicon"}]
    assert statuses(HW_001, rows, as_of=dt.date(2000, 1, 1)) == ["unknown"]
