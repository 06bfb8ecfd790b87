"""MAC-ADE: every Mac Apple Business Manager assigns to the tenant is enrolled, and through ADE.

The population test of an audit: MAC-ADE-001 judges the serials assigned to the tenant's ADE
tokens (Graph beta `importedAppleDeviceIdentity`), MAC-ADE-002 the managed Macs among them.
"""

from __future__ import annotations

import pandas as pd

from auditor.models import Entity, Severity, Status
from auditor.rules import references as ref
from auditor.rules.base import Example, RuleContext, days_between, is_one_of, per_row, rule
from auditor.rules.phrases import method_words

_UTC = "UTC"
_IDENTITY_INPUTS = (
    "is_mac", "is_deleted", "is_enrolled", "imported_at", "serial_number", "token_name",
    "enrollment_state", "devices_without_serial",
)  # fmt: skip


def _assigned_mac(identities: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    """Macs still assigned in ABM that have enrolled or were imported before the grace period."""
    age = days_between(ctx.as_of_ts, identities["imported_at"])
    overdue = (age > ctx.int_param("grace_days")).astype("boolean")
    is_mac = identities["is_mac"].astype("boolean")
    kept = ~identities["is_deleted"].astype("boolean")
    return is_mac & kept & (identities["is_enrolled"].astype("boolean") | overdue)


def _never_enrolled_detail(identities: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    as_of = pd.Timestamp(ctx.as_of, tz=_UTC)

    def describe(
        serial: str | None,
        tokens: str | None,
        imported: pd.Timestamp | None,
        state: str | None,
        unmatched: int | None,
    ) -> str:
        text = f"serial {serial or 'not reported'}"
        if tokens:
            text += f", assigned through ADE token '{tokens}'"
        if imported is not None:
            days = (as_of - imported.normalize()).days
            text += f", imported {imported:%Y-%m-%d} ({days} days before the as-of date)"
        text += ": no managed Mac carries it"
        if state:
            text += f"; Intune's enrollment state: {state}"
        if unmatched:
            macs = "Mac reports" if unmatched == 1 else "Macs report"
            text += f"; {unmatched} managed {macs} no serial and could be this one"
        return text

    columns = [
        "serial_number", "token_name", "imported_at", "enrollment_state", "devices_without_serial"
    ]  # fmt: skip
    return per_row(identities[columns], describe, "string")


@rule(
    id="MAC-ADE-001",
    problem="Macs assigned to Intune in Apple Business Manager that never enrolled",
    title="Every Mac assigned to Intune in Apple Business Manager has enrolled",
    severity=Severity.MEDIUM,
    entity=Entity.ADE_IDENTITY,
    requires=_IDENTITY_INPUTS,
    nullable=(
        "is_mac",
        "is_deleted",
        "imported_at",
        "serial_number",
        "token_name",
        "enrollment_state",
        "devices_without_serial",
    ),
    scope=_assigned_mac,
    scope_text=(
        "each macOS serial assigned to the tenant's ADE tokens in Apple Business Manager (not "
        "deleted there) that enrolled or was imported more than `grace_days` days ago"
    ),
    fails_when=(
        "no managed Mac carries the serial and Intune imported it more than `grace_days` "
        "(default 14) days before the as-of date; unknown when the device list is incomplete"
    ),
    params={"grace_days": 14},
    detail=_never_enrolled_detail,
    rationale=(
        "An audit tests completeness first: a Mac the organisation owns and assigned to Intune "
        "but that never enrolled is outside every control in this report (no FileVault escrow, "
        "no updates, no compliance), and it is often a Mac in use, set up by hand, or lost. "
        "Intune lists these serials per ADE token; comparing them with the managed Macs finds "
        "them."
    ),
    remediation=(
        "Find the Mac (Apple Business Manager > Devices > the serial shows the order and "
        "assignment). If it is in use, erase it and let Setup Assistant enroll it through ADE; "
        "if it was sold, lost or retired, release it from Apple Business Manager, or unassign "
        "it from the Intune MDM server, so the list stays the fleet you own."
    ),
    references=(ref.MS_ADE, ref.GRAPH_ADE_IDENTITY, ref.GRAPH_ADE_IDENTITY_LIST),
    sources=("MS-ADE", "MS-GRAPH"),
    controls={
        "NIST 800-53": ("CM-8",),
        "CIS Controls v8": ("1.1", "1.2"),
        "ISO/IEC 27001:2022": ("A.5.9",),
    },
    own_mappings=("NIST 800-53", "CIS Controls v8", "ISO/IEC 27001:2022"),
    examples=(
        Example(
            "pass-enrolled",
            {
                "is_mac": True,
                "is_deleted": False,
                "is_enrolled": True,
                "imported_at": pd.Timestamp("2026-08-30", tz=_UTC),
            },
            Status.PASS,
        ),
        Example(
            "fail-never-enrolled",
            {
                "is_mac": True,
                "is_deleted": False,
                "is_enrolled": False,
                "imported_at": pd.Timestamp("2026-08-17", tz=_UTC),
                "serial_number": "C02ZX1ABJGH5",
            },
            Status.FAIL,
        ),
        Example(
            "na-imported-within-grace",
            {
                "is_mac": True,
                "is_deleted": False,
                "is_enrolled": False,
                "imported_at": pd.Timestamp("2026-08-18", tz=_UTC),
            },
            Status.NOT_APPLICABLE,
        ),
        Example(
            "na-deleted-in-abm",
            {
                "is_mac": True,
                "is_deleted": True,
                "is_enrolled": False,
                "imported_at": pd.Timestamp("2025-01-10", tz=_UTC),
            },
            Status.NOT_APPLICABLE,
        ),
        Example(
            "unknown-device-list-incomplete",
            {
                "is_mac": True,
                "is_deleted": False,
                "is_enrolled": None,
                "imported_at": pd.Timestamp("2025-01-10", tz=_UTC),
            },
            Status.UNKNOWN,
        ),
        Example(
            "unknown-platform-not-reported",
            {
                "is_mac": None,
                "is_deleted": False,
                "is_enrolled": False,
                "imported_at": pd.Timestamp("2025-01-10", tz=_UTC),
            },
            Status.UNKNOWN,
        ),
    ),
)
def assigned_macs_enrolled(identities: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return identities["is_enrolled"]


@rule(
    id="MAC-ADE-002",
    problem="Corporate Macs assigned in Apple Business Manager but enrolled outside ADE",
    title="A corporate Mac assigned in Apple Business Manager is enrolled through ADE",
    severity=Severity.MEDIUM,
    entity=Entity.DEVICE,
    requires=("is_abm_assigned", "enrollment_method"),
    scope=lambda devices, ctx: devices["is_abm_assigned"].astype("boolean"),
    scope_text="managed Macs whose serial is assigned to the tenant in Apple Business Manager",
    fails_when="`enrollment_method` is not `ade`",
    detail=lambda devices, ctx: per_row(
        devices[["enrollment_method"]],
        lambda method: (
            f"assigned to the tenant in Apple Business Manager but enrolled through "
            f"{method_words(method)}, not Automated Device Enrollment"
        ),
        "string",
    ),
    rationale=(
        "A Mac Apple Business Manager assigns to Intune should enroll through Automated Device "
        "Enrollment, which supervises it from the first boot and can lock the management "
        "profile. Enrolled another way, it escaped both: a user can remove management, and "
        "after an erase it does not come back on its own. The serial list proves it was "
        "meant to use ADE."
    ),
    remediation=(
        "Erase the Mac and let Setup Assistant enroll it through ADE (check that the serial is "
        "assigned to an enrollment profile in Devices > Enrollment > Apple > Enrollment program "
        "tokens > the token > Devices). An enrolled Mac can re-enroll through ADE with `sudo "
        "profiles renew -type enrollment` (macOS 10.13+), but only an erase and Setup Assistant "
        "lock the management profile."
    ),
    references=(ref.MS_ADE, ref.MS_ADE_OVERVIEW, ref.GRAPH_ADE_IDENTITY),
    sources=("MS-ADE", "MS-ENR", "MS-GRAPH"),
    controls={
        "NIST 800-53": ("CM-8", "CM-6"),
        "CIS Controls v8": ("4.1",),
        "ISO/IEC 27001:2022": ("A.5.9", "A.8.1"),
    },
    own_mappings=("NIST 800-53", "CIS Controls v8", "ISO/IEC 27001:2022"),
    examples=(
        Example("pass-ade", {"is_abm_assigned": True, "enrollment_method": "ade"}, Status.PASS),
        Example(
            "fail-direct", {"is_abm_assigned": True, "enrollment_method": "direct"}, Status.FAIL
        ),
        Example(
            "fail-company-portal",
            {"is_abm_assigned": True, "enrollment_method": "byod"},
            Status.FAIL,
        ),
        Example(
            "unknown-method",
            {"is_abm_assigned": True, "enrollment_method": "unknown"},
            Status.UNKNOWN,
        ),
        Example(
            "unknown-identities-not-collected",
            {"is_abm_assigned": None, "enrollment_method": "direct"},
            Status.UNKNOWN,
        ),
        Example(
            "na-not-in-abm",
            {"is_abm_assigned": False, "enrollment_method": "byod"},
            Status.NOT_APPLICABLE,
        ),
    ),
)
def abm_macs_use_ade(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return is_one_of(devices["enrollment_method"], "ade")
