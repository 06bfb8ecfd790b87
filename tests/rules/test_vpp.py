import pandas as pd

from auditor.rules import rule_by_id
from rules.frames import details, statuses

TEN_007 = rule_by_id("MAC-TEN-007")
TEN_008 = rule_by_id("MAC-TEN-008")
UTC = "UTC"


def _token(expires: str, synced: str | None, status: str = "completed", state: str = "valid"):
    return {
        "vpp_expires_at": pd.Timestamp(expires, tz=UTC),
        "vpp_last_sync_at": pd.Timestamp(synced, tz=UTC) if synced else None,
        "vpp_last_sync_status": status,
        "vpp_state": state,
        "vpp_token_name": "Contoso Ltd",
    }


def test_expiry_boundaries_match_the_ade_token_rules():
    rows = [
        _token("2026-09-01 23:59:59", "2026-08-31"),
        _token("2026-09-02 00:00", "2026-08-31"),
        _token("2026-10-02 00:00", "2026-08-31"),
    ]
    assert statuses(TEN_007, rows) == ["fail", "pass", "pass"]
    # an expired token is MAC-TEN-007's problem only, as with the ADE pair (MAC-TEN-003/004)
    assert statuses(TEN_008, rows) == ["not_applicable", "fail", "pass"]
    assert statuses(TEN_008, rows[2:], params={"min_days": 60}) == ["fail"]


def test_a_token_never_synced_or_in_another_state_fails_the_health_rule():
    rows = [
        _token("2027-03-01", None, status="none"),
        _token("2027-03-01", "2026-08-31", state="invalid"),
        _token("2027-03-01", "2026-08-20"),
    ]
    assert statuses(TEN_008, rows) == ["fail", "fail", "fail"]
    assert statuses(TEN_008, rows[2:], params={"max_days": 14}) == ["pass"]
    assert details(TEN_008, rows[:2]) == [
        "VPP token 'Contoso Ltd': no sync reported",
        "VPP token 'Contoso Ltd': state invalid",
    ]


def test_intune_saying_expired_fails_even_before_the_date():
    row = _token("2027-03-01", "2026-08-31", state="expired")
    assert statuses(TEN_007, [row]) == ["fail"]
    assert statuses(TEN_008, [row]) == ["not_applicable"]
    assert details(TEN_007, [row]) == [
        "VPP token 'Contoso Ltd' expires on 2027-03-01, 181 days after the as-of date; Intune "
        "reports its state as expired"
    ]
