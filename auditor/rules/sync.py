"""MAC-SYN: Macs that stopped checking in with Intune."""

from __future__ import annotations

import pandas as pd

from auditor.models import Entity, Severity, Status
from auditor.rules import references as ref
from auditor.rules.base import Example, RuleContext, days_between, per_unique, rule

_CHECK_IN = (
    "Find the Mac's user and have them connect it to the network and open Company Portal; "
    "in the Intune admin center (Devices > macOS > the device) select Sync. If the Mac is "
    "gone, retire it, or let a device cleanup rule (Devices > Device clean-up rules) remove "
    "stale records."
)


def _stale(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return days_between(ctx.as_of_ts, devices["last_sync_at"]) <= ctx.int_param("max_days")


def _stale_detail(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    limit = ctx.int_param("max_days")

    def describe(days: pd.Series) -> pd.Series:
        ago = days_between(ctx.as_of_ts, days).astype(str)
        text: pd.Series = (
            "last check-in "
            + days.dt.strftime("%Y-%m-%d")
            + ", "
            + ago
            + f" days ago (limit {limit})"
        )
        return text

    return per_unique(devices["last_sync_at"].dt.floor("D"), describe)


@rule(
    id="MAC-SYN-001",
    problem="Macs with no check-in for more than {max_days} days",
    title="Mac checked in within {max_days} days",
    severity=Severity.MEDIUM,
    entity=Entity.DEVICE,
    requires=("last_sync_at",),
    fails_when="`last_sync_at` is more than `max_days` (default 30) days before the as-of date",
    params={"max_days": 30},
    detail=_stale_detail,
    rationale=(
        "A Mac that has not checked in for a month gets no new policy, app or update "
        "deadline, and its compliance state goes stale; Macs normally check in about every "
        "8 hours."
    ),
    remediation=_CHECK_IN,
    references=(ref.MS_CLEAN,),
    sources=("MS-CLEAN", "MS-FV"),
    controls={"NIST 800-53": ("CM-8", "CA-7"), "ISO/IEC 27001:2022": ("A.5.9",)},
    own_mappings=("NIST 800-53", "ISO/IEC 27001:2022"),
    examples=(
        Example(
            "pass-synced-yesterday",
            {"last_sync_at": pd.Timestamp("2026-08-31", tz="UTC")},
            Status.PASS,
        ),
        Example(
            "pass-synced-30-days-ago",
            {"last_sync_at": pd.Timestamp("2026-08-02", tz="UTC")},
            Status.PASS,
        ),
        Example(
            "fail-synced-31-days-ago",
            {"last_sync_at": pd.Timestamp("2026-08-01", tz="UTC")},
            Status.FAIL,
        ),
        Example("unknown-never-synced", {"last_sync_at": pd.NaT}, Status.UNKNOWN),
    ),
)
def checked_in_within_30_days(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return _stale(devices, ctx)


@rule(
    id="MAC-SYN-002",
    problem="Macs with no check-in for more than {max_days} days",
    title="Mac checked in within {max_days} days",
    severity=Severity.HIGH,
    entity=Entity.DEVICE,
    requires=("last_sync_at",),
    fails_when="`last_sync_at` is more than `max_days` (default 90) days before the as-of date",
    params={"max_days": 90},
    detail=_stale_detail,
    rationale=(
        "A record silent for a quarter is either a lost, unmanaged Mac or a leftover that "
        "distorts every other count; Intune cleanup rules exist for 30–270 days."
    ),
    remediation=_CHECK_IN,
    references=(ref.MS_CLEAN,),
    sources=("MS-CLEAN",),
    controls={"NIST 800-53": ("CM-8",), "ISO/IEC 27001:2022": ("A.5.9",)},
    own_mappings=("NIST 800-53", "ISO/IEC 27001:2022"),
    examples=(
        Example(
            "pass-synced-last-month",
            {"last_sync_at": pd.Timestamp("2026-08-01", tz="UTC")},
            Status.PASS,
        ),
        Example(
            "fail-synced-in-may",
            {"last_sync_at": pd.Timestamp("2026-05-01", tz="UTC")},
            Status.FAIL,
        ),
        Example("unknown-never-synced", {"last_sync_at": pd.NaT}, Status.UNKNOWN),
    ),
)
def checked_in_within_90_days(devices: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return _stale(devices, ctx)
