"""MAC-POL: whether Intune's "compliant" means anything for Macs (policy coverage).

MAC-CMP-001 trusts the compliance state Intune reports; these rules check what stands behind
it: Macs without a policy are not compliant by default (MAC-POL-001), an assigned macOS policy
requires FileVault (MAC-POL-002) and sets a supported minimum macOS (MAC-POL-003).
"""

from __future__ import annotations

import pandas as pd

from auditor.models import Entity, Severity, Status
from auditor.refdata.versions import parse_macos_version, version_key
from auditor.rules import references as ref
from auditor.rules.base import Example, RuleContext, per_row, per_value, rule
from auditor.rules.os import intune_floor

_SETTINGS_PATH = (
    "Devices > Compliance > Compliance settings > Mark devices with no compliance policy "
    "assigned as"
)


@rule(
    id="MAC-POL-001",
    problem="Macs without an assigned compliance policy are marked compliant",
    title="Macs without an assigned compliance policy are marked not compliant",
    severity=Severity.HIGH,
    entity=Entity.TENANT,
    requires=("secure_by_default",),
    scope_text="the tenant (its compliance policy settings)",
    fails_when="`deviceManagement.settings.secureByDefault` is false",
    detail=lambda tenant, ctx: pd.Series(
        f"a Mac no compliance policy is assigned to is marked compliant ({_SETTINGS_PATH}: "
        "Compliant), so Conditional Access lets it through unchecked",
        index=tenant.index,
    ),
    rationale=(
        "With the built-in setting on Compliant, every Mac that no compliance policy reaches "
        "(a group left out of an assignment, a new Mac before its groups resolve) reports "
        "compliant without anything having been checked, and compliance-based Conditional "
        "Access grants it access. Not compliant makes a missing policy visible and blocking."
    ),
    remediation=(
        f"Set {_SETTINGS_PATH} to Not compliant. First make sure every Mac group has a macOS "
        "compliance policy (MAC-POL-002), or those Macs lose access at once."
    ),
    references=(ref.MS_COMPL_SETTINGS, ref.GRAPH_DM_SETTINGS, ref.GRAPH_DM_GET),
    sources=("MS-COMPL", "MS-GRAPH"),
    controls={
        "CIS Microsoft 365 Foundations": ("4.1",),
        "NIST 800-53": ("AC-19", "CM-6"),
        "ISO/IEC 27001:2022": ("A.8.1",),
    },
    own_mappings=("NIST 800-53", "ISO/IEC 27001:2022"),
    examples=(
        Example("pass-not-compliant-by-default", {"secure_by_default": True}, Status.PASS),
        Example("fail-compliant-by-default", {"secure_by_default": False}, Status.FAIL),
        Example("unknown-not-collected", {"secure_by_default": None}, Status.UNKNOWN),
    ),
)
def no_policy_means_not_compliant(tenant: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return tenant["secure_by_default"]


def _filevault_detail(tenant: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    def describe(policies: int | None, filevault: int | None) -> str:
        if policies == 0:
            return "no macOS compliance policy exists"
        if filevault == 0:
            return f"none of the {policies} macOS compliance policies requires FileVault"
        counted = f" ({filevault} of {policies} macOS compliance policies)" if policies else ""
        return f"the policies that require FileVault{counted} are not assigned"

    columns = ["macos_compliance_policies", "filevault_policies"]
    return per_row(tenant[columns], describe, "string")


@rule(
    id="MAC-POL-002",
    problem="No assigned macOS compliance policy requires FileVault",
    title="A macOS compliance policy requiring FileVault is assigned",
    severity=Severity.HIGH,
    entity=Entity.TENANT,
    requires=("filevault_policy_assigned", "macos_compliance_policies", "filevault_policies"),
    nullable=("macos_compliance_policies", "filevault_policies"),
    scope_text="the tenant (its macOS compliance policies and their assignments)",
    fails_when=(
        "no `macOSCompliancePolicy` with `storageRequireEncryption` true has an assignment "
        "that includes a target (exclusions alone do not count)"
    ),
    detail=_filevault_detail,
    rationale=(
        "MAC-FV-001 reads FileVault from inventory once a month; a compliance policy that "
        "requires it makes an unencrypted Mac noncompliant within hours, so Conditional Access "
        "keeps company data off it. Without an assigned policy requiring encryption, "
        "'compliant' says nothing about FileVault."
    ),
    remediation=(
        "In Devices > Compliance > Create policy > macOS, set System Security > Encryption of "
        "data storage on device to Require, and assign the policy to the groups holding your "
        "Macs (users or devices). Escrow recovery keys with a FileVault disk encryption policy."
    ),
    references=(
        ref.MS_COMPL,
        ref.MS_COMPL_CREATE,
        ref.GRAPH_MACOS_COMPLIANCE,
        ref.GRAPH_COMPLIANCE_LIST,
        ref.GRAPH_COMPLIANCE_ASSIGNMENTS,
    ),
    sources=("MS-COMPL", "MS-FV", "MS-GRAPH"),
    controls={
        "NIST 800-53": ("SC-28", "CM-6"),
        "CIS Controls v8": ("3.6",),
        "ISO/IEC 27001:2022": ("A.8.1", "A.8.24"),
    },
    own_mappings=("NIST 800-53", "CIS Controls v8", "ISO/IEC 27001:2022"),
    examples=(
        Example(
            "pass-assigned",
            {
                "filevault_policy_assigned": True,
                "macos_compliance_policies": 2,
                "filevault_policies": 1,
            },
            Status.PASS,
        ),
        Example(
            "fail-not-assigned",
            {
                "filevault_policy_assigned": False,
                "macos_compliance_policies": 2,
                "filevault_policies": 1,
            },
            Status.FAIL,
        ),
        Example(
            "fail-no-macos-policy",
            {
                "filevault_policy_assigned": False,
                "macos_compliance_policies": 0,
                "filevault_policies": 0,
            },
            Status.FAIL,
        ),
        Example(
            "unknown-assignments-not-collected",
            {
                "filevault_policy_assigned": None,
                "macos_compliance_policies": 2,
                "filevault_policies": 1,
            },
            Status.UNKNOWN,
        ),
    ),
)
def filevault_policy_assigned(tenant: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return tenant["filevault_policy_assigned"]


def _minimum_key(version: str | None) -> int | None:
    parsed = parse_macos_version(version) if version else None
    return parsed.key if parsed else None


def _minimum_supported(policies: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    floor = version_key(intune_floor(ctx)[0])
    keys = per_value(policies["os_minimum_version"], _minimum_key, "Int64")
    at_floor = (keys >= floor).astype("boolean")  # NA: a minimum that is not a version
    return at_floor.where(policies["sets_os_minimum"].astype(bool), False)


def _minimum_detail(policies: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    floor = "macOS {} and later ({})".format(*intune_floor(ctx))

    def describe(minimum: str | None, name: str | None) -> str:
        label = f"'{name}'" if name else "the policy"
        if minimum is None:
            return f"{label} sets no minimum macOS version; Intune supports {floor}"
        return f"{label} accepts macOS {minimum}; Intune supports {floor}"

    return per_row(policies[["os_minimum_version", "policy_name"]], describe, "string")


@rule(
    id="MAC-POL-003",
    problem="A macOS compliance policy's minimum OS is not supported",
    title="The macOS compliance policy's minimum OS is supported",
    severity=Severity.MEDIUM,
    entity=Entity.COMPLIANCE_POLICY,
    requires=("is_assigned", "sets_os_minimum", "os_minimum_version", "policy_name"),
    nullable=("os_minimum_version", "policy_name"),
    scope=lambda policies, ctx: policies["is_assigned"].astype("boolean"),
    scope_text="each assigned macOS compliance policy",
    fails_when=(
        "`osMinimumVersion` is not set or below Intune's supported minimum major (reference "
        "data; `intune_min_major` overrides it, empty = catalogue)"
    ),
    params={"intune_min_major": ""},
    detail=_minimum_detail,
    rationale=(
        "The minimum OS version of a compliance policy is what turns an outdated Mac "
        "noncompliant and keeps it from company data. A policy without one, or with a floor "
        "below what Intune supports, calls Macs compliant that Microsoft no longer supports and "
        "Apple may no longer patch."
    ),
    remediation=(
        "Edit the policy: Devices > Compliance > the macOS policy > Properties > Device "
        "Properties > Minimum OS version, at least Intune's supported minimum (MAC-OS-001 lists "
        "the Macs below it); raise it with each new macOS major. Minimum OS build can add the "
        "latest security update."
    ),
    references=(ref.MS_COMPL, ref.MS_SUPP, ref.GRAPH_MACOS_COMPLIANCE),
    sources=("MS-COMPL", "MS-SUPP", "MS-GRAPH"),
    controls={
        "NIST 800-53": ("SI-2", "CM-6"),
        "CIS Controls v8": ("7.3",),
        "ISO/IEC 27001:2022": ("A.8.8",),
    },
    own_mappings=("NIST 800-53", "CIS Controls v8", "ISO/IEC 27001:2022"),
    examples=(
        Example(
            "pass-minimum-14",
            {"is_assigned": True, "sets_os_minimum": True, "os_minimum_version": "14.0"},
            Status.PASS,
        ),
        Example(
            "fail-minimum-13",
            {"is_assigned": True, "sets_os_minimum": True, "os_minimum_version": "13.6"},
            Status.FAIL,
        ),
        Example(
            "fail-no-minimum",
            {"is_assigned": True, "sets_os_minimum": False, "os_minimum_version": None},
            Status.FAIL,
        ),
        Example(
            "unknown-minimum-unreadable",
            {"is_assigned": True, "sets_os_minimum": True, "os_minimum_version": "latest"},
            Status.UNKNOWN,
        ),
        Example(
            "unknown-assignments-not-collected",
            {"is_assigned": None, "sets_os_minimum": True, "os_minimum_version": "14.0"},
            Status.UNKNOWN,
        ),
        Example(
            "na-not-assigned",
            {"is_assigned": False, "sets_os_minimum": False, "os_minimum_version": None},
            Status.NOT_APPLICABLE,
        ),
    ),
)
def policy_minimum_supported(policies: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return _minimum_supported(policies, ctx)
