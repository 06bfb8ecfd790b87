import pandas as pd

from auditor.rules import rule_by_id
from rules.frames import details, statuses

UTC = "UTC"
ENR_001 = rule_by_id("MAC-ENR-001")
ENR_002 = rule_by_id("MAC-ENR-002")
ENR_003 = rule_by_id("MAC-ENR-003")
DEM_001 = rule_by_id("MAC-DEM-001")


def test_ade_counts_as_user_approved_whatever_the_flag_says():
    rows = [
        {"enrollment_method": "ade", "user_approved": False},
        {"enrollment_method": "ade", "user_approved": None},
        {"enrollment_method": "dem", "user_approved": False},
        {"enrollment_method": None, "user_approved": True},
    ]
    assert statuses(ENR_001, rows) == ["pass", "pass", "fail", "pass"]


def _legacy(enrolled_at: str, approved: bool | None, **extra: object) -> dict[str, object]:
    return {
        "ownership": "personal",
        "enrollment_method": "byod",
        "enrolled_at": pd.Timestamp(enrolled_at, tz=UTC),
        "user_approved": approved,
        **extra,
    }


def test_june_2020_is_the_boundary_of_legacy_byod_enrollments():
    rows = [
        _legacy("2020-05-31 23:59:59", None),
        _legacy("2020-06-01 00:00:00", None),
        _legacy("2020-05-31 23:59:59", True),
    ]
    assert statuses(ENR_002, rows) == ["fail", "pass", "pass"]


def test_missing_approval_on_a_legacy_byod_enrollment_fails_and_says_so():
    rows = [_legacy("2019-02-03 10:00", None), _legacy("2019-02-03 10:00", False)]
    assert details(ENR_002, rows) == [
        "enrolled 2019-02-03, before June 2020; user approval: not reported",
        "enrolled 2019-02-03, before June 2020; user approval: No",
    ]


def test_byod_method_brings_a_corporate_mac_into_legacy_scope():
    row = _legacy("2019-02-03", False, ownership="corporate")
    ade = _legacy("2019-02-03", False, ownership="corporate", enrollment_method="ade")
    assert statuses(ENR_002, [row, ade]) == ["fail", "not_applicable"]


def test_supervision_scope_compares_versions_numerically():
    rows = [
        {"os_version": "10.15.7", "is_supervised": False},
        {"os_version": "11.0", "is_supervised": False},
        {"os_version": "26.0", "is_supervised": False},
    ]
    assert statuses(ENR_003, rows) == ["not_applicable", "fail", "fail"]


def test_dem_warning_threshold_is_a_parameter():
    rows = [{"device_count": 499}, {"device_count": 500}, {"device_count": 1200}]
    assert statuses(DEM_001, rows, params={"warn_at": 500}) == ["pass", "fail", "fail"]
    assert details(DEM_001, rows)[2] == (
        "1200 Macs enrolled (Intune's limit is 1,000 devices per DEM account; warning at 900)"
    )
