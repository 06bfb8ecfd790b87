"""The tenant section: APNs, ADE tokens, restrictions, DEM accounts and tenant-level results."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import pandas as pd

from auditor.models import Entity, Inventory
from auditor.report.frames import column, equals, pct
from auditor.report.model import EntityResult, Share, TenantHealth, TokenRow
from auditor.report.plain import scalar, text


def tenant_health(
    inventory: Inventory, results: pd.DataFrame, titles: Mapping[str, str], as_of: dt.date
) -> TenantHealth:
    """APNs and ADE token dates, restrictions, DEM accounts and the tenant rules' results."""
    as_of_ts = pd.Timestamp(as_of, tz="UTC")
    tenant = inventory.tenant
    first = tenant.iloc[0] if len(tenant) else pd.Series(dtype="object")
    apns = scalar(first.get("apns_expires_at"))
    keys = [k for k in ("token_name", "token_id") if k in inventory.ade_tokens.columns]
    tokens = (
        inventory.ade_tokens.sort_values(keys, na_position="last") if keys else inventory.ade_tokens
    )
    token_rows = tuple(
        TokenRow(
            token_id=str(scalar(row.get("token_id"))),
            token_name=text(row.get("token_name")),
            apple_id=text(row.get("apple_id")),
            token_type=text(row.get("token_type")),
            expires_at=scalar(row.get("token_expires_at")),
            days_left=_days(scalar(row.get("token_expires_at")), as_of_ts, future=True),
            last_sync_at=scalar(row.get("last_successful_sync_at")),
            days_since_sync=_days(scalar(row.get("last_successful_sync_at")), as_of_ts),
            last_sync_error_code=scalar(row.get("last_sync_error_code")),
            synced_device_count=scalar(row.get("synced_device_count")),
        )
        # a handful of tokens per tenant: plain records are clearer than vector code here
        for row in tokens.to_dict("records")
    )
    return TenantHealth(
        tenant_id=text(first.get("tenant_id")),
        apns_expires_at=apns,
        apns_days_left=_days(apns, as_of_ts, future=True),
        apns_apple_id=text(first.get("apns_apple_id")),
        personal_enrollment_blocked=scalar(first.get("personal_enrollment_blocked")),
        macos_enrollment_blocked=scalar(first.get("macos_enrollment_blocked")),
        tokens=token_rows,
        dem_accounts=_dem_accounts(inventory.dem_accounts),
        results=_entity_results(inventory, results, titles),
    )


def _dem_accounts(dem: pd.DataFrame) -> tuple[Share, ...]:
    """Each DEM account's Macs and share of all DEM-enrolled Macs, most first."""
    counts = column(dem, "device_count", "Int64").fillna(0)
    total = int(counts.sum())
    return tuple(
        Share(str(upn), int(count), pct(int(count), total))
        for upn, count in sorted(
            zip(column(dem, "dem_upn"), counts, strict=True),
            key=lambda item: (-int(item[1]), str(item[0])),
        )
    )


def _entity_results(
    inventory: Inventory, results: pd.DataFrame, titles: Mapping[str, str]
) -> tuple[EntityResult, ...]:
    """Every result of a tenant-level rule, by rule, entity type and id.

    Devices' results are the Devices table's and ADE identities' the Population section's.
    """
    entity = results[
        ~equals(results["entity_type"], Entity.DEVICE.value)
        & ~equals(results["entity_type"], Entity.ADE_IDENTITY.value)
    ]
    entity = entity.sort_values(
        ["rule_id", "entity_type", "entity_id"], key=lambda s: s.astype("string")
    )
    names = entity_names(
        inventory, entity["entity_type"].astype("string"), entity["entity_id"].astype("string")
    )
    return tuple(
        EntityResult(
            rule_id=str(rule_id),
            title=titles.get(str(rule_id), ""),
            severity=str(severity),
            entity_type=str(entity_type),
            entity_id=str(entity_id),
            entity_name=text(name) or str(entity_id),
            status=str(status),
            detail=text(detail),
        )
        for rule_id, severity, entity_type, entity_id, name, status, detail in zip(
            entity["rule_id"],
            entity["severity"],
            entity["entity_type"],
            entity["entity_id"],
            names,
            entity["status"],
            entity["detail"],
            strict=True,
        )
    )


def entity_names(inventory: Inventory, types: pd.Series, ids: pd.Series) -> pd.Series:
    """What a reader recognises for each non-device entity (NA for devices and unknown ids).

    ADE tokens → their name, DEM accounts → their UPN (the id), the tenant → "tenant"; VPP
    tokens and compliance policies → their names, ADE identities → their serial (the id).
    """
    tokens = inventory.ade_tokens
    token_names = pd.Series(
        column(tokens, "token_name").to_numpy(), index=column(tokens, "token_id").astype("string")
    )
    token_names = token_names[~token_names.index.duplicated()].dropna()
    kind = types.astype("string")
    names = pd.Series(pd.NA, index=ids.index, dtype="string")
    is_token = (kind == Entity.ADE_TOKEN.value).to_numpy(dtype=bool, na_value=False)
    names[is_token] = ids[is_token].map(token_names).astype("string")
    is_dem = (kind == Entity.DEM_ACCOUNT.value).to_numpy(dtype=bool, na_value=False)
    names[is_dem] = ids[is_dem].astype("string")
    names[(kind == Entity.TENANT.value).to_numpy(dtype=bool, na_value=False)] = "tenant"
    for entity, frame, name_column in (
        (Entity.VPP_TOKEN, inventory.vpp_tokens, "vpp_token_name"),
        (Entity.COMPLIANCE_POLICY, inventory.compliance_policies, "policy_name"),
        (Entity.ADE_IDENTITY, inventory.ade_identities, "serial_number"),
    ):
        mine = (kind == entity.value).to_numpy(dtype=bool, na_value=False)
        if mine.any():
            lookup = pd.Series(
                column(frame, name_column).astype("string").to_numpy(dtype=object),
                index=column(frame, entity.id_column).astype("string"),
                dtype=object,
            )
            lookup = lookup[~lookup.index.duplicated()].dropna()
            found = ids[mine].astype(object).map(lookup)
            names[mine] = pd.Series(found, dtype="string").fillna(ids[mine].astype("string"))
    return names


def _days(when: dt.datetime | None, as_of: pd.Timestamp, *, future: bool = False) -> int | None:
    """Whole days from the as-of date to `when` (future) or from `when` to the as-of date."""
    if when is None:
        return None
    delta = (pd.Timestamp(when) - as_of) if future else (as_of - pd.Timestamp(when))
    return int(delta.days)
