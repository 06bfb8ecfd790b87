"""Tenant health's VPP tokens and compliance-policy coverage (settings, macOS policies)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd

from auditor.models import Inventory, SourceGap
from auditor.normalize.schema import NOT_COLLECTED
from auditor.report.model_population import ComplianceCoverage, PolicyRow, VppTokenRow
from auditor.report.plain import scalar, text
from auditor.report.tenant import _days

_COMPLIANCE_PARTS = ("compliance_settings", "compliance_policies", "compliance_assignments")


def _real(frame: pd.DataFrame, id_column: str) -> pd.DataFrame:
    """The rows that stand for real entities (not the `(not collected)` stand-in)."""
    return frame[(frame[id_column] != NOT_COLLECTED).to_numpy(dtype=bool, na_value=True)]


def vpp_rows(inventory: Inventory, as_of: dt.date) -> tuple[VppTokenRow, ...]:
    """Each VPP token's expiry and sync, in the frame's order (by name)."""
    as_of_ts = pd.Timestamp(as_of, tz="UTC")
    return tuple(
        VppTokenRow(
            token_id=str(row["vpp_token_id"]),
            name=text(row.get("vpp_token_name")),
            apple_id=text(row.get("apple_id")),
            account_type=text(row.get("account_type")),
            expires_at=scalar(row.get("vpp_expires_at")),
            days_left=_days(scalar(row.get("vpp_expires_at")), as_of_ts, future=True),
            last_sync_at=scalar(row.get("vpp_last_sync_at")),
            days_since_sync=_days(scalar(row.get("vpp_last_sync_at")), as_of_ts),
            last_sync_status=text(row.get("vpp_last_sync_status")),
            state=text(row.get("vpp_state")),
        )
        # a handful of tokens per tenant: plain records are clearer than vector code here
        for row in _real(inventory.vpp_tokens, "vpp_token_id").to_dict("records")
    )


def gap_texts(gaps: Sequence[SourceGap], parts: Sequence[str]) -> tuple[str, ...]:
    """`<part> <status>: <reason>` of the gaps of these parts."""
    return tuple(
        f"{g.part} {g.status or 'not collected'}: {g.reason}" for g in gaps if g.part in parts
    )


def compliance_coverage(inventory: Inventory) -> ComplianceCoverage:
    """The compliance settings, the macOS policies' counts and one row per policy."""
    tenant = inventory.tenant
    first = tenant.iloc[0] if len(tenant) else pd.Series(dtype="object")
    policies = _real(inventory.compliance_policies, "policy_id")
    rows = tuple(
        PolicyRow(
            policy_id=str(row["policy_id"]),
            name=text(row.get("policy_name")),
            is_assigned=scalar(row.get("is_assigned")),
            targets=text(row.get("assignment_targets")),
            requires_filevault=scalar(row.get("requires_filevault")),
            os_minimum_version=text(row.get("os_minimum_version")),
            os_minimum_build=text(row.get("os_minimum_build")),
            requires_sip=scalar(row.get("requires_sip")),
            firewall_enabled=scalar(row.get("firewall_enabled")),
            modified_at=scalar(row.get("modified_at")),
        )
        for row in policies.to_dict("records")
    )
    return ComplianceCoverage(
        secure_by_default=scalar(first.get("secure_by_default")),
        validity_days=scalar(first.get("compliance_validity_days")),
        policies=scalar(first.get("macos_compliance_policies")),
        assigned=scalar(first.get("macos_compliance_policies_assigned")),
        filevault_policies=scalar(first.get("filevault_policies")),
        filevault_assigned=scalar(first.get("filevault_policy_assigned")),
        rows=rows,
        gaps=gap_texts(inventory.gaps, _COMPLIANCE_PARTS),
    )
