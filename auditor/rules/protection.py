"""MAC-FV and MAC-CMP: FileVault and Intune's own compliance verdict."""

from __future__ import annotations

import pandas as pd

from auditor.models import Entity, Severity, Status
from auditor.rules import references as ref
from auditor.rules.base import Example, RuleContext, per_value, rule

_COMPLIANCE_VERDICT = {
    "compliant": True,
    "noncompliant": False,
    "conflict": False,
    "error": False,
    "inGracePeriod": False,
}
_COMPLIANCE_WORDS = {
    "noncompliant": "noncompliant",
    "conflict": "in conflict (policies disagree)",
    "error": "in error",
    "inGracePeriod": "noncompliant, in its grace period",
}


@rule(
    id="MAC-FV-001",
    problem="Macs with FileVault off",
    title="FileVault is on",
    severity=Severity.HIGH,
    entity=Entity.DEVICE,
    requires=("is_encrypted",),
    fails_when="`is_encrypted` is false",
    detail=lambda devices, ctx: pd.Series(
        "Intune reports the startup disk is not encrypted", index=devices.index
    ),
    rationale=(
        "Without FileVault anyone holding a lost or stolen Mac can read its disk; Intune can "
        "only escrow and rotate the recovery key of a Mac it encrypted under management."
    ),
    remediation=(
        "Assign an endpoint security disk encryption policy (Endpoint security > Disk "
        "encryption > macOS > FileVault) with 'Enable' and recovery key escrow; check the "
        "Encryption report (Devices > Monitor > Encryption report). On the Mac, "
        "`fdesetup status` shows the state."
    ),
    references=(ref.MS_FV, ref.MSCP_FILEVAULT_ENFORCE),
    sources=("MS-FV", "MSCP"),
    controls={
        "NIST 800-53": ("SC-28", "SC-28(1)"),
        "mSCP": ("system_settings_filevault_enforce",),
        "CIS macOS": ("2.6.6",),
        "CIS Controls v8": ("3.6",),
        "ISO/IEC 27001:2022": ("A.8.24",),
        "SOC 2": ("CC6.1",),
    },
    own_mappings=("ISO/IEC 27001:2022", "SOC 2"),
    examples=(
        Example("pass-filevault-on", {"is_encrypted": True}, Status.PASS),
        Example("fail-filevault-off", {"is_encrypted": False}, Status.FAIL),
        Example("unknown-not-reported", {"is_encrypted": None}, Status.UNKNOWN),
    ),
)
def filevault_on(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return devices["is_encrypted"]


@rule(
    id="MAC-CMP-001",
    problem="Macs Intune reports not compliant",
    title="Intune reports the Mac compliant",
    severity=Severity.MEDIUM,
    entity=Entity.DEVICE,
    requires=("has_user_affinity", "compliance_state"),
    scope=lambda devices, ctx: devices["has_user_affinity"].astype("boolean"),
    scope_text="Macs with user affinity (Intune evaluates compliance only for those)",
    fails_when=(
        "`compliance_state` is noncompliant, conflict, error or inGracePeriod (unknown and "
        "configManager are no verdict: unknown)"
    ),
    detail=lambda devices, ctx: per_value(
        devices["compliance_state"],
        lambda state: f"Intune reports the Mac {_COMPLIANCE_WORDS.get(str(state), state)}",
        "string",
    ),
    rationale=(
        "Intune's compliance verdict is what Conditional Access acts on. A noncompliant Mac "
        "breaks a policy requirement, a Mac in conflict or error is not reliably evaluated, "
        "and one in its grace period will be blocked when the grace period ends."
    ),
    remediation=(
        "Open Devices > macOS > the device > Device compliance to see which setting fails and "
        "fix it on the Mac or in the policy; remove overlapping policies that conflict. The "
        "user can re-evaluate with Check status in Company Portal."
    ),
    references=(ref.MS_COMPL,),
    sources=("MS-COMPL",),
    controls={"NIST 800-53": ("CA-7",), "ISO/IEC 27001:2022": ("A.8.1",), "SOC 2": ("CC7.1",)},
    own_mappings=("NIST 800-53", "ISO/IEC 27001:2022", "SOC 2"),
    examples=(
        Example(
            "pass-compliant",
            {"has_user_affinity": True, "compliance_state": "compliant"},
            Status.PASS,
        ),
        Example(
            "fail-noncompliant",
            {"has_user_affinity": True, "compliance_state": "noncompliant"},
            Status.FAIL,
        ),
        Example(
            "fail-in-grace-period",
            {"has_user_affinity": True, "compliance_state": "inGracePeriod"},
            Status.FAIL,
        ),
        Example(
            "unknown-state-unknown",
            {"has_user_affinity": True, "compliance_state": "unknown"},
            Status.UNKNOWN,
        ),
        Example(
            "na-userless",
            {"has_user_affinity": False, "compliance_state": "compliant"},
            Status.NOT_APPLICABLE,
        ),
    ),
)
def intune_reports_compliant(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return per_value(devices["compliance_state"], _COMPLIANCE_VERDICT.get, "boolean")
