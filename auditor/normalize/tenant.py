"""Tenant-level frames: the tenant row (APNs, platform restriction), ADE tokens, DEM accounts."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from auditor.models import QualityNote, RawBatch
from auditor.normalize.dates import datetime_column
from auditor.normalize.schema import (
    ADE_TOKEN_SCHEMA,
    DEM_ACCOUNT_SCHEMA,
    TENANT_SCHEMA,
    conform,
    empty_frame,
)
from auditor.normalize.text import safe_text, text_notes
from auditor.normalize.values import boolean_column, text_column

UNKNOWN_TENANT = "unknown"


def _records(batches: Sequence[RawBatch], kind: str) -> pd.DataFrame:
    frames = [b.records for b in batches if b.kind == kind and len(b.records)]
    if not frames:
        return pd.DataFrame()
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def _column(records: pd.DataFrame, *names: str) -> pd.Series:
    """Text of the first of `names` present (case-insensitive), else all NA."""
    lookup = {str(c).casefold(): c for c in records.columns}
    for name in names:
        if name.casefold() in lookup:
            return text_column(records[lookup[name.casefold()]])
    return pd.Series(pd.NA, index=records.index, dtype="string")


def ade_profile_names(batches: Sequence[RawBatch]) -> frozenset[str] | None:
    """Case-folded display names of the tenant's ADE profiles; None when no input lists them."""
    if not any(b.kind == "ade_profiles" for b in batches):
        return None
    names = safe_text(_column(_records(batches, "ade_profiles"), "displayName")).values
    return frozenset(names.dropna().str.casefold())  # cut as the Macs' profile names are


def tenant_frame(batches: Sequence[RawBatch], notes: list[QualityNote]) -> pd.DataFrame:
    """Exactly one row: tenant id, APNs certificate, the default macOS platform restriction."""
    row: dict[str, object] = {"tenant_id": UNKNOWN_TENANT}
    ids = pd.concat(
        [
            _column(_records(batches, "tenant"), "tenant_id", "tenantId"),
            *_implied_tenant_ids(batches),
        ]
    )
    ids = ids.dropna().str.casefold().unique()
    if len(ids):
        row["tenant_id"] = ids[0]
    if len(ids) > 1:
        notes.append(QualityNote("tenant_id", "conflict", len(ids), tuple(map(str, ids[:5]))))
    apns = _records(batches, "apns")
    if len(apns):
        row["apns_expires_at"] = datetime_column(_column(apns, "expirationDateTime")).values.iloc[0]
        row["apns_apple_id"] = _column(apns, "appleIdentifier").iloc[0]
    row.update(_platform_restriction(_records(batches, "enrollment_configurations"), notes))
    frame = pd.DataFrame({k: [v] for k, v in row.items()})
    frame = _safe_texts(frame, ("tenant_id", "apns_apple_id"), pd.Series(["tenant"]), notes)
    return conform(frame, TENANT_SCHEMA)


def _safe_texts(
    frame: pd.DataFrame, fields: Sequence[str], handles: pd.Series, notes: list[QualityNote]
) -> pd.DataFrame:
    """The text `fields` of a tenant frame without control characters, cut to length, noted."""
    for field in fields:
        if field not in frame.columns:
            continue
        safe = safe_text(frame[field].astype("string"))
        frame[field] = safe.values
        notes += text_notes(field, safe, handles, lambda _: "")
    return frame


_GUID = r"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"


def _implied_tenant_ids(batches: Sequence[RawBatch]) -> list[pd.Series]:
    """Tenant ids that Intune writes into other objects when no input states it directly.

    The built-in enrollment configurations are named `{tenantId}_Default…`, and ADE profiles
    carry `AADTenantId=` in their configuration endpoint URL.
    """
    configs = _column(_records(batches, "enrollment_configurations"), "id")
    profiles = _column(_records(batches, "ade_profiles"), "configurationEndpointUrl")
    return [
        configs.str.extract(_GUID + r"_Default", expand=False),
        profiles.str.extract(r"AADTenantId=" + _GUID, expand=False),
    ]


_RESTRICTION_FIELDS = {
    "macos_enrollment_blocked": "platformBlocked",
    "personal_enrollment_blocked": "personalDeviceEnrollmentBlocked",
}


def _platform_restriction(
    configs: pd.DataFrame, notes: list[QualityNote]
) -> dict[str, bool | None]:
    """The default restriction's macOS settings: per-platform (beta) first, then combined.

    The combined default object carries the macOS row twice, as `macOSRestriction` (the only
    one in v1.0, the one tools that set the admin center's macOS row write, e.g. CIPP's
    DefaultPlatformRestrictions standard) and the beta-only `macRestriction`. Where both are
    present and disagree, or only `macRestriction` is, the setting is not decided: NA, with a
    note, so MAC-TEN-006 says `unknown` rather than pass on a guess.
    """
    if configs.empty:
        return {}
    priority = pd.to_numeric(_column(configs, "priority"), errors="coerce")
    kind = _column(configs, "deviceEnrollmentConfigurationType").str.casefold().fillna("")
    config_id = _column(configs, "id").str.casefold().fillna("")
    is_default = (
        (priority == 0).fillna(False)
        | kind.str.startswith("default")
        | config_id.str.contains("default")
    )
    platform = _column(configs, "platformType").str.casefold()
    single = is_default & platform.isin(("mac", "macos")).fillna(False)
    found = _restriction(configs, single, "platformRestriction")
    if found:
        return found
    found = _restriction(configs, is_default, "macOSRestriction")
    legacy = _restriction(configs, is_default, "macRestriction")
    if not legacy:
        return found
    where = _where(configs, is_default)
    for field, member in _RESTRICTION_FIELDS.items():
        modern, old = found.get(field), legacy[field]
        if old is None or old == modern:
            continue
        said = f"macRestriction.{member} = {_bool_text(old)}"
        if modern is None:
            text = f"{where}: only the beta-only {said} is present"
        else:
            text = f"{where}: macOSRestriction.{member} = {_bool_text(modern)} but {said}"
        notes.append(QualityNote(field, "conflict", 1, (f"{text}; not decided",), where))
        found[field] = None
    return {field: found.get(field) for field in _RESTRICTION_FIELDS}


def _restriction(configs: pd.DataFrame, mask: pd.Series, prefix: str) -> dict[str, bool | None]:
    """The two settings of one restriction member in the first row of `mask` that has them."""
    values = {f: _column(configs, f"{prefix}.{m}") for f, m in _RESTRICTION_FIELDS.items()}
    usable = mask & pd.concat(values.values(), axis=1).notna().any(axis=1)
    if not usable.any():
        return {}
    first = usable.to_numpy().nonzero()[0][:1]
    settings = {f: boolean_column(v.iloc[first]).values.iloc[0] for f, v in values.items()}
    return {f: None if pd.isna(v) else bool(v) for f, v in settings.items()}


def _where(configs: pd.DataFrame, mask: pd.Series) -> str:
    """`id` (and the file record) of the first default configuration, for a note."""
    ids = _column(configs, "id")[mask].dropna()
    records = _column(configs, "source_record")[mask].dropna()
    parts = [*ids.head(1), *records.head(1)]
    return " at ".join(map(str, parts)) or "the default platform restriction"


def _bool_text(value: bool | None) -> str:
    return "true" if value else "false"


def ade_token_frame(batches: Sequence[RawBatch], notes: list[QualityNote]) -> pd.DataFrame:
    """One row per ADE (DEP) token, from depOnboardingSettings; duplicates by id dropped."""
    records = _records(batches, "ade_tokens")
    if records.empty:
        return empty_frame(ADE_TOKEN_SCHEMA)
    frame = pd.DataFrame(
        {
            "token_id": _column(records, "id"),
            "token_name": _column(records, "tokenName"),
            "apple_id": _column(records, "appleIdentifier"),
            "token_type": _column(records, "tokenType"),
            "token_expires_at": datetime_column(_column(records, "tokenExpirationDateTime")).values,
            "last_successful_sync_at": datetime_column(
                _column(records, "lastSuccessfulSyncDateTime")
            ).values,
            "last_sync_error_code": _integers(_column(records, "lastSyncErrorCode")),
            "synced_device_count": _integers(_column(records, "syncedDeviceCount")),
        }
    )
    handles = _column(records, "source_record").fillna("ADE token").reset_index(drop=True)
    texts = ("token_id", "token_name", "apple_id", "token_type")
    frame = _safe_texts(frame.reset_index(drop=True), texts, handles, notes)
    frame["token_id"] = frame["token_id"].fillna(
        "record " + pd.Series(range(len(frame))).astype(str)
    )
    frame = frame.drop_duplicates("token_id").sort_values(
        ["token_name", "token_id"], na_position="last"
    )
    return conform(frame, ADE_TOKEN_SCHEMA)


def _integers(text: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(text, errors="coerce")
    whole = numbers.where(numbers.notna() & (numbers % 1 == 0) & (numbers.abs() < 2**62))
    return whole.astype("Int64")


def dem_account_frame(devices: pd.DataFrame) -> pd.DataFrame:
    """Device enrollment manager accounts and how many Macs each enrolled."""
    dem = devices[(devices["enrollment_method"] == "dem").fillna(False)]
    if dem.empty:
        return empty_frame(DEM_ACCOUNT_SCHEMA)
    account = dem["enrolled_by_upn"].fillna(dem["upn"]).str.casefold().fillna("unknown")
    counts = account.value_counts().sort_index()
    frame = pd.DataFrame({"dem_upn": counts.index.astype(str), "device_count": counts.to_numpy()})
    return conform(frame, DEM_ACCOUNT_SCHEMA)
