import datetime as dt

import pandas as pd

from auditor.engine import EvaluationContext, evaluate, gap_reasons
from auditor.models import SourceGap
from auditor.refdata.catalogue_file import load_catalogue
from auditor.rules import rule_by_id
from rules.frames import details, frame_from_rows, statuses

ADE_001 = rule_by_id("MAC-ADE-001")
ADE_002 = rule_by_id("MAC-ADE-002")
UTC = "UTC"


def _serial(imported: str, enrolled: bool | None, **extra: object) -> dict[str, object]:
    return {
        "is_mac": True,
        "is_deleted": False,
        "is_enrolled": enrolled,
        "imported_at": pd.Timestamp(imported, tz=UTC),
        "serial_number": "C02ZX1ABJGH5",
        "token_name": "Contoso ABM",
        "enrollment_state": "notContacted",
        "devices_without_serial": 0,
        **extra,
    }


def test_the_grace_period_runs_from_the_import_and_is_a_parameter():
    rows = [_serial("2026-08-17 23:00", False), _serial("2026-08-18 00:00", False)]
    assert statuses(ADE_001, rows) == ["fail", "not_applicable"]
    assert statuses(ADE_001, rows, params={"grace_days": 30}) == [
        "not_applicable",
        "not_applicable",
    ]
    assert statuses(ADE_001, rows, params={"grace_days": 0}) == ["fail", "fail"]


def test_an_enrolled_serial_passes_however_recent_and_a_deleted_one_is_out_of_scope():
    rows = [_serial("2026-08-31", True), _serial("2024-01-01", False, is_deleted=True)]
    assert statuses(ADE_001, rows) == ["pass", "not_applicable"]


def test_a_serial_not_found_in_an_incomplete_device_list_is_unknown_not_a_failure():
    assert statuses(ADE_001, [_serial("2025-01-01", None)]) == ["unknown"]


def test_the_failure_says_the_token_the_import_and_intunes_enrollment_state():
    [text] = details(ADE_001, [_serial("2026-06-03", False, devices_without_serial=2)])
    assert text == (
        "serial C02ZX1ABJGH5, assigned through ADE token 'Contoso ABM', imported 2026-06-03 "
        "(90 days before the as-of date): no managed Mac carries it; Intune's enrollment state: "
        "notContacted; 2 managed Macs report no serial and could be this one"
    )


def test_an_assigned_mac_must_have_enrolled_through_ade():
    rows = [
        {"is_abm_assigned": True, "enrollment_method": "ade"},
        {"is_abm_assigned": True, "enrollment_method": "dem"},
        {"is_abm_assigned": False, "enrollment_method": "dem"},
        {"is_abm_assigned": None, "enrollment_method": "dem"},
    ]
    assert statuses(ADE_002, rows) == ["pass", "fail", "not_applicable", "unknown"]
    assert details(ADE_002, rows[1:2]) == [
        "assigned to the tenant in Apple Business Manager but enrolled through a device "
        "enrollment manager account, not Automated Device Enrollment"
    ]


def test_unknown_results_name_the_gap_and_the_permission_behind_a_missing_column():
    # The stand-in row normalize leaves when the identities were denied (no values at all).
    identities = frame_from_rows([{"identity_id": "(not collected)"}], ADE_001.entity)
    devices = frame_from_rows([{"device_id": "d1", "enrollment_method": "direct"}])
    reason = (
        "GET https://graph.microsoft.com/beta/deviceManagement/depOnboardingSettings/t1/"
        "importedAppleDeviceIdentities: 403 Forbidden; the app needs the "
        "DeviceManagementServiceConfig.Read.All permission (application, admin-consented)"
    )
    gap = SourceGap("ade_identities", reason, status="denied")
    ctx = EvaluationContext(dt.date(2026, 9, 1), load_catalogue(), {}, gap_reasons([gap]))
    frames = {"ade_identities": identities, "devices": devices}
    results = evaluate([ADE_001, ADE_002], frames, ctx)
    assert list(results["status"].astype(str)) == ["unknown", "unknown"]
    for detail in results["detail"]:
        assert (
            "ADE device identities (Apple Business Manager serials) denied: " in detail
        )  # the part in words (issue 14)
        assert "DeviceManagementServiceConfig.Read.All" in detail
