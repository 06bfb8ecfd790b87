"""Waivers: load them, apply the unexpired ones (fail → waived), and report every waiver's fate.

A waiver names one rule, one selector (device id, serial, device-name pattern, ADE token,
DEM account or the tenant), a reason, an approver, a ticket and a mandatory expiry date.
Expired waivers stop applying and are listed; waivers that match no failing result are listed.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import tomllib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from auditor.errors import ConfigError
from auditor.models import Entity, Status

SELECTORS = ("device_id", "serial", "name", "token_id", "dem_upn", "tenant")
_REQUIRED = ("rule", "reason", "approver", "ticket", "expires")


@dataclass(frozen=True, slots=True)
class Waiver:
    """One accepted exception to a rule for the entities its selector matches."""

    id: str
    rule_id: str
    selector: str  # one of SELECTORS
    value: str  # the id, serial or glob pattern; "*" for the tenant
    reason: str
    approver: str
    ticket: str
    expires: dt.date
    origin: str  # "waivers.toml: waiver 3"

    def describe(self) -> str:
        """`serial C02XK1ZZJGH5` / `name LAB-*` / `tenant`."""
        return "tenant" if self.selector == "tenant" else f"{self.selector} {self.value}"


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


def load_waivers(path: Path, known_rules: Collection[str] = ()) -> tuple[list[Waiver], str]:
    """Read a waivers file (TOML `[[waiver]]` tables or YAML `waivers:` list) and its sha256.

    Every problem (missing fields, bad dates, rule ids not in `known_rules` when given) is
    reported in one ConfigError naming the file and the waiver.
    """
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig")
        if path.suffix.lower() in (".yaml", ".yml"):
            data = yaml.safe_load(text) or {}
            entries = data.get("waivers", []) if isinstance(data, Mapping) else data
        else:
            entries = tomllib.loads(text).get("waiver", [])
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: waiver file not found") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the waiver file: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot parse waivers: {exc}") from exc
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: expected a list of waivers ([[waiver]] tables or 'waivers:')")
    problems: list[str] = []
    waivers = [w for i, e in enumerate(entries, 1) if (w := _parse(e, i, path.name, problems))]
    if known_rules:
        problems += [
            f"{w.origin.split(': ', 1)[1]}: unknown rule id '{w.rule_id}'"
            for w in waivers
            if w.rule_id not in known_rules
        ]
    if problems:
        raise ConfigError(f"{path}: {len(problems)} problem(s):\n  - " + "\n  - ".join(problems))
    return waivers, hashlib.sha256(raw).hexdigest()


def _parse(entry: Any, number: int, name: str, problems: list[str]) -> Waiver | None:
    where = f"waiver {number}"
    if not isinstance(entry, Mapping):
        problems.append(f"{where}: expected a table of fields")
        return None
    missing = [k for k in _REQUIRED if not entry.get(k)]
    # `tenant = true` selects the tenant; `tenant = false` selects nothing, so it is no selector.
    selectors = [k for k in SELECTORS if k in entry and entry[k] is not False]
    unknown = sorted(set(entry) - {*_REQUIRED, *SELECTORS, "id"})
    if missing:
        problems.append(f"{where}: missing {', '.join(missing)}")
    if len(selectors) != 1:
        problems.append(f"{where}: give exactly one of {', '.join(SELECTORS)}")
    if unknown:
        problems.append(f"{where}: unknown field(s) {', '.join(unknown)}")
    expires = entry.get("expires")
    if isinstance(expires, str):
        try:
            expires = dt.date.fromisoformat(expires)
        except ValueError:
            problems.append(f"{where}: expires '{expires}' is not a date (YYYY-MM-DD)")
    if expires is not None and not isinstance(expires, dt.date):
        problems.append(f"{where}: expires must be a date (YYYY-MM-DD)")
    if missing or len(selectors) != 1 or unknown or not isinstance(expires, dt.date):
        return None
    selector = selectors[0]
    value = "*" if selector == "tenant" else str(entry[selector])
    return Waiver(
        id=str(entry.get("id") or f"W{number:03d}"),
        rule_id=str(entry["rule"]),
        selector=selector,
        value=value,
        reason=str(entry["reason"]),
        approver=str(entry["approver"]),
        ticket=str(entry["ticket"]),
        expires=expires if not isinstance(expires, dt.datetime) else expires.date(),
        origin=f"{name}: {where}",
    )


def apply_waivers(
    results: pd.DataFrame,
    frames: Mapping[str, pd.DataFrame],
    waivers: Sequence[Waiver],
    as_of: dt.date,
    digest: str = "",
) -> WaiverOutcome:
    """Turn failing results covered by an unexpired waiver into `waived`, with the waiver id."""
    status = results["status"].copy()
    waiver_ids = np.full(len(results), None, dtype=object)
    failing = (results["status"] == Status.FAIL.value).to_numpy()
    uses: list[WaiverUse] = []
    for waiver in waivers:
        if waiver.expires < as_of:
            uses.append(WaiverUse(waiver, WaiverState.EXPIRED, 0))
            continue
        hits = failing & _matches(results, frames, waiver) & pd.isna(waiver_ids)
        count = int(hits.sum())
        waiver_ids[hits] = waiver.id
        state = WaiverState.APPLIED if count else WaiverState.UNMATCHED
        uses.append(WaiverUse(waiver, state, count))
    status[pd.notna(waiver_ids)] = Status.WAIVED.value
    waived = results.assign(status=status, waiver_id=pd.array(waiver_ids, dtype="string"))
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
