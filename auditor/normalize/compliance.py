"""Compliance coverage: the macOS compliance policies, their assignments, the tenant's settings.

Graph v1.0 `deviceCompliancePolicies` (only `#microsoft.graph.macOSCompliancePolicy` records
are kept; the others are counted), their `assignments`, and `deviceManagement.settings`
(`secureByDefault`: what Intune calls a device no policy is assigned to). A policy whose
assignments were not collected is NA for `is_assigned`, never "unassigned".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from auditor.models import Problem, QualityNote, RawBatch, SourceGap
from auditor.normalize.dates import datetime_column
from auditor.normalize.schema import COMPLIANCE_POLICY_SCHEMA, NOT_COLLECTED, conform
from auditor.normalize.tenant import _column, _records
from auditor.normalize.values import boolean_column

SETTINGS, POLICIES, ASSIGNMENTS = (
    "compliance_settings", "compliance_policies", "compliance_assignments"
)  # fmt: skip
_MACOS_TYPE = "macoscompliancepolicy"
_MORE = "AdditionalProperties."  # where the PowerShell SDK puts a derived type's members
_TARGETS = {  # target @odata.type (last part, case-folded) → what it reads as
    "alldevicesassignmenttarget": "all devices",
    "alllicensedusersassignmenttarget": "all users",
    "groupassignmenttarget": "group",
    "exclusiongroupassignmenttarget": "excluded group",
    "configurationmanagercollectionassignmenttarget": "Configuration Manager collection",
}


def _member(records: pd.DataFrame, name: str) -> pd.Series:
    return _column(records, name, _MORE + name)


def compliance_policy_frame(
    batches: Sequence[RawBatch], gaps: Sequence[SourceGap], notes: list[QualityNote]
) -> pd.DataFrame:
    """One row per macOS compliance policy, by name; `(not collected)` stands for a gap."""
    missing = {g.part for g in gaps}
    records = _records(batches, POLICIES)
    frame = pd.DataFrame({"policy_id": pd.Series([], dtype="string")})
    if len(records):
        records = _macos_only(records, notes)
        minimum = _member(records, "osMinimumVersion").str.strip()
        minimum = minimum.mask(minimum == "")
        frame = pd.DataFrame(
            {
                "policy_id": _column(records, "id"),
                "policy_name": _column(records, "displayName"),
                "requires_filevault": _flag(records, "storageRequireEncryption"),
                "sets_os_minimum": minimum.notna().astype("boolean"),
                "os_minimum_version": minimum,
                "os_maximum_version": _member(records, "osMaximumVersion"),
                "os_minimum_build": _member(records, "osMinimumBuildVersion"),
                "requires_sip": _flag(records, "systemIntegrityProtectionEnabled"),
                "firewall_enabled": _flag(records, "firewallEnabled"),
                "modified_at": datetime_column(_column(records, "lastModifiedDateTime")).values,
            }
        ).dropna(subset=["policy_id"])
        assignments = _assignments(batches, ASSIGNMENTS in missing)
        frame = frame.merge(assignments, on="policy_id", how="left")
        if ASSIGNMENTS not in missing:  # every policy's assignments were listed: none means none
            frame["is_assigned"] = frame["is_assigned"].astype("boolean").fillna(False)
        frame = frame.drop_duplicates("policy_id").sort_values(["policy_name", "policy_id"])
    if POLICIES in missing:
        frame = pd.concat([frame, pd.DataFrame({"policy_id": [NOT_COLLECTED]})])
    return conform(frame, COMPLIANCE_POLICY_SCHEMA)


def compliance_columns(
    batches: Sequence[RawBatch], policies: pd.DataFrame, gaps: Sequence[SourceGap]
) -> dict[str, Any]:
    """The tenant row's compliance facts: settings, policy counts, FileVault coverage."""
    missing = {g.part for g in gaps}
    row: dict[str, Any] = {}
    settings = _records(batches, SETTINGS)
    if len(settings):
        secure = _column(settings, "settings.secureByDefault", "secureByDefault")
        days = _column(settings, "settings.deviceComplianceCheckinThresholdDays",
                       "deviceComplianceCheckinThresholdDays")  # fmt: skip
        row["secure_by_default"] = boolean_column(secure).values.iloc[0]
        row["compliance_validity_days"] = pd.to_numeric(days, errors="coerce").iloc[0]
    real = policies[policies["policy_id"] != NOT_COLLECTED]
    assigned = real["is_assigned"]
    filevault = real["requires_filevault"].fillna(False).to_numpy(dtype=bool)
    if POLICIES not in missing:
        row["macos_compliance_policies"] = len(real)
        row["filevault_policies"] = int(filevault.sum())
        if assigned.notna().all():
            row["macos_compliance_policies_assigned"] = int(assigned.sum())
    covered = (assigned[filevault] == True).any()  # noqa: E712
    if covered:
        row["filevault_policy_assigned"] = True
    elif POLICIES not in missing and assigned[filevault].notna().all():
        row["filevault_policy_assigned"] = False
    return row


def _flag(records: pd.DataFrame, name: str) -> pd.Series:
    return boolean_column(_member(records, name)).values


def _macos_only(records: pd.DataFrame, notes: list[QualityNote]) -> pd.DataFrame:
    """The macOS policies: by @odata.type, else by a member only macOS policies have."""
    type_name = _member(records, "@odata.type").str.rsplit(".", n=1).str[-1]
    odata_type = type_name.str.casefold()
    sip = _member(records, "systemIntegrityProtectionEnabled")
    is_mac = (odata_type == _MACOS_TYPE).fillna(False) | (odata_type.isna() & sip.notna())
    others = type_name[~is_mac.to_numpy(dtype=bool)]
    if len(others):
        counts = others.fillna("no @odata.type").value_counts()
        notes.append(
            QualityNote(
                "compliance_policies.@odata.type",
                Problem.NOT_MACOS.value,
                len(others),
                tuple(f"{n} {kind}" for kind, n in counts.items()),
                POLICIES,
            )
        )
    return records[is_mac.to_numpy(dtype=bool)]


def _assignments(batches: Sequence[RawBatch], partial: bool) -> pd.DataFrame:
    """Per policy id: `is_assigned` (an included target) and what the assignments target.

    With `partial` (a gap), a policy whose records show no included target is NA: its
    assignments may be the ones missing.
    """
    records = _records(batches, ASSIGNMENTS)
    if records.empty:
        return pd.DataFrame({"policy_id": pd.Series([], dtype="string"),
                             "is_assigned": pd.Series([], dtype="boolean"),
                             "assignment_targets": pd.Series([], dtype="string")})  # fmt: skip
    kind = _column(records, "target.@odata.type").str.rsplit(".", n=1).str[-1].str.casefold()
    label = kind.map(_TARGETS).fillna(kind.fillna("unknown target"))
    group = _column(records, "target.groupId").fillna(_column(records, "target.collectionId"))
    text = label.str.cat(group, sep=" ", na_rep="").str.strip()
    included = ~kind.str.startswith("exclusion").fillna(False).to_numpy(dtype=bool)
    per_policy = pd.DataFrame(
        {"policy_id": _column(records, "policyId"), "included": included, "text": text}
    ).dropna(subset=["policy_id"])
    grouped = per_policy.groupby("policy_id", sort=False)
    out = pd.DataFrame(
        {
            "is_assigned": grouped["included"].any().astype("boolean"),
            "assignment_targets": grouped["text"].agg(lambda t: "; ".join(dict.fromkeys(t))),
        }
    ).reset_index()
    if partial:
        out["is_assigned"] = out["is_assigned"].where(out["is_assigned"], pd.NA)
    out["is_assigned"] = out["is_assigned"].astype("boolean")
    return out.astype({"policy_id": "string", "assignment_targets": "string"})
