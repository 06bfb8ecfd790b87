"""Small hand-made audit inputs for the report and renderer tests (rows named after outcomes)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

import pandas as pd

from auditor.engine import EvaluationContext, evaluate
from auditor.models import (
    Changes,
    InputFile,
    Inventory,
    Param,
    QualityNote,
    RunMeta,
    SourceGap,
)
from auditor.normalize.schema import DEVICE_SCHEMA, conform
from auditor.refdata.catalogue_file import load_catalogue
from auditor.report import Report, build_report
from auditor.rules import ALL_RULES
from auditor.rules.base import Rule
from auditor.waivers import Waiver, apply_waivers

AS_OF = dt.date(2026, 9, 1)
GENERATED_AT = dt.datetime(2026, 9, 1, 7, 30, tzinfo=dt.UTC)
SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://evil.example","click")'


def _day(days_before: int | None) -> pd.Timestamp | None:
    if days_before is None:
        return None
    return pd.Timestamp(AS_OF, tz="UTC") - pd.Timedelta(days=days_before)


def _mac(device_id: str, name: str, serial: str, **over: object) -> dict[str, object]:
    row: dict[str, object] = {
        "device_id": device_id,
        "device_name": name,
        "serial_number": serial,
        "udid": f"UDID-{device_id}",
        "model": "MacBook Pro (14-inch, 2021)",
        "model_identifier": "MacBookPro18,3",
        "chip": "apple_silicon",
        "processor_arch": "arm64",
        "is_vm": False,
        "vm_evidence": None,
        "os_version": "15.6.1",
        "os_major": "15",
        "os_version_key": 15_006_001,
        "os_build": "24G90",
        "os_rsr": None,
        "ownership": "corporate",
        "enrollment_method": "ade",
        "has_user_affinity": True,
        "enrollment_profile": "Corporate ADE",
        "is_supervised": True,
        "user_approved": True,
        "bootstrap_escrowed": True,
        "is_encrypted": True,
        "compliance_state": "compliant",
        "enrolled_at": _day(400),
        "last_sync_at": _day(1),
        "upn": f"{device_id}@example.com",
        "enrolled_by_upn": None,
        "source": "export.csv",
        "source_record": f"export.csv:line {device_id[-1]}",
    }
    row.update(over)
    return row


def devices_frame() -> pd.DataFrame:
    rows = [
        _mac("dev-01", "healthy-air", "C02HEALTHY01"),
        _mac("dev-02", "filevault-off-mbp", "C02FVOFF0002", is_encrypted=False),
        _mac("dev-03", "stale-95-days", "C02STALE0003", last_sync_at=_day(95)),
        _mac("dev-04", "stale-40-days", "C02STALE0004", last_sync_at=_day(40)),
        _mac("dev-05", "never-synced", "C02NEVER0005", last_sync_at=None, is_encrypted=None),
        _mac("dev-06", SCRIPT, "C02SCRIPT006", is_encrypted=False),
        _mac(
            "dev-07",
            FORMULA,
            "=1+2",
            is_encrypted=False,
            upn="+cmd|' /C calc'!A0",
            model="@SUM(1+1)",
        ),
        _mac("dev-08", "waived-lab-mac", "C02WAIVED008", is_encrypted=False),
        _mac(
            "dev-09",
            "intel-byod-old-os",
            "C02INTEL0009",
            chip="intel",
            processor_arch="x64",
            os_version="13.7.8",
            os_major="13",
            os_version_key=13_007_008,
            ownership="personal",
            enrollment_method="byod",
            is_supervised=False,
            user_approved=None,
            bootstrap_escrowed=False,
            compliance_state="noncompliant",
            model="MacBook Air (Retina, 13-inch, 2020)",
            model_identifier="MacBookAir9,1",
        ),
    ]
    frame = pd.DataFrame(rows)
    return conform(frame, DEVICE_SCHEMA)  # the canonical dtypes, not a copy of them


def inventory(*, core_gap: bool = False, gaps: bool = True) -> Inventory:
    tenant = pd.DataFrame(
        {
            "tenant_id": ["tenant-0001"],
            "apns_expires_at": [pd.Timestamp("2026-09-20", tz="UTC")],
            "apns_apple_id": ["mdm-admin@example.com"],
            "personal_enrollment_blocked": [False],
            "macos_enrollment_blocked": [False],
        }
    ).astype(
        {
            "tenant_id": "string",
            "apns_expires_at": "datetime64[us, UTC]",
            "apns_apple_id": "string",
            "personal_enrollment_blocked": "boolean",
            "macos_enrollment_blocked": "boolean",
        }
    )
    tokens = pd.DataFrame(
        {
            "token_id": ["tok-1"],
            "token_name": ["Apple Business Manager"],
            "apple_id": ["abm@example.com"],
            "token_type": ["dep"],
            "token_expires_at": [pd.Timestamp("2027-03-01", tz="UTC")],
            "last_successful_sync_at": [pd.Timestamp("2026-08-31", tz="UTC")],
            "last_sync_error_code": [0],
            "synced_device_count": [8],
        }
    ).astype(
        {
            "token_id": "string",
            "token_name": "string",
            "apple_id": "string",
            "token_type": "string",
            "token_expires_at": "datetime64[us, UTC]",
            "last_successful_sync_at": "datetime64[us, UTC]",
            "last_sync_error_code": "Int64",
            "synced_device_count": "Int64",
        }
    )
    dem = pd.DataFrame({"dem_upn": pd.array([], "string"), "device_count": pd.array([], "Int64")})
    denied = SourceGap("device_details", "403 denied", ("bootstrap_escrowed",), status="denied")
    collection_gaps = [denied] if gaps else []
    if core_gap:
        collection_gaps.append(
            SourceGap("managed_devices", "500 failed", ("device_id",), True, "failed")
        )
    return Inventory(
        devices=devices_frame(),
        tenant=tenant,
        ade_tokens=tokens,
        dem_accounts=dem,
        inputs=[InputFile("inputs/export.csv", "export-devices", "ab" * 32, 9)],
        quality=[
            QualityNote("last_sync_at", "missing", 1, ("never-synced",), "export.csv"),
            QualityNote("device_name", "suspicious_text", 2, (SCRIPT, FORMULA), "export.csv"),
        ],
        gaps=collection_gaps,
    )


def meta(*, stale: bool = False) -> RunMeta:
    return RunMeta(
        as_of=AS_OF,
        generated_at=GENERATED_AT,
        tool_version="0.1.0",
        organisation="Example & Co <Ltd>",
        classification="CONFIDENTIAL",
        tenant_id="tenant-0001",
        source="files",
        catalogue_as_of=dt.date(2026, 6, 1) if stale else dt.date(2026, 8, 22),
        catalogue_source="bundled",
        catalogue_age_days=92 if stale else 10,
        catalogue_is_stale=stale,
        config_digest="cd" * 32,
        waivers_digest="ef" * 32,
    )


def waivers() -> list[Waiver]:
    def waiver(number: int, rule: str, selector: str, value: str, expires: dt.date) -> Waiver:
        return Waiver(
            id=f"W{number:03d}",
            rule_id=rule,
            selector=selector,
            value=value,
            reason="Lab Mac, wiped nightly",
            approver="ciso@example.com",
            ticket=f"SEC-{number}",
            expires=expires,
            origin=f"waivers.toml: waiver {number}",
        )

    return [
        waiver(1, "MAC-FV-001", "serial", "C02WAIVED008", dt.date(2026, 12, 31)),
        waiver(2, "MAC-FV-001", "serial", "C02EXPIRED99", dt.date(2026, 1, 31)),
        waiver(3, "MAC-SYN-001", "name", "no-such-mac-*", dt.date(2026, 12, 31)),
    ]


def changes(findings_ids: pd.DataFrame | None = None) -> Changes:
    """A hand-made history: FileVault failures new this month, one resolved, stale persisting."""
    keys = ["rule_id", "entity_type", "entity_id"]
    first_seen = pd.DataFrame(
        [
            ("MAC-FV-001", "device", "dev-02", "2026-09", 1),
            ("MAC-FV-001", "device", "dev-06", "2026-09", 1),
            ("MAC-FV-001", "device", "dev-07", "2026-09", 1),
            ("MAC-SYN-001", "device", "dev-03", "2026-06", 4),
            ("MAC-SYN-002", "device", "dev-03", "2026-07", 3),
            ("MAC-SYN-001", "device", "dev-04", "2026-08", 2),
        ],
        columns=[*keys, "first_seen", "months_failing"],
    ).astype({"months_failing": "Int64"})
    device_cols = ["severity", "device_name", "serial_number"]
    new = pd.DataFrame(
        [
            ("MAC-FV-001", "device", "dev-02", "high", "filevault-off-mbp", "C02FVOFF0002"),
            ("MAC-FV-001", "device", "dev-06", "high", SCRIPT, "C02SCRIPT006"),
            ("MAC-FV-001", "device", "dev-07", "high", FORMULA, "=1+2"),
        ],
        columns=[*keys, *device_cols],
    )
    resolved = pd.DataFrame(
        [("MAC-FV-001", "device", "dev-01", "high", "healthy-air", "C02HEALTHY01", "pass")],
        columns=[*keys, *device_cols, "now"],
    )
    persisting = pd.DataFrame(
        [
            ("MAC-SYN-001", "device", "dev-03", "medium", "stale-95-days", "C02STALE0003", 4),
            ("MAC-SYN-002", "device", "dev-03", "high", "stale-95-days", "C02STALE0003", 3),
        ],
        columns=[*keys, *device_cols, "months_failing"],
    )
    per_rule = pd.DataFrame(
        [
            ("MAC-FV-001", 1, 3, 3, 1, 0),
            ("MAC-SYN-001", 2, 2, 1, 1, 1),
            ("MAC-SYN-002", 1, 1, 0, 0, 1),
        ],
        columns=["rule_id", "previous_fail", "current_fail", "new", "resolved", "persisting"],
    )
    periods = ["2026-06", "2026-07", "2026-08", "2026-09"]
    trend = pd.DataFrame(
        {
            "period": periods,
            "as_of": [f"{p}-01" for p in periods],
            "devices": [7, 8, 9, 9],
            "failing_devices": [2, 3, 3, 5],
            "posture_pct": [71.4, 62.5, 66.7, 44.4],
            "fail_critical": [0, 0, 0, 0],
            "fail_high": [1, 2, 2, 4],
            "fail_medium": [1, 1, 2, 2],
            "fail_low": [0, 0, 0, 0],
            "fail_info": [0, 0, 0, 0],
        }
    )
    return Changes(
        current_period="2026-09",
        previous_period="2026-08",
        first_seen=first_seen,
        new=new,
        resolved=resolved,
        persisting=persisting,
        per_rule=per_rule,
        trend=trend,
    )


# The golden files use only these rules, so that the growing catalogue does not churn them.
GOLDEN_RULE_IDS = ("MAC-FV-001", "MAC-SYN-001", "MAC-SYN-002")


def golden_rules() -> list[Rule]:
    return [r for r in ALL_RULES if r.id in GOLDEN_RULE_IDS]


def results_for(
    inv: Inventory,
    rules: Sequence[Rule] = ALL_RULES,
    params: dict[str, dict[str, Param]] | None = None,
):
    ctx = EvaluationContext(AS_OF, load_catalogue(), params or {})
    results = evaluate(rules, inv.frames(), ctx)
    return apply_waivers(results, inv.frames(), waivers(), AS_OF)


def make_report(
    *,
    with_changes: bool = True,
    core_gap: bool = False,
    gaps: bool = True,
    stale: bool = False,
    cap: int = 25,
    rules: Sequence[Rule] = ALL_RULES,
    params: dict[str, dict[str, Param]] | None = None,
) -> Report:
    inv = inventory(core_gap=core_gap, gaps=gaps)
    outcome = results_for(inv, rules, params)
    return build_report(
        outcome.results,
        inv,
        rules,
        outcome.uses,
        meta(stale=stale),
        changes() if with_changes else None,
        pdf_devices_per_rule=cap,
        params=params,
    )


def generated_at(report: Report, when: dt.datetime) -> Report:
    """The same report, as if generated at `when` (everything else unchanged)."""
    meta = dataclasses.replace(report.run.meta, generated_at=when)
    return dataclasses.replace(report, run=dataclasses.replace(report.run, meta=meta))
