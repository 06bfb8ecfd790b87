"""MAC-ENR: how each Mac is enrolled, approved and supervised."""

from __future__ import annotations

import pandas as pd

from auditor.models import Entity, Severity, Status
from auditor.rules import references as ref
from auditor.rules.base import Example, RuleContext, at_least, is_one_of, per_row, per_value, rule
from auditor.rules.phrases import method_words

_BYOD_CUTOFF = pd.Timestamp("2020-06-01", tz="UTC")
_UTC = "UTC"


def _not_approved_detail(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return per_row(
        devices[["enrollment_method"]],
        lambda method: f"user approval: No (enrolled through {method_words(method)})",
        "string",
    )


@rule(
    id="MAC-ENR-001",
    problem="Macs whose MDM enrollment is not user-approved",
    title="MDM enrollment is user-approved",
    severity=Severity.HIGH,
    entity=Entity.DEVICE,
    requires=("user_approved", "enrollment_method"),
    nullable=("user_approved", "enrollment_method"),
    fails_when=(
        "`user_approved` is false and the Mac was not enrolled through ADE (ADE enrollments "
        "count as user-approved even when the approval flag is not reported)"
    ),
    detail=_not_approved_detail,
    rationale=(
        "Without user approval macOS rejects security-sensitive payloads and commands: kernel "
        "and system extensions, privacy (PPPC) preferences, FileVault management. Policies "
        "then look assigned in Intune but never apply. Apple counts Automated Device "
        "Enrollment as approved; scripts, automation and screen sharing cannot approve."
    ),
    remediation=(
        "Have the user approve the management profile on the Mac: System Settings > General > "
        "Device Management (Privacy & Security > Profiles on macOS 13, System Preferences > "
        "Profiles before). `profiles status -type enrollment` must report 'MDM enrollment: "
        "Yes (User Approved)'; Intune shows it under Devices > macOS > the device > Hardware > "
        "User approved enrollment. Company Macs assigned in Apple Business Manager can "
        "re-enroll through ADE with `sudo profiles renew -type enrollment`."
    ),
    references=(ref.MS_ENR, ref.AP_UAMDM, ref.MSCP_MDM_REQUIRE),
    sources=("MS-ENR", "AP-UAMDM", "MS-EXPORT", "MSCP"),
    controls={
        "NIST 800-53": ("CM-2", "CM-6"),
        "mSCP": ("os_mdm_require",),
        "CIS macOS": ("1.8 (macOS 14, 15)", "1.7 (macOS 26)"),
        "CIS Controls v8": ("4.1",),
        "ISO/IEC 27001:2022": ("A.8.1", "A.8.9"),
        "SOC 2": ("CC6.8",),
    },
    own_mappings=("CIS Controls v8", "ISO/IEC 27001:2022", "SOC 2"),
    examples=(
        Example("pass-approved", {"user_approved": True, "enrollment_method": "byod"}, Status.PASS),
        Example(
            "pass-ade-approval-not-reported",
            {"user_approved": None, "enrollment_method": "ade"},
            Status.PASS,
        ),
        Example(
            "fail-not-approved", {"user_approved": False, "enrollment_method": "byod"}, Status.FAIL
        ),
        Example(
            "unknown-approval-not-reported",
            {"user_approved": None, "enrollment_method": "direct"},
            Status.UNKNOWN,
        ),
        Example(
            "unknown-not-approved-method-unknown",
            {"user_approved": False, "enrollment_method": "unknown"},
            Status.UNKNOWN,
        ),
    ),
)
def enrollment_user_approved(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return devices["user_approved"].astype("boolean") | is_one_of(
        devices["enrollment_method"], "ade"
    )


def _personal_or_byod(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    in_scope = is_one_of(devices["ownership"], "personal") | is_one_of(
        devices["enrollment_method"], "byod"
    )
    # Undecidable ownership cannot matter for a Mac enrolled after May 2020: it passes
    # either way, so it is left out of scope rather than reported unknown.
    recent = (devices["enrolled_at"] >= _BYOD_CUTOFF).astype("boolean").fillna(False)
    return in_scope.mask(in_scope.isna() & recent, False)


def _legacy_byod_detail(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    def describe(enrolled_at: pd.Timestamp, approved: bool | None) -> str:
        state = "not reported" if approved is None else "No"
        return f"enrolled {enrolled_at:%Y-%m-%d}, before June 2020; user approval: {state}"

    frame = pd.DataFrame(
        {"day": devices["enrolled_at"].dt.floor("D"), "approved": devices["user_approved"]}
    )
    return per_row(frame, describe, "string")


@rule(
    id="MAC-ENR-002",
    problem="Macs on a pre-June-2020 BYOD enrollment without user approval",
    title="No pre-June-2020 BYOD enrollment without user approval",
    severity=Severity.MEDIUM,
    entity=Entity.DEVICE,
    requires=("ownership", "enrollment_method", "enrolled_at", "user_approved"),
    nullable=("ownership", "enrollment_method", "user_approved"),
    scope=_personal_or_byod,
    scope_text=(
        "personal Macs and Company Portal (BYOD) enrollments; a Mac whose ownership and "
        "method are unknown is in scope only if it enrolled before June 2020"
    ),
    fails_when=(
        "`enrolled_at` is before 2020-06-01 and `user_approved` is not true; a missing "
        "approval flag fails too, because only a reported approval clears an enrollment Intune "
        "itself says may not be user-approved"
    ),
    detail=_legacy_byod_detail,
    rationale=(
        "Microsoft warns that BYOD enrollments made before June 2020 may not be user-approved. "
        "Such Macs silently refuse security-sensitive payloads (extensions, privacy "
        "preferences, FileVault) and, after an upgrade to macOS 11, may stay unsupervised."
    ),
    remediation=(
        "Check Devices > macOS > the device > Hardware > User approved enrollment. If it is "
        "not Yes, have the user approve the management profile (System Settings > General > "
        "Device Management) or retire the device and re-enroll it through Company Portal "
        "(aka.ms/EnrollMyMac)."
    ),
    references=(ref.MS_ENR, ref.AP_UAMDM),
    sources=("MS-ENR", "AP-UAMDM", "AP-SUPV"),
    controls={
        "NIST 800-53": ("CM-6",),
        "CIS Controls v8": ("4.1",),
        "ISO/IEC 27001:2022": ("A.8.1",),
    },
    own_mappings=("NIST 800-53", "CIS Controls v8", "ISO/IEC 27001:2022"),
    examples=(
        Example(
            "pass-old-byod-approved",
            {
                "ownership": "personal",
                "enrollment_method": "byod",
                "enrolled_at": pd.Timestamp("2019-03-04", tz=_UTC),
                "user_approved": True,
            },
            Status.PASS,
        ),
        Example(
            "pass-byod-enrolled-june-2020",
            {
                "ownership": "personal",
                "enrollment_method": "byod",
                "enrolled_at": pd.Timestamp("2020-06-01", tz=_UTC),
                "user_approved": None,
            },
            Status.PASS,
        ),
        Example(
            "fail-old-byod-not-approved",
            {
                "ownership": "personal",
                "enrollment_method": "byod",
                "enrolled_at": pd.Timestamp("2020-05-31 23:00", tz=_UTC),
                "user_approved": False,
            },
            Status.FAIL,
        ),
        Example(
            "fail-old-byod-approval-not-reported",
            {
                "ownership": "corporate",
                "enrollment_method": "byod",
                "enrolled_at": pd.Timestamp("2019-11-20", tz=_UTC),
                "user_approved": None,
            },
            Status.FAIL,
        ),
        Example(
            "unknown-enrollment-date-missing",
            {
                "ownership": "personal",
                "enrollment_method": "byod",
                "enrolled_at": None,
                "user_approved": None,
            },
            Status.UNKNOWN,
        ),
        Example(
            "unknown-old-mac-ownership-unknown",
            {
                "ownership": "unknown",
                "enrollment_method": None,
                "enrolled_at": pd.Timestamp("2019-01-10", tz=_UTC),
                "user_approved": False,
            },
            Status.UNKNOWN,
        ),
        Example(
            "na-corporate-ade",
            {
                "ownership": "corporate",
                "enrollment_method": "ade",
                "enrolled_at": pd.Timestamp("2019-01-10", tz=_UTC),
                "user_approved": None,
            },
            Status.NOT_APPLICABLE,
        ),
        Example(
            "na-recent-ownership-unknown",
            {
                "ownership": "unknown",
                "enrollment_method": None,
                "enrolled_at": pd.Timestamp("2024-01-10", tz=_UTC),
                "user_approved": None,
            },
            Status.NOT_APPLICABLE,
        ),
    ),
)
def legacy_byod_user_approved(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    recent = devices["enrolled_at"] >= _BYOD_CUTOFF
    return recent | devices["user_approved"].astype("boolean").fillna(False)


@rule(
    id="MAC-ENR-003",
    problem="Macs on macOS 11 or later that are not supervised",
    title="Mac on macOS 11 or later is supervised",
    severity=Severity.MEDIUM,
    entity=Entity.DEVICE,
    requires=("os_version_key", "os_version", "is_supervised"),
    scope=lambda devices, ctx: at_least(devices["os_version_key"], "11"),
    scope_text="macOS 11 or later",
    fails_when="`is_supervised` is false",
    detail=lambda devices, ctx: per_value(
        devices["os_version"], lambda version: f"not supervised on macOS {version}", "string"
    ),
    rationale=(
        "Supervision unlocks bootstrap token use, scheduled software updates, Activation Lock "
        "bypass and local user management. Intune supervises user-approved Macs on macOS 11 "
        "and later automatically, so an unsupervised one was typically enrolled before macOS "
        "11 without a local administrator's approval and has not been fixed since."
    ),
    remediation=(
        "Re-enroll the Mac so that macOS grants supervision: company Macs through Automated "
        "Device Enrollment (assign the serial in Apple Business Manager, then `sudo profiles "
        "renew -type enrollment`), others by removing the management profile and enrolling "
        "again through Company Portal with a local administrator approving the profile. "
        "Verify under Devices > macOS > the device > Hardware > Supervised."
    ),
    references=(ref.MS_ENR, ref.AP_SUPV),
    sources=("MS-ENR", "AP-SUPV", "MSCP"),
    controls={"NIST 800-53": ("CM-6",), "ISO/IEC 27001:2022": ("A.8.9",)},
    own_mappings=("NIST 800-53", "ISO/IEC 27001:2022"),
    examples=(
        Example("pass-supervised", {"os_version": "14.8.9", "is_supervised": True}, Status.PASS),
        Example("fail-unsupervised", {"os_version": "11.0.1", "is_supervised": False}, Status.FAIL),
        Example(
            "unknown-not-reported", {"os_version": "15.7.9", "is_supervised": None}, Status.UNKNOWN
        ),
        Example("unknown-os-missing", {"os_version": None, "is_supervised": False}, Status.UNKNOWN),
        Example(
            "na-catalina", {"os_version": "10.15.7", "is_supervised": False}, Status.NOT_APPLICABLE
        ),
    ),
)
def supervised_on_macos_11(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return devices["is_supervised"]


@rule(
    id="MAC-ENR-004",
    problem="Corporate Macs not enrolled through Automated Device Enrollment",
    title="Corporate Mac is enrolled through Automated Device Enrollment",
    severity=Severity.MEDIUM,
    entity=Entity.DEVICE,
    requires=("ownership", "enrollment_method"),
    scope=lambda devices, ctx: is_one_of(devices["ownership"], "corporate"),
    scope_text="corporate-owned Macs",
    fails_when="`enrollment_method` is not `ade`",
    detail=lambda devices, ctx: per_row(
        devices[["enrollment_method"]],
        lambda method: f"corporate Mac enrolled through {method_words(method)}",
        "string",
    ),
    rationale=(
        "Automated Device Enrollment ties the Mac to the organisation in Apple Business "
        "Manager: it is supervised from the first boot, the management profile can be locked, "
        "a wiped or stolen Mac re-enrolls by itself, and LAPS and account settings work. Other "
        "methods leave a company Mac removable and, for BYOD flows, user-owned in practice."
    ),
    remediation=(
        "Have the reseller or Apple Configurator add the serial to Apple Business Manager, "
        "assign it to the Intune MDM server and to an enrollment profile (Devices > Enrollment "
        "> Apple > Enrollment program tokens > the token > Profiles). Enrolled Macs move to "
        "ADE with `sudo profiles renew -type enrollment` (macOS 10.13+); locked enrollment and "
        "LAPS need a wipe and a fresh Setup Assistant."
    ),
    references=(ref.MS_ADE, ref.MS_ADE_OVERVIEW, ref.MS_ENR),
    sources=("MS-ADE", "MS-ENR"),
    controls={
        "NIST 800-53": ("CM-8", "CM-6"),
        "CIS Controls v8": ("1.1", "4.1"),
        "ISO/IEC 27001:2022": ("A.5.9", "A.8.1"),
    },
    own_mappings=("NIST 800-53", "CIS Controls v8", "ISO/IEC 27001:2022"),
    examples=(
        Example("pass-ade", {"ownership": "corporate", "enrollment_method": "ade"}, Status.PASS),
        Example(
            "fail-direct", {"ownership": "corporate", "enrollment_method": "direct"}, Status.FAIL
        ),
        Example(
            "fail-company-portal",
            {"ownership": "corporate", "enrollment_method": "byod"},
            Status.FAIL,
        ),
        Example(
            "unknown-method",
            {"ownership": "corporate", "enrollment_method": "unknown"},
            Status.UNKNOWN,
        ),
        Example(
            "unknown-ownership", {"ownership": None, "enrollment_method": "byod"}, Status.UNKNOWN
        ),
        Example(
            "na-personal",
            {"ownership": "personal", "enrollment_method": "byod"},
            Status.NOT_APPLICABLE,
        ),
    ),
)
def corporate_mac_uses_ade(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return is_one_of(devices["enrollment_method"], "ade")


@rule(
    id="MAC-ENR-005",
    problem="Macs enrolled with a device enrollment manager account",
    title="Mac is not enrolled with a device enrollment manager account",
    severity=Severity.LOW,
    entity=Entity.DEVICE,
    requires=("enrollment_method", "enrolled_by_upn"),
    nullable=("enrolled_by_upn",),
    fails_when=(
        "`enrollment_method` is `dem` (no Entra registration, no Conditional Access on macOS)"
    ),
    detail=lambda devices, ctx: per_row(
        devices[["enrolled_by_upn"]],
        lambda upn: (
            "enrolled with the device enrollment manager account "
            + (upn or "(account not reported)")
        ),
        "string",
    ),
    rationale=(
        "Macs enrolled with a device enrollment manager (DEM) account have no user affinity, "
        "cannot register in Microsoft Entra ID and so get no Conditional Access decisions on "
        "macOS; DEM cannot be combined with Automated Device Enrollment."
    ),
    remediation=(
        "Re-enroll the Mac the way its use calls for: Automated Device Enrollment for company "
        "Macs, Company Portal for a person's Mac. Keep DEM for shared Macs that need no user "
        "identity and record them with a waiver. DEM accounts are listed under Devices > "
        "Enrollment > Device enrollment managers; do not delete one that still has devices."
    ),
    references=(ref.MS_DEM, ref.MS_ENR),
    sources=("MS-DEM", "MS-ENR"),
    controls={"NIST 800-53": ("AC-19",), "ISO/IEC 27001:2022": ("A.8.1",)},
    own_mappings=("NIST 800-53", "ISO/IEC 27001:2022"),
    examples=(
        Example("pass-ade", {"enrollment_method": "ade"}, Status.PASS),
        Example(
            "fail-dem",
            {"enrollment_method": "dem", "enrolled_by_upn": "dem01@contoso.example"},
            Status.FAIL,
        ),
        Example("unknown-method", {"enrollment_method": "unknown"}, Status.UNKNOWN),
        Example("unknown-not-reported", {"enrollment_method": None}, Status.UNKNOWN),
    ),
)
def not_enrolled_by_dem(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return ~is_one_of(devices["enrollment_method"], "dem")


@rule(
    id="MAC-ENR-006",
    problem="Macs whose compliance Intune does not evaluate",
    title="Intune evaluates compliance for the Mac",
    severity=Severity.INFO,
    entity=Entity.DEVICE,
    requires=("has_user_affinity", "enrollment_method"),
    nullable=("enrollment_method",),
    fails_when="the Mac has no user affinity (userless ADE, direct enrollment)",
    detail=lambda devices, ctx: per_row(
        devices[["enrollment_method"]],
        lambda method: (
            f"no user affinity (enrolled through {method_words(method)}): "
            "Intune does not evaluate compliance policies on this Mac"
        ),
        "string",
    ),
    rationale=(
        "Intune does not evaluate compliance for userless macOS devices, so their compliance "
        "state is no evidence of anything: minimum OS, FileVault and firewall requirements "
        "are never checked and Conditional Access cannot use them."
    ),
    remediation=(
        "Give Macs that belong to a person user affinity (an ADE enrollment profile with user "
        "affinity and Setup Assistant with modern authentication, then a Company Portal "
        "sign-in). For shared or kiosk Macs, rely on configuration profiles and this audit "
        "instead, and record that decision with a waiver."
    ),
    references=(ref.MS_COMPL, ref.MS_DIRECT, ref.MS_ADE),
    sources=("MS-COMPL", "MS-DIRECT", "MS-ADE"),
    controls={"NIST 800-53": ("CA-7",), "ISO/IEC 27001:2022": ("A.8.1",)},
    own_mappings=("NIST 800-53", "ISO/IEC 27001:2022"),
    examples=(
        Example(
            "pass-user-affinity",
            {"has_user_affinity": True, "enrollment_method": "ade"},
            Status.PASS,
        ),
        Example(
            "fail-userless-ade",
            {"has_user_affinity": False, "enrollment_method": "ade"},
            Status.FAIL,
        ),
        Example(
            "fail-direct", {"has_user_affinity": False, "enrollment_method": "direct"}, Status.FAIL
        ),
        Example("unknown-affinity-not-reported", {"has_user_affinity": None}, Status.UNKNOWN),
    ),
)
def compliance_evaluated(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return devices["has_user_affinity"]
