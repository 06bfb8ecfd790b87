"""MAC-TEN: the tenant's Apple plumbing: push certificate, ADE tokens, personal-Mac policy."""

from __future__ import annotations

import pandas as pd

from auditor.models import Entity, Severity, Status
from auditor.rules import references as ref
from auditor.rules.base import Detail, Example, RuleContext, days_between, per_row, rule

_UTC = "UTC"
_APNS_RENEW = (
    "Renew in Devices > Enrollment > Apple > Apple MDM Push certificate: download the "
    "certificate signing request, sign in to the Apple Push Certificates Portal with the "
    "Apple ID that created the certificate, choose Renew (not Create), and upload the renewed "
    "certificate. Record the Apple ID in Intune and use a shared, monitored company mailbox."
)
_APNS_WHY = (
    "Every Mac, iPhone and iPad in the tenant is managed over this certificate; it is valid "
    "for 365 days, with 30 days of grace after expiry. Past that, or when a new certificate "
    "replaces it instead of a renewal, MDM vendors report that every Apple device must "
    "re-enroll (for ADE Macs, a wipe)."
)
_TOKEN_RENEW = (
    "Renew in Devices > Enrollment > Apple > Enrollment program tokens > the token > Renew "
    "token: download Intune's public key, download a new server token for the Intune MDM "
    "server in Apple Business Manager (Preferences > the MDM server), and upload it at once "
    "(downloading a token invalidates the one in use)."
)
_TOKEN_WHY = (
    "The enrollment program (ADE) token links Apple Business Manager to Intune and must be "
    "renewed every year, and whenever the Apple ID owning it changes its password or leaves. "
    "With an expired token new and wiped Macs no longer get their enrollment profile."
)


def _expiry_detail(column: str, what: str, name_column: str, name_format: str) -> Detail:
    def detail(frame: pd.DataFrame, ctx: RuleContext) -> pd.Series:
        def describe(expires_at: pd.Timestamp, name: str | None) -> str:
            days = (expires_at.normalize() - pd.Timestamp(ctx.as_of, tz=_UTC)).days
            label = what + (name_format.format(name) if name else "")
            day = f"{expires_at:%Y-%m-%d}"
            if days < 0:
                return f"{label} expired on {day}, {-days} days before the as-of date"
            if days == 0:
                return f"{label} expires on the as-of date, {day}"
            return f"{label} expires on {day}, {days} days after the as-of date"

        return per_row(frame[[column, name_column]], describe, "string")

    return detail


_APNS_DETAIL = _expiry_detail(
    "apns_expires_at", "Apple MDM push certificate", "apns_apple_id", " (Apple ID {})"
)
_TOKEN_DETAIL = _expiry_detail("token_expires_at", "ADE token", "token_name", " '{}'")


def _valid_for(expires_at: pd.Series, ctx: RuleContext, days: int) -> pd.Series:
    return expires_at > ctx.as_of_ts + pd.Timedelta(days=days)


def not_yet_expired(expires_at: pd.Series, ctx: RuleContext) -> pd.Series:
    """Nullable boolean: expires after the as-of date (NA when the expiry is not reported).

    The scope of the "valid for more than N days" rules: an expired certificate or token is
    the "has not expired" rule's failure only, so one problem is reported once.
    """
    return _valid_for(expires_at, ctx, 0).astype("boolean").mask(expires_at.isna())


@rule(
    id="MAC-TEN-001",
    problem="Apple MDM push certificate expired",
    title="Apple MDM push certificate has not expired",
    severity=Severity.CRITICAL,
    entity=Entity.TENANT,
    requires=("apns_expires_at", "apns_apple_id"),
    nullable=("apns_apple_id",),
    scope_text="the tenant",
    fails_when="`expirationDateTime` is on or before the as-of date",
    detail=_APNS_DETAIL,
    rationale=_APNS_WHY,
    remediation=_APNS_RENEW,
    references=(ref.MS_APNS,),
    sources=("MS-APNS", "MS-GRAPH"),
    controls={
        "NIST 800-53": ("SC-12", "CM-6"),
        "ISO/IEC 27001:2022": ("A.8.24",),
    },
    own_mappings=("NIST 800-53", "ISO/IEC 27001:2022"),
    examples=(
        Example(
            "pass-expires-tomorrow",
            {"apns_expires_at": pd.Timestamp("2026-09-02 00:00", tz=_UTC)},
            Status.PASS,
        ),
        Example(
            "fail-expires-on-as-of-date",
            {"apns_expires_at": pd.Timestamp("2026-09-01 18:00", tz=_UTC)},
            Status.FAIL,
        ),
        Example("unknown-not-collected", {"apns_expires_at": None}, Status.UNKNOWN),
    ),
)
def apns_not_expired(tenant: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return _valid_for(tenant["apns_expires_at"], ctx, 0)


@rule(
    id="MAC-TEN-002",
    problem="Apple MDM push certificate expires within {min_days} days",
    title="Apple MDM push certificate is valid for more than {min_days} days",
    severity=Severity.HIGH,
    entity=Entity.TENANT,
    requires=("apns_expires_at", "apns_apple_id"),
    nullable=("apns_apple_id",),
    scope=lambda tenant, ctx: not_yet_expired(tenant["apns_expires_at"], ctx),
    scope_text="the tenant, while its push certificate has not expired (an expired one fails "
    "MAC-TEN-001 only)",
    fails_when=(
        "the certificate has not expired and expires within `min_days` (default 30) days after "
        "the as-of date"
    ),
    params={"min_days": 30},
    detail=_APNS_DETAIL,
    rationale=_APNS_WHY + " Renewing a month ahead leaves time to find the right Apple ID.",
    remediation=_APNS_RENEW,
    references=(ref.MS_APNS,),
    sources=("MS-APNS",),
    controls={"NIST 800-53": ("SC-12",), "ISO/IEC 27001:2022": ("A.8.24",)},
    own_mappings=("NIST 800-53", "ISO/IEC 27001:2022"),
    examples=(
        Example(
            "pass-31-days-left",
            {"apns_expires_at": pd.Timestamp("2026-10-02 00:00", tz=_UTC)},
            Status.PASS,
        ),
        Example(
            "fail-30-days-left",
            {"apns_expires_at": pd.Timestamp("2026-10-01 12:00", tz=_UTC)},
            Status.FAIL,
        ),
        Example(
            "na-expired-fails-MAC-TEN-001-only",
            {"apns_expires_at": pd.Timestamp("2026-08-15", tz=_UTC)},
            Status.NOT_APPLICABLE,
        ),
        Example("unknown-not-collected", {"apns_expires_at": None}, Status.UNKNOWN),
    ),
)
def apns_valid_30_days(tenant: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return _valid_for(tenant["apns_expires_at"], ctx, ctx.int_param("min_days"))


@rule(
    id="MAC-TEN-003",
    problem="ADE token expired",
    title="ADE token has not expired",
    severity=Severity.CRITICAL,
    entity=Entity.ADE_TOKEN,
    requires=("token_expires_at", "token_name"),
    nullable=("token_name",),
    scope_text="each Automated Device Enrollment (enrollment program) token",
    fails_when="`tokenExpirationDateTime` is on or before the as-of date",
    detail=_TOKEN_DETAIL,
    rationale=_TOKEN_WHY,
    remediation=_TOKEN_RENEW,
    references=(ref.MS_ADE_TOKENS, ref.MS_ADE),
    sources=("MS-ADE", "MS-GRAPH"),
    controls={
        "NIST 800-53": ("SC-12", "CM-8"),
        "ISO/IEC 27001:2022": ("A.8.24",),
    },
    own_mappings=("NIST 800-53", "ISO/IEC 27001:2022"),
    examples=(
        Example(
            "pass-valid",
            {"token_expires_at": pd.Timestamp("2027-03-01", tz=_UTC), "token_name": "Main ABM"},
            Status.PASS,
        ),
        Example(
            "fail-expired",
            {"token_expires_at": pd.Timestamp("2026-08-15", tz=_UTC), "token_name": "Main ABM"},
            Status.FAIL,
        ),
        Example("unknown-expiry-missing", {"token_expires_at": None}, Status.UNKNOWN),
    ),
)
def ade_token_not_expired(tokens: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return _valid_for(tokens["token_expires_at"], ctx, 0)


@rule(
    id="MAC-TEN-004",
    problem="ADE token expires within {min_days} days",
    title="ADE token is valid for more than {min_days} days",
    severity=Severity.HIGH,
    entity=Entity.ADE_TOKEN,
    requires=("token_expires_at", "token_name"),
    nullable=("token_name",),
    scope=lambda tokens, ctx: not_yet_expired(tokens["token_expires_at"], ctx),
    scope_text="each Automated Device Enrollment (enrollment program) token that has not expired "
    "(an expired token fails MAC-TEN-003 only)",
    fails_when=(
        "the token has not expired and expires within `min_days` (default 30) days after the "
        "as-of date"
    ),
    params={"min_days": 30},
    detail=_TOKEN_DETAIL,
    rationale=_TOKEN_WHY,
    remediation=_TOKEN_RENEW,
    references=(ref.MS_ADE_TOKENS,),
    sources=("MS-ADE",),
    controls={"NIST 800-53": ("SC-12",), "ISO/IEC 27001:2022": ("A.8.24",)},
    own_mappings=("NIST 800-53", "ISO/IEC 27001:2022"),
    examples=(
        Example(
            "pass-valid-for-months",
            {"token_expires_at": pd.Timestamp("2027-03-01", tz=_UTC)},
            Status.PASS,
        ),
        Example(
            "fail-expires-in-two-weeks",
            {"token_expires_at": pd.Timestamp("2026-09-15", tz=_UTC), "token_name": "School"},
            Status.FAIL,
        ),
        Example(
            "na-expired-fails-MAC-TEN-003-only",
            {"token_expires_at": pd.Timestamp("2026-05-14", tz=_UTC), "token_name": "Legacy"},
            Status.NOT_APPLICABLE,
        ),
        Example("unknown-expiry-missing", {"token_expires_at": None}, Status.UNKNOWN),
    ),
)
def ade_token_valid_30_days(tokens: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return _valid_for(tokens["token_expires_at"], ctx, ctx.int_param("min_days"))


def _synced(tokens: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    days = days_between(ctx.as_of_ts, tokens["last_successful_sync_at"])
    recent = (days <= ctx.int_param("max_days")).astype("boolean")
    return recent & (tokens["last_sync_error_code"] == 0).astype("boolean")


def _sync_detail(tokens: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    limit = ctx.int_param("max_days")

    def describe(synced_at: pd.Timestamp | None, code: int | None, name: str | None) -> str:
        reasons = []
        if synced_at is None:
            reasons.append("no successful sync reported")
        else:
            days = (pd.Timestamp(ctx.as_of, tz=_UTC) - synced_at.normalize()).days
            if days > limit:
                reasons.append(
                    f"last successful sync {synced_at:%Y-%m-%d}, {days} days before the as-of "
                    f"date (limit {limit})"
                )
        if code is not None and code != 0:
            reasons.append(f"last sync error code {code}")
        label = f"ADE token '{name}'" if name else "ADE token"
        return f"{label}: " + "; ".join(reasons)

    columns = ["last_successful_sync_at", "last_sync_error_code", "token_name"]
    return per_row(tokens[columns], describe, "string")


@rule(
    id="MAC-TEN-005",
    problem="ADE token not synced in {max_days} days, or its sync fails",
    title="ADE token synced in the last {max_days} days without error",
    severity=Severity.MEDIUM,
    entity=Entity.ADE_TOKEN,
    requires=("last_successful_sync_at", "last_sync_error_code", "token_name"),
    nullable=("last_successful_sync_at", "last_sync_error_code", "token_name"),
    scope_text="each Automated Device Enrollment (enrollment program) token",
    fails_when=(
        "`lastSuccessfulSyncDateTime` is more than `max_days` (default 7) days before the "
        "as-of date, or `lastSyncErrorCode` is not 0"
    ),
    params={"max_days": 7},
    detail=_sync_detail,
    rationale=(
        "Intune syncs ADE tokens with Apple Business Manager every 24 hours and allows a full "
        "sync once a week. A token that has not synced for a week, or reports an error, stops "
        "bringing new Macs and profile assignments into Intune, and released Macs linger."
    ),
    remediation=(
        "Open Devices > Enrollment > Apple > Enrollment program tokens > the token and select "
        "Sync; read the error shown there. Expired tokens and changed or departed Apple IDs "
        "need a token renewal (see MAC-TEN-003)."
    ),
    references=(ref.MS_ADE_TOKENS, ref.MS_ADE),
    sources=("MS-ADE", "MS-GRAPH"),
    controls={"NIST 800-53": ("CM-8",), "ISO/IEC 27001:2022": ("A.5.9",)},
    own_mappings=("NIST 800-53", "ISO/IEC 27001:2022"),
    examples=(
        Example(
            "pass-synced-7-days-ago",
            {
                "last_successful_sync_at": pd.Timestamp("2026-08-25 03:00", tz=_UTC),
                "last_sync_error_code": 0,
            },
            Status.PASS,
        ),
        Example(
            "fail-synced-8-days-ago",
            {
                "last_successful_sync_at": pd.Timestamp("2026-08-24 23:00", tz=_UTC),
                "last_sync_error_code": 0,
                "token_name": "Main ABM",
            },
            Status.FAIL,
        ),
        Example(
            "fail-sync-error",
            {
                "last_successful_sync_at": pd.Timestamp("2026-08-31", tz=_UTC),
                "last_sync_error_code": 4,
            },
            Status.FAIL,
        ),
        Example(
            "unknown-error-code-missing",
            {
                "last_successful_sync_at": pd.Timestamp("2026-08-31", tz=_UTC),
                "last_sync_error_code": None,
            },
            Status.UNKNOWN,
        ),
    ),
)
def ade_token_synced(tokens: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return _synced(tokens, ctx)


def _personal_policy_kept(tenant: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    if ctx.bool_param("personal_allowed"):
        return pd.Series(True, index=tenant.index, dtype="boolean")
    return tenant["macos_enrollment_blocked"].astype("boolean") | tenant[
        "personal_enrollment_blocked"
    ].astype("boolean")


@rule(
    id="MAC-TEN-006",
    problem="Personal Mac enrollment allowed against the organisation's policy",
    groups=("policy",),
    title="Personal Mac enrollment matches the organisation's policy",
    severity=Severity.MEDIUM,
    entity=Entity.TENANT,
    requires=("macos_enrollment_blocked", "personal_enrollment_blocked"),
    nullable=("personal_enrollment_blocked",),
    scope_text="the tenant (the default macOS device platform restriction)",
    fails_when=(
        "`personal_allowed` (policy.personal_macs_allowed) is false and the default macOS "
        "platform restriction allows personally owned Macs"
    ),
    params={"personal_allowed": True},
    detail=lambda tenant, ctx: pd.Series(
        "the default macOS platform restriction allows personally owned Macs, but the "
        "organisation's policy does not (policy.personal_macs_allowed = false)",
        index=tenant.index,
    ),
    rationale=(
        "When personal Macs are not allowed, the default macOS platform restriction is what "
        "enforces it; left on Allow, any licensed user can enroll a personal Mac through "
        "Company Portal and reach company data through it."
    ),
    remediation=(
        "In Devices > Enrollment > Device platform restriction, edit the default (All users) "
        "policy: macOS > Personally owned devices > Block; check restriction policies assigned "
        "to groups with a higher priority too. Restrictions do not apply to ADE and direct "
        "enrollment, so company Macs keep enrolling."
    ),
    references=(ref.MS_RESTR,),
    sources=("MS-RESTR",),
    controls={"NIST 800-53": ("AC-19", "CM-6"), "ISO/IEC 27001:2022": ("A.8.1",)},
    own_mappings=("NIST 800-53", "ISO/IEC 27001:2022"),
    examples=(
        Example(
            "pass-personal-allowed-by-policy",
            {"macos_enrollment_blocked": False, "personal_enrollment_blocked": False},
            Status.PASS,
        ),
        Example(
            "pass-personal-blocked",
            {"macos_enrollment_blocked": False, "personal_enrollment_blocked": True},
            Status.PASS,
            params={"personal_allowed": False},
        ),
        Example(
            "fail-personal-allowed-against-policy",
            {"macos_enrollment_blocked": False, "personal_enrollment_blocked": False},
            Status.FAIL,
            params={"personal_allowed": False},
        ),
        Example(
            "unknown-restriction-not-collected",
            {"macos_enrollment_blocked": False, "personal_enrollment_blocked": None},
            Status.UNKNOWN,
            params={"personal_allowed": False},
        ),
        Example(
            "unknown-not-collected",
            {"macos_enrollment_blocked": None, "personal_enrollment_blocked": None},
            Status.UNKNOWN,
        ),
    ),
)
def personal_mac_policy(tenant: pd.DataFrame, ctx: RuleContext) -> pd.Series:
    return _personal_policy_kept(tenant, ctx)
