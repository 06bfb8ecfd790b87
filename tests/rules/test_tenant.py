import pandas as pd

from auditor.rules import rule_by_id
from rules.frames import details, statuses

TEN = {n: rule_by_id(f"MAC-TEN-00{n}") for n in range(1, 7)}
UTC = "UTC"


def _apns(at: str) -> dict[str, object]:
    return {"apns_expires_at": pd.Timestamp(at, tz=UTC), "apns_apple_id": "mdm@contoso.example"}


def test_push_certificate_expiry_boundaries():
    rows = [_apns("2026-09-01 23:59:59"), _apns("2026-09-02 00:00"), _apns("2026-10-02 00:00")]
    assert statuses(TEN[1], rows) == ["fail", "pass", "pass"]
    # an expired certificate is MAC-TEN-001's problem only: MAC-TEN-002 is for the unexpired
    assert statuses(TEN[2], rows) == ["not_applicable", "fail", "pass"]
    assert details(TEN[2], rows[1:2]) == [
        "Apple MDM push certificate (Apple ID mdm@contoso.example) expires on 2026-09-02, "
        "1 days after the as-of date"
    ]


def test_token_expiry_uses_its_own_parameter():
    rows = [{"token_expires_at": pd.Timestamp("2026-11-01", tz=UTC), "token_name": "ABM"}]
    assert statuses(TEN[3], rows) == ["pass"]
    assert statuses(TEN[4], rows) == ["pass"]
    assert statuses(TEN[4], rows, params={"min_days": 90}) == ["fail"]


def test_an_expired_token_fails_the_expiry_rule_only():
    rows = [{"token_expires_at": pd.Timestamp("2026-05-14", tz=UTC), "token_name": "Legacy"}]
    assert statuses(TEN[3], rows) == ["fail"]
    assert statuses(TEN[4], rows) == ["not_applicable"]


def test_token_sync_needs_recent_success_and_no_error():
    def row(at: str | None, code: int | None) -> dict[str, object]:
        return {
            "last_successful_sync_at": pd.Timestamp(at, tz=UTC) if at else None,
            "last_sync_error_code": code,
        }

    rows = [
        row("2026-08-25", 0),
        row("2026-08-24 12:00", 0),
        row("2026-08-31", 7),
        row(None, 7),
        row(None, 0),
    ]
    assert statuses(TEN[5], rows) == ["pass", "fail", "fail", "fail", "unknown"]
    assert details(TEN[5], rows[3:4]) == [
        "ADE token: no successful sync reported; last sync error code 7"
    ]


def test_personal_mac_policy_is_only_checked_when_personal_macs_are_not_allowed():
    def row(macos: bool | None, personal: bool | None) -> dict[str, object]:
        return {"macos_enrollment_blocked": macos, "personal_enrollment_blocked": personal}

    rows = [row(False, False), row(True, None), row(False, True), row(False, None)]
    strict = {"personal_allowed": False}
    assert statuses(TEN[6], rows, params=strict) == ["fail", "pass", "pass", "unknown"]
    assert statuses(TEN[6], rows) == ["pass", "pass", "pass", "pass"]
