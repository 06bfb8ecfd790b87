"""MAC-TEN-007/008: the VPP (Apps and Books) location tokens Intune assigns App Store apps with.

Same shape and parameters as the ADE token rules (MAC-TEN-003/004/005), over Graph v1.0
`vppToken` (`expirationDateTime`, `lastSyncDateTime`, `lastSyncStatus`, `state`). Like the ADE
pair, an expired token fails MAC-TEN-007 only: MAC-TEN-008 is for tokens that have not expired,
so one expired token is one problem, not two.
"""

from __future__ import annotations

import pandas as pd

from auditor.models import Entity, Severity, Status
from auditor.rules import references as ref
from auditor.rules.base import Example, RuleContext, days_between, per_row, rule

_UTC = "UTC"
_WHY = (
    "Intune assigns App Store apps bought through Apple Business Manager (Apps and Books) with "
    "a location token, valid for one year. With an expired or broken token, apps and their "
    "updates stop reaching Macs, and licences can no longer be assigned or reclaimed."
)
_RENEW = (
    "In Apple Business Manager, Preferences (Settings) > Apps and Books > My Server Tokens, "
    "download the location's token; upload it in Tenant administration > Connectors and tokens "
    "> Apple VPP tokens > the token > Edit. Renew also when the Apple Account that created it "
    "changes its password or leaves. Select Sync and check the token's state afterwards."
)


def _named(name: str | None) -> str:
    return f"VPP token '{name}'" if name else "VPP token"


def _not_expired(tokens: pd.DataFrame, ctx: RuleContext, days: int) -> pd.Series:
    expires_at = tokens["vpp_expires_at"]
    valid = (expires_at > ctx.as_of_ts + pd.Timedelta(days=days)).astype("boolean")
    marked = (tokens["vpp_state"].astype("string") == "expired").fillna(False)
    return valid.mask(expires_at.isna()) & ~marked


def _expiry_text(expires_at: pd.Timestamp, ctx: RuleContext) -> str:
    days = (expires_at.normalize() - pd.Timestamp(ctx.as_of, tz=_UTC)).days
    day = f"{expires_at:%Y-%m-%d}"
    if days < 0:
        return f"expired on {day}, {-days} days before the as-of date"
    if days == 0:
        return f"expires on the as-of date, {day}"
    return f"expires on {day}, {days} days after the as-of date"


def _expiry_detail(tokens: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    def describe(expires_at: pd.Timestamp, state: str | None, name: str | None) -> str:
        text = f"{_named(name)} {_expiry_text(expires_at, ctx)}"
        return text + ("; Intune reports its state as expired" if state == "expired" else "")

    columns = ["vpp_expires_at", "vpp_state", "vpp_token_name"]
    return per_row(tokens[columns], describe, "string")


@rule(
    id="MAC-TEN-007",
    problem="VPP (Apps and Books) token expired",
    title="VPP (Apps and Books) token has not expired",
    severity=Severity.CRITICAL,
    entity=Entity.VPP_TOKEN,
    requires=("vpp_expires_at", "vpp_state", "vpp_token_name"),
    nullable=("vpp_state", "vpp_token_name"),
    scope_text="each VPP (Apps and Books) location token",
    fails_when="`expirationDateTime` is on or before the as-of date, or `state` is `expired`",
    detail=_expiry_detail,
    rationale=_WHY,
    remediation=_RENEW,
    references=(ref.MS_VPP, ref.GRAPH_VPP_TOKEN, ref.GRAPH_VPP_TOKEN_LIST),
    sources=("MS-GRAPH",),
    controls={"NIST 800-53": ("SC-12", "CM-8"), "ISO/IEC 27001:2022": ("A.8.24",)},
    own_mappings=("NIST 800-53", "ISO/IEC 27001:2022"),
    examples=(
        Example(
            "pass-valid",
            {"vpp_expires_at": pd.Timestamp("2027-02-01", tz=_UTC), "vpp_state": "valid"},
            Status.PASS,
        ),
        Example(
            "fail-expired",
            {"vpp_expires_at": pd.Timestamp("2026-08-20", tz=_UTC), "vpp_state": "valid"},
            Status.FAIL,
        ),
        Example(
            "fail-state-expired",
            {"vpp_expires_at": pd.Timestamp("2027-02-01", tz=_UTC), "vpp_state": "expired"},
            Status.FAIL,
        ),
        Example("unknown-not-collected", {"vpp_expires_at": None}, Status.UNKNOWN),
    ),
)
def vpp_token_not_expired(tokens: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return _not_expired(tokens, ctx, 0)


def _healthy(tokens: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    age = days_between(ctx.as_of_ts, tokens["vpp_last_sync_at"])
    synced = (age <= ctx.int_param("max_days")).astype("boolean").fillna(False)
    ok_sync = (tokens["vpp_last_sync_status"].astype("string") != "failed").astype("boolean")
    state = tokens["vpp_state"].astype("string")
    valid = (state == "valid").astype("boolean").mask(state == "unknown", pd.NA)
    return _not_expired(tokens, ctx, ctx.int_param("min_days")) & synced & ok_sync & valid


def _health_detail(tokens: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    limit, horizon = ctx.int_param("max_days"), ctx.int_param("min_days")
    as_of = pd.Timestamp(ctx.as_of, tz=_UTC)

    def describe(
        expires_at: pd.Timestamp,
        synced_at: pd.Timestamp | None,
        status: str,
        state: str,
        name: str | None,
    ) -> str:
        reasons = []
        if expires_at <= ctx.as_of_ts + pd.Timedelta(days=horizon):
            reasons.append(f"{_expiry_text(expires_at, ctx)} (limit {horizon} days)")
        if synced_at is None:
            reasons.append("no sync reported")
        elif (days := (as_of - synced_at.normalize()).days) > limit:
            reasons.append(
                f"last sync {synced_at:%Y-%m-%d}, {days} days before the as-of date (limit {limit})"
            )
        if status == "failed":
            reasons.append("the last sync failed")
        if state != "valid":
            reasons.append(f"state {state}")
        return f"{_named(name)}: " + "; ".join(reasons)

    columns = [
        "vpp_expires_at", "vpp_last_sync_at", "vpp_last_sync_status", "vpp_state",
        "vpp_token_name",
    ]  # fmt: skip
    return per_row(tokens[columns], describe, "string")


@rule(
    id="MAC-TEN-008",
    problem=(
        "VPP token expires within {min_days} days, has not synced in {max_days} days, or fails"
    ),
    title=(
        "VPP token is valid for more than {min_days} days, synced in the last {max_days} days "
        "without error"
    ),
    severity=Severity.HIGH,
    entity=Entity.VPP_TOKEN,
    requires=(
        "vpp_expires_at",
        "vpp_last_sync_at",
        "vpp_last_sync_status",
        "vpp_state",
        "vpp_token_name",
    ),
    nullable=("vpp_last_sync_at", "vpp_token_name"),
    scope=lambda tokens, ctx: _not_expired(tokens, ctx, 0),
    scope_text="each VPP (Apps and Books) location token that has not expired (an expired "
    "token fails MAC-TEN-007 only)",
    fails_when=(
        "the token has not expired and expires within `min_days` (default 30) days after the "
        "as-of date, `lastSyncDateTime` is more than `max_days` (default 7) days before "
        "the as-of date or missing, `lastSyncStatus` is `failed`, or `state` is not `valid`"
    ),
    params={"min_days": 30, "max_days": 7},
    detail=_health_detail,
    rationale=(
        _WHY + " Intune syncs location tokens with Apple twice a day; a token that has not "
        "synced for a week, reports a failed sync, or is invalid or claimed by another MDM "
        "already fails quietly. Renewing a month ahead leaves time to find the right account."
    ),
    remediation=_RENEW,
    references=(ref.MS_VPP, ref.GRAPH_VPP_TOKEN),
    sources=("MS-GRAPH",),
    controls={"NIST 800-53": ("SC-12", "CM-8"), "ISO/IEC 27001:2022": ("A.8.24", "A.5.9")},
    own_mappings=("NIST 800-53", "ISO/IEC 27001:2022"),
    examples=(
        Example(
            "pass-valid-and-synced",
            {
                "vpp_expires_at": pd.Timestamp("2027-02-01", tz=_UTC),
                "vpp_last_sync_at": pd.Timestamp("2026-08-31 20:00", tz=_UTC),
                "vpp_last_sync_status": "completed",
                "vpp_state": "valid",
            },
            Status.PASS,
        ),
        Example(
            "fail-expires-in-30-days",
            {
                "vpp_expires_at": pd.Timestamp("2026-10-01 12:00", tz=_UTC),
                "vpp_last_sync_at": pd.Timestamp("2026-08-31", tz=_UTC),
                "vpp_last_sync_status": "completed",
                "vpp_state": "valid",
            },
            Status.FAIL,
        ),
        Example(
            "fail-synced-8-days-ago",
            {
                "vpp_expires_at": pd.Timestamp("2027-02-01", tz=_UTC),
                "vpp_last_sync_at": pd.Timestamp("2026-08-24 23:00", tz=_UTC),
                "vpp_last_sync_status": "completed",
                "vpp_state": "valid",
            },
            Status.FAIL,
        ),
        Example(
            "fail-sync-failed",
            {
                "vpp_expires_at": pd.Timestamp("2027-02-01", tz=_UTC),
                "vpp_last_sync_at": pd.Timestamp("2026-08-31", tz=_UTC),
                "vpp_last_sync_status": "failed",
                "vpp_state": "valid",
            },
            Status.FAIL,
        ),
        Example(
            "fail-claimed-by-another-mdm",
            {
                "vpp_expires_at": pd.Timestamp("2027-02-01", tz=_UTC),
                "vpp_last_sync_at": pd.Timestamp("2026-08-31", tz=_UTC),
                "vpp_last_sync_status": "completed",
                "vpp_state": "assignedToExternalMDM",
            },
            Status.FAIL,
        ),
        Example(
            "na-expired-fails-MAC-TEN-007-only",
            {
                "vpp_expires_at": pd.Timestamp("2026-07-22", tz=_UTC),
                "vpp_last_sync_at": pd.Timestamp("2026-07-22", tz=_UTC),
                "vpp_last_sync_status": "failed",
                "vpp_state": "expired",
            },
            Status.NOT_APPLICABLE,
        ),
        Example(
            "na-state-expired-fails-MAC-TEN-007-only",
            {
                "vpp_expires_at": pd.Timestamp("2027-02-01", tz=_UTC),
                "vpp_last_sync_at": pd.Timestamp("2026-08-31", tz=_UTC),
                "vpp_last_sync_status": "completed",
                "vpp_state": "expired",
            },
            Status.NOT_APPLICABLE,
        ),
        Example(
            "unknown-state-unknown",
            {
                "vpp_expires_at": pd.Timestamp("2027-02-01", tz=_UTC),
                "vpp_last_sync_at": pd.Timestamp("2026-08-31", tz=_UTC),
                "vpp_last_sync_status": "completed",
                "vpp_state": "unknown",
            },
            Status.UNKNOWN,
        ),
        Example("unknown-not-collected", {"vpp_expires_at": None}, Status.UNKNOWN),
    ),
)
def vpp_token_healthy(tokens: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return _healthy(tokens, ctx)
