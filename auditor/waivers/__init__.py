"""Waivers: apply the unexpired ones (fail → waived), and report every waiver's fate.

A waiver names one rule, one selector (device id, serial, device-name pattern, ADE token,
DEM account or the tenant), a reason, an approver, a ticket and a mandatory expiry date;
`waivers.file` reads and checks them. Expired waivers stop applying and are listed; waivers
that match no failing result are listed.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from auditor.models import Entity, Status
from auditor.waivers.file import SELECTORS, Waiver, WaiverRules, load_waivers

__all__ = [
    "SELECTORS",
    "Waiver",
    "WaiverOutcome",
    "WaiverRules",
    "WaiverState",
    "WaiverUse",
    "apply_waivers",
    "load_waivers",
]


class WaiverState(StrEnum):
    """What became of a waiver in one run, in the order reports list them."""

    APPLIED = "applied"  # covers at least one failing result
    EXPIRED = "expired"  # past its expiry date: covers nothing, listed so it gets renewed
    UNMATCHED = "unmatched"  # unexpired, but no failing result of its rule matches it


@dataclass(frozen=True, slots=True)
class WaiverUse:
    """What became of one waiver in this run."""

    waiver: Waiver
    state: WaiverState
    matched: int


@dataclass(slots=True)
class WaiverOutcome:
    """Results with waived statuses, every waiver's fate, and the waiver file's digest."""

    results: pd.DataFrame
    uses: list[WaiverUse]
    digest: str = ""


def apply_waivers(
    results: pd.DataFrame,
    frames: Mapping[str, pd.DataFrame],
    waivers: Sequence[Waiver],
    as_of: dt.date,
    digest: str = "",
) -> WaiverOutcome:
    """Turn failing results covered by an unexpired waiver into `waived`, with the waiver id."""
    status = results["status"].copy()
    # Each result's waiver as a category code (-1: none): 4 bytes a result, not a string.
    ids: dict[str, int] = {}
    chosen = np.full(len(results), -1, dtype=np.int32)
    failing = (results["status"] == Status.FAIL.value).to_numpy()
    uses: list[WaiverUse] = []
    for waiver in waivers:
        if waiver.expires < as_of:
            uses.append(WaiverUse(waiver, WaiverState.EXPIRED, 0))
            continue
        hits = failing & _matches(results, frames, waiver) & (chosen < 0)
        count = int(hits.sum())
        chosen[hits] = ids.setdefault(waiver.id, len(ids))
        state = WaiverState.APPLIED if count else WaiverState.UNMATCHED
        uses.append(WaiverUse(waiver, state, count))
    status[chosen >= 0] = Status.WAIVED.value
    waiver_id = pd.Categorical.from_codes(chosen, categories=pd.Index(list(ids), dtype="str"))
    waived = results.assign(status=status, waiver_id=waiver_id)
    return WaiverOutcome(results=waived, uses=uses, digest=digest)


def _matches(results: pd.DataFrame, frames: Mapping[str, pd.DataFrame], waiver: Waiver) -> Any:
    """Boolean array over `results`: rows of the waiver's rule whose entity it selects."""
    of_rule = (results["rule_id"] == waiver.rule_id).to_numpy()
    if waiver.selector == "tenant":
        return of_rule & (results["entity_type"] == Entity.TENANT.value).to_numpy()
    if waiver.selector in ("device_id", "token_id", "dem_upn"):
        # Intune ids are GUIDs and UPNs are case-insensitive: compare case-folded.
        ids = results["entity_id"].cat.categories.astype(str).str.casefold()
        chosen_codes = np.flatnonzero(ids == waiver.value.casefold())
        return of_rule & np.isin(results["entity_id"].cat.codes.to_numpy(), chosen_codes)
    devices = frames["devices"]
    if waiver.selector == "serial":
        chosen = devices["serial_number"].str.upper() == waiver.value.upper()
    else:
        pattern = fnmatch.translate(waiver.value)
        chosen = devices["device_name"].str.fullmatch(pattern, case=False)
    rows = np.flatnonzero(chosen.to_numpy(dtype=bool, na_value=False))
    is_device = (results["entity_type"] == Entity.DEVICE.value).to_numpy()
    return of_rule & is_device & np.isin(results["row"].to_numpy(), rows)
