"""Build one deterministic sample tenant: bulk fleet, placed Macs, tenant objects, intent."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from auditor.errors import ConfigError
from auditor.sample.catalog import MODEL_INDEX, RELEASE_INDEX
from auditor.sample.compliance import compliance_assignments, compliance_policies
from auditor.sample.expected import Population, expected_outcomes
from auditor.sample.export import windows_rows
from auditor.sample.fleet import DAY, DEM, draw_plan, epoch, users
from auditor.sample.population import (
    device_management,
    imported_identities,
    own_rng,
    vpp_tokens,
)
from auditor.sample.render import NEVER, guids, render
from auditor.sample.scenarios import COMPLIANCE_CODE, DEM_EVENTS, DEM_LABS, PINNED, Pinned
from auditor.sample.tenant import (
    TOKENS,
    ade_tokens,
    apns_certificate,
    enrollment_configurations,
    enrollment_profiles,
    profiles_for,
)

MIN_DEVICES = len(PINNED)
# Three weeks: the sample's push certificate is due for renewal (MAC-TEN-002 fails).
DEFAULT_APNS_VALID_DAYS = 21.0
Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class SampleTenant:
    """A generated tenant: raw Graph/export values plus what the sample intends to show.

    `devices` holds one row per Mac with managedDevice fields under their Graph names (list
    values: `udid` "", `bootstrapTokenEscrowed` false) and `_`-prefixed columns for values only
    a single GET or the export report carries. `windows` holds export-only non-macOS rows.
    """

    seed: int
    as_of: dt.date
    tenant_id: str
    devices: pd.DataFrame
    windows: pd.DataFrame
    apns: Json
    ade_tokens: Json
    ade_profiles: list[Json]
    enrollment_configurations: Json
    expected: Json
    ade_identities: list[Json]  # list pages, per token (beta importedAppleDeviceIdentities)
    vpp_tokens: Json
    device_management: Json  # GET /deviceManagement: the compliance settings
    compliance_policies: Json
    compliance_assignments: list[Json]  # one list response per macOS policy


def generate_tenant(
    devices: int,
    seed: int,
    as_of: dt.date,
    *,
    apns_valid_days: float = DEFAULT_APNS_VALID_DAYS,
    secure_by_default: bool = False,
    filevault_assigned: bool = True,
) -> SampleTenant:
    """Generate a sample tenant of `devices` Macs; the same arguments give the same tenant.

    Args:
        devices: number of Macs (managedDevice records); at least `MIN_DEVICES`.
        seed: seed of the numpy random generator; nothing else is random and no clock is read.
        as_of: the date the inventory is "fetched"; every time is placed relative to it except
            the fixed facts (macOS releases, pre-June-2020 BYOD enrollments).
        apns_valid_days: days the APNs certificate stays valid after `as_of` (negative: expired);
            the default passes MAC-TEN-001/002, 10 fails TEN-002, -3 fails TEN-001 (TEN-002 is
            for certificates not yet expired).
        secure_by_default: Macs without a compliance policy are marked not compliant
            (MAC-POL-001 passes); the default fails it.
        filevault_assigned: the macOS policy requiring FileVault is assigned (MAC-POL-002
            passes); False leaves it unassigned.

    Raises:
        ConfigError: `devices` is below `MIN_DEVICES` or `seed` is negative.
    """
    if devices < MIN_DEVICES:
        raise ConfigError(f"sample: --devices must be at least {MIN_DEVICES} (got {devices})")
    if seed < 0:
        raise ConfigError(f"sample: --seed must be zero or positive (got {seed})")
    rng = np.random.Generator(np.random.PCG64(seed))
    tenant_id, group_policy_id = guids(rng, 2)
    token_ids = guids(rng, len(TOKENS))
    profiles = profiles_for(as_of)
    profile_ids = guids(rng, len(profiles))

    n_dem = max(1, round(devices * 0.015 / 700))
    dem_upns = (
        DEM_LABS,
        *(f"dem.enroll{j:02d}@contoso.com" for j in range(2, n_dem + 1)),
        DEM_EVENTS,
    )
    plan = draw_plan(rng, devices, as_of, profiles, n_dem)
    people = users(devices, rng)
    plan, people = _place(plan, people, as_of, profiles, dem_upns)
    frame = render(plan, people, rng, as_of, profiles, dem_upns)
    frame = _finish(frame, plan, as_of)
    frame = frame.sort_values("id", kind="stable").reset_index(drop=True)

    windows = windows_rows(rng, max(2, devices // 200), as_of)
    ade_counts = [
        int(plan["profile"].isin([i for i, p in enumerate(profiles) if p.token == t]).sum())
        for t in range(len(TOKENS))
    ]
    synced = [c + int(rng.integers(0, 1 + c // 20)) for c in ade_counts]
    apns = apns_certificate(rng, as_of, apns_valid_days)
    extra_rng = own_rng(seed)
    never_enrolled = [s - c for s, c in zip(synced, ade_counts, strict=True)]
    identities = imported_identities(
        frame, token_ids, profile_ids, never_enrolled, as_of, extra_rng
    )
    tokens = ade_tokens(token_ids, as_of, identities.counts)
    policies, policy_ids = compliance_policies(extra_rng)
    vpp = vpp_tokens(extra_rng, as_of)
    return SampleTenant(
        seed=seed,
        as_of=as_of,
        tenant_id=tenant_id,
        devices=frame,
        windows=windows,
        apns=apns,
        ade_tokens=tokens,
        ade_profiles=enrollment_profiles(profile_ids, token_ids, profiles, tenant_id),
        enrollment_configurations=enrollment_configurations(tenant_id, group_policy_id, as_of),
        expected=expected_outcomes(
            frame, tenant_id, apns, tokens, as_of, seed, Population(identities, vpp, policies)
        ),
        ade_identities=identities.pages,
        vpp_tokens=vpp,
        device_management=device_management(extra_rng, secure_by_default),
        compliance_policies=policies,
        compliance_assignments=compliance_assignments(
            extra_rng, policy_ids, filevault_assigned=filevault_assigned
        ),
    )


def _seconds(as_of: dt.date, when: str | int) -> int:
    if isinstance(when, str):
        return epoch(dt.date.fromisoformat(when)) + 9 * 3_600
    return epoch(as_of) - when * DAY - 2 * 3_600


def _place(
    plan: pd.DataFrame,
    people: pd.DataFrame,
    as_of: dt.date,
    profiles: tuple[Any, ...],
    dem_upns: tuple[str, ...],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Overwrite the first rows of the plan with the Macs placed on purpose."""
    extra: dict[str, int] = {}
    rows = []
    for spec in PINNED:
        if spec.user and spec.user[1] not in extra:
            extra[spec.user[1]] = len(people) + len(extra)
            display, upn, first = spec.user
            rows.append({"first": first, "last": "", "display": display, "upn": upn, "alias": ""})
    people = pd.concat([people, pd.DataFrame(rows)], ignore_index=True)
    profile_of = {p.name: i for i, p in enumerate(profiles)}
    plan = plan.copy()
    for i, spec in enumerate(PINNED):
        enrolled = _seconds(as_of, spec.enrolled)
        synced = (
            enrolled + 3_600
            if spec.synced == "never"
            else epoch(as_of) - int(float(spec.synced) * DAY)
        )
        values = {
            "user": extra[spec.user[1]] if spec.user else -1,
            "method": spec.method,
            "model": MODEL_INDEX[spec.model],
            "release": RELEASE_INDEX[spec.os],
            "profile": profile_of[spec.profile] if spec.profile else -1,
            "dem": dem_upns.index(spec.dem) if spec.method == DEM and spec.dem else -1,
            "personal": spec.personal,
            "approved": bool(spec.approved),
            "supervised": spec.supervised,
            "escrowed": bool(spec.escrowed),
            "encrypted": spec.encrypted is not False,
            "compliance": COMPLIANCE_CODE[spec.compliance],
            "enrolled": enrolled,
            "synced": synced,
            "marketing_model": False,
            "registered": spec.registered,
        }
        for column, value in values.items():
            plan.loc[i, column] = value
    return plan, people


def _finish(frame: pd.DataFrame, plan: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Apply the placed Macs' Graph-level quirks: names, copied serials, nulls, sentinels."""
    frame = frame.copy()
    frame["_key"] = None
    row_of: dict[str, int] = {}
    for i, spec in enumerate(PINNED):
        row_of[spec.key] = i
        _set(frame, i, "_key", spec.key)
        _set(frame, i, "deviceName", spec.name)
        if spec.synced == "never":
            _set(frame, i, "lastSyncDateTime", NEVER)
        if spec.encrypted is None:
            _set(frame, i, "isEncrypted", None)
        if spec.escrowed is None:
            _set(frame, i, "_has_details", False)
        if spec.same_serial_as:
            source = row_of[spec.same_serial_as]
            for column in ("serialNumber", "_udid", "wiFiMacAddress", "totalStorageSpaceInBytes"):
                _set(frame, i, column, frame.loc[source, column])
        for column, value in spec.raw.items():
            _set(frame, i, column, value)
    return frame


def _set(frame: pd.DataFrame, row: int, column: str, value: Any) -> None:
    frame.loc[row, column] = value


def pinned_spec(key: str) -> Pinned:
    """The placed Mac with this key (for tests and the expected map)."""
    return next(p for p in PINNED if p.key == key)
