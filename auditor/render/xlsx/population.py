"""The workbook's Population sheet and the Tenant sheet's VPP tokens and compliance policies.

Values come from the report model as they are (`Report.population`, `TenantHealth`); the
serials themselves are the streamed "ABM serials" sheet.
"""

from __future__ import annotations

from typing import Any

from openpyxl.worksheet.worksheet import Worksheet

from auditor.render.xlsx.cells import Column, facts, table, widths
from auditor.report import Report
from auditor.report.model_population import PolicyRow, PopulationToken, VppTokenRow

IDENTITIES_SHEET = "ABM serials"

POPULATION_TOKENS: tuple[Column[PopulationToken], ...] = (
    Column("ADE token", lambda t: t.token_name),
    Column("assigned", lambda t: t.assigned),
    Column("enrolled through ADE", lambda t: t.enrolled_via_ade),
    Column("enrolled outside ADE", lambda t: t.enrolled_otherwise),
    Column("not enrolled", lambda t: t.not_enrolled),
)
VPP_TOKENS: tuple[Column[VppTokenRow], ...] = (
    Column("VPP token", lambda t: t.name),
    Column("vpp_token_id", lambda t: t.token_id),
    Column("Apple Account", lambda t: t.apple_id),
    Column("type", lambda t: t.account_type),
    Column("expires", lambda t: t.expires_at),
    Column("days left", lambda t: t.days_left),
    Column("last sync", lambda t: t.last_sync_at),
    Column("days since sync", lambda t: t.days_since_sync),
    Column("last sync status", lambda t: t.last_sync_status),
    Column("state", lambda t: t.state),
)
POLICIES: tuple[Column[PolicyRow], ...] = (
    Column("macOS compliance policy", lambda p: p.name),
    Column("policy_id", lambda p: p.policy_id),
    Column("assigned", lambda p: p.is_assigned),
    Column("targets", lambda p: p.targets),
    Column("requires FileVault", lambda p: p.requires_filevault),
    Column("minimum macOS", lambda p: p.os_minimum_version),
    Column("minimum build", lambda p: p.os_minimum_build),
    Column("requires SIP", lambda p: p.requires_sip),
    Column("firewall", lambda p: p.firewall_enabled),
    Column("last modified", lambda p: p.modified_at),
)


def population_sheet(sheet: Worksheet, report: Report) -> None:
    """The Population sheet: the counts that reconcile, then one row per ADE token."""
    population = report.population
    never = (
        ("Never enrolled", population.never_enrolled)
        if population.never_enrolled is not None
        else (
            "Not found among the Macs collected (device list incomplete)",
            population.not_enrolled,
        )
    )
    pairs: list[tuple[str, Any]] = [
        ("Data", _state(population.is_collected, population.is_complete)),
        ("Assigned in Apple Business Manager (macOS, not deleted)", population.assigned),
        ("Enrolled through ADE", population.enrolled_via_ade),
        ("Enrolled outside ADE", population.enrolled_otherwise),
        ("  of which the enrollment method is unknown", population.enrolled_method_unknown),
        never,
        ("Deleted in Apple Business Manager (not counted)", population.deleted_in_abm),
        ("Platform not reported (not counted)", population.platform_not_reported),
        ("Managed Macs not assigned in Apple Business Manager", population.managed_not_in_abm),
        ("Managed Macs without a serial", population.devices_without_serial),
        *(("Not collected", gap) for gap in population.gaps),
    ]
    row = facts(sheet, 1, pairs)
    table(sheet, "PopulationTokens", row + 1, POPULATION_TOKENS, population.tokens)
    widths(sheet, [56, 16, 20, 20, 14])


def _state(collected: bool, complete: bool) -> str:
    if not collected:
        return "not collected"
    return "complete" if complete else "PARTIAL: see Not collected"


def tenant_policy_tables(sheet: Worksheet, report: Report, row: int) -> int:
    """The VPP tokens and the compliance coverage below the Tenant sheet's tables."""
    tenant = report.tenant
    row = table(sheet, "VppTokens", row, VPP_TOKENS, tenant.vpp_tokens)
    if tenant.vpp_gap:
        row = facts(sheet, row, [("VPP tokens not collected", tenant.vpp_gap)]) + 1
    compliance = tenant.compliance
    if compliance is None:
        return row
    row = facts(
        sheet,
        row,
        [
            ("Macs without a compliance policy marked not compliant", compliance.secure_by_default),
            ("Compliance status validity period (days)", compliance.validity_days),
            ("macOS compliance policies", compliance.policies),
            ("  assigned", compliance.assigned),
            ("  requiring FileVault", compliance.filevault_policies),
            ("A policy requiring FileVault is assigned", compliance.filevault_assigned),
            *(("Not collected", gap) for gap in compliance.gaps),
        ],
    )
    return table(sheet, "CompliancePolicies", row + 1, POLICIES, compliance.rows)
