import pandas as pd

from auditor.rules import rule_by_id
from rules.frames import details, statuses

SYN_001 = rule_by_id("MAC-SYN-001")


def _synced(at: str | None) -> dict[str, object]:
    return {"last_sync_at": pd.Timestamp(at, tz="UTC") if at else None}


def test_thirty_days_exactly_is_still_a_pass():
    # As-of 2026-09-01: 2026-08-02 is 30 calendar days back, 2026-08-01 is 31.
    rows = [_synced("2026-08-02 00:00"), _synced("2026-08-01 23:59:59"), _synced(None)]
    assert statuses(SYN_001, rows) == ["pass", "fail", "unknown"]


def test_max_days_is_a_parameter_and_appears_in_the_detail():
    rows = [_synced("2026-08-20")]
    assert statuses(SYN_001, rows, params={"max_days": 7}) == ["fail"]
    assert details(SYN_001, rows, params={"max_days": 7}) == [
        "last check-in 2026-08-20, 12 days ago (limit 7)"
    ]


def test_a_check_in_after_the_as_of_date_is_unknown_with_the_date_in_the_reason():
    rows = [_synced("2026-09-01 23:59"), _synced("2026-09-02 00:00"), _synced("9999-12-31")]
    assert statuses(SYN_001, rows) == ["pass", "unknown", "unknown"]
    assert details(SYN_001, rows)[1:] == [
        "last check-in 2026-09-02 is after the as-of date 2026-09-01",
        "last check-in 9999-12-31 is after the as-of date 2026-09-01",
    ]
