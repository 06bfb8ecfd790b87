"""The report model's population and policy records: ABM completeness, VPP tokens, compliance.

Held by `model.Report` (`population`) and `model.TenantHealth` (`vpp_tokens`, `compliance`);
records only, no logic.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True, slots=True)
class VppTokenRow:
    """One VPP (Apps and Books) token's state at the as-of date."""

    token_id: str
    name: str | None
    apple_id: str | None
    account_type: str | None
    expires_at: dt.datetime | None
    days_left: int | None
    last_sync_at: dt.datetime | None
    days_since_sync: int | None
    last_sync_status: str | None
    state: str | None


@dataclass(frozen=True, slots=True)
class PolicyRow:
    """One macOS compliance policy: assigned or not, and what it requires."""

    policy_id: str
    name: str | None
    is_assigned: bool | None  # None: its assignments were not collected
    targets: str | None
    requires_filevault: bool | None
    os_minimum_version: str | None
    os_minimum_build: str | None
    requires_sip: bool | None
    firewall_enabled: bool | None
    modified_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class ComplianceCoverage:
    """Whether "compliant" means anything: the tenant's settings and its macOS policies.

    Counts are None when the part behind them was not collected (`gaps` says why).
    """

    secure_by_default: bool | None  # Macs without a policy are marked not compliant
    validity_days: int | None  # compliance status validity period
    policies: int | None  # macOS compliance policies
    assigned: int | None  # … with an included target
    filevault_policies: int | None
    filevault_assigned: bool | None
    rows: tuple[PolicyRow, ...]  # by name
    gaps: tuple[str, ...]  # "<part> <status>: <reason>" of the parts not collected whole


@dataclass(frozen=True, slots=True)
class PopulationToken:
    """One ADE token's share of the population."""

    token_name: str
    assigned: int
    enrolled_via_ade: int
    enrolled_otherwise: int
    not_enrolled: int


@dataclass(frozen=True, slots=True, eq=False)
class Population:
    """Completeness: the Macs Apple Business Manager assigns to the tenant, and where they are.

    `assigned` = `enrolled_via_ade` + `enrolled_otherwise` + `not_enrolled`, always.
    `never_enrolled` equals `not_enrolled` when the device list is whole and is None otherwise
    (a serial the Macs collected do not carry may belong to a Mac not collected). Every count
    is None when the identities were not collected at all. `identities` has one row per serial
    (`IDENTITY_TABLE_SCHEMA`) and one status column per ADE identity rule.
    """

    is_collected: bool  # some identities were collected
    is_complete: bool  # identities and device list whole: every number is exact
    assigned: int | None  # macOS serials assigned to the tenant's ADE tokens, not deleted
    enrolled: int | None
    enrolled_via_ade: int | None
    enrolled_otherwise: int | None  # enrolled outside ADE (including an unknown method)
    enrolled_method_unknown: int | None  # of those, the ones whose method is unknown
    not_enrolled: int | None  # serials no managed Mac carries
    never_enrolled: int | None  # the same, when the device list is whole; else None
    deleted_in_abm: int | None
    platform_not_reported: int | None  # identities Intune gives no platform for, unmatched
    managed_not_in_abm: int | None  # managed Macs whose serial no identity lists
    devices_without_serial: int  # managed Macs that cannot be matched at all
    tokens: tuple[PopulationToken, ...]
    gaps: tuple[str, ...]  # "<part> <status>: <reason>" of the parts behind missing numbers
    identities: pd.DataFrame
    rule_ids: tuple[str, ...]  # the status columns of `identities`
