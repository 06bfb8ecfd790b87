"""The Population section: the Macs Apple Business Manager assigns to the tenant, and their fate.

Counts come from the ADE identities frame (normalize.population), which already decided each
serial's match with the managed Macs; nothing here matches again. A number an incomplete part
cannot support is None, never a count of what happened to be collected.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from auditor.models import STATUSES, Entity, Inventory
from auditor.normalize.schema import ADE_IDENTITY_SCHEMA, NOT_COLLECTED, Schema
from auditor.report.frames import codes, column, equals, sort_codes, take
from auditor.report.model_population import Population, PopulationToken
from auditor.report.policies import gap_texts

IDENTITY_FIELDS = (
    "serial_number", "token_name", "enrollment_state", "imported_at", "is_enrolled",
    "device_name", "enrollment_method", "platform", "is_deleted", "last_contacted_at",
    "device_id", "token_id", "identity_id",
)  # fmt: skip
IDENTITY_TABLE_SCHEMA: Schema = {name: ADE_IDENTITY_SCHEMA[name] for name in IDENTITY_FIELDS}
_PARTS = ("ade_tokens", "ade_identities", "managed_devices")  # what the numbers rest on


def population(inventory: Inventory, results: pd.DataFrame, rule_ids: Sequence[str]) -> Population:
    """The population counts, per token, and the identities table with their rule statuses."""
    frame = inventory.ade_identities
    is_real = (column(frame, "identity_id") != NOT_COLLECTED).to_numpy(dtype=bool)

    def real(name: str, dtype: str = "string") -> pd.Series:  # one column, never the frame
        values: pd.Series = column(frame, name, dtype).astype(pd.api.types.pandas_dtype(dtype))
        return values[is_real]

    is_mac, deleted = real("is_mac", "boolean"), real("is_deleted", "boolean")
    is_assigned = (is_mac & ~deleted.fillna(False)).fillna(False).to_numpy(dtype=bool)
    enrolled = real("is_enrolled", "boolean")[is_assigned]
    method = real("enrollment_method")[is_assigned]
    matched = enrolled.to_numpy(dtype=bool, na_value=False)
    via_ade = matched & (method == "ade").to_numpy(dtype=bool, na_value=False)
    unknown_method = matched & (method.fillna("unknown") == "unknown").to_numpy(dtype=bool)
    reals = int(is_real.sum())
    collected = reals > 0 or len(frame) == 0
    device_list_whole = bool(enrolled.notna().all())
    has_placeholder = reals < len(frame)
    devices = inventory.devices
    has_serial = column(devices, "serial_number").notna().to_numpy(dtype=bool)
    abm = column(devices, "is_abm_assigned", "boolean").astype("boolean")[has_serial]

    def count(mask: np.ndarray | pd.Series) -> int | None:
        return int(np.asarray(mask, dtype=bool).sum()) if collected else None

    return Population(
        is_collected=collected,
        is_complete=collected and device_list_whole and not has_placeholder,
        assigned=count(is_assigned),
        enrolled=count(matched),
        enrolled_via_ade=count(via_ade),
        enrolled_otherwise=count(matched & ~via_ade),
        enrolled_method_unknown=count(unknown_method),
        not_enrolled=count(~matched),
        never_enrolled=count(~matched) if device_list_whole else None,
        deleted_in_abm=count(deleted.fillna(False).to_numpy(dtype=bool)),
        platform_not_reported=count((is_mac.isna() & ~deleted.fillna(False)).to_numpy(dtype=bool)),
        managed_not_in_abm=int((abm == False).sum()) if abm.notna().all() else None,  # noqa: E712
        devices_without_serial=int((~has_serial).sum()),
        tokens=_per_token(real("token_name")[is_assigned], via_ade, matched) if collected else (),
        gaps=gap_texts(inventory.gaps, _PARTS),
        identities=_identity_table(frame, results, rule_ids),
        rule_ids=tuple(rule_ids),
    )


def _per_token(
    token_names: pd.Series, via_ade: np.ndarray, matched: np.ndarray
) -> tuple[PopulationToken, ...]:
    """Assigned, enrolled (via ADE or otherwise) and not enrolled per token, by token name."""
    names = token_names.fillna("token not named").to_numpy()
    rows = []
    for name in sorted(set(names.tolist())):
        mine = names == name
        rows.append(
            PopulationToken(
                token_name=str(name),
                assigned=int(mine.sum()),
                enrolled_via_ade=int((mine & via_ade).sum()),
                enrolled_otherwise=int((mine & matched & ~via_ade).sum()),
                not_enrolled=int((mine & ~matched).sum()),
            )
        )
    return tuple(rows)


def _identity_table(
    frame: pd.DataFrame, results: pd.DataFrame, rule_ids: Sequence[str]
) -> pd.DataFrame:
    """One row per serial (`IDENTITY_TABLE_SCHEMA`) and a status column per rule, by serial."""
    size = len(frame)
    # Sorted first, then each column taken once in that order (no copy of the whole table).
    order = np.lexsort([
        sort_codes(column(frame, k, IDENTITY_TABLE_SCHEMA[k][0]))
        for k in ("identity_id", "serial_number")
    ])  # fmt: skip
    table: dict[str, object] = {
        name: take(column(frame, name, dtype), order)
        for name, (dtype, _) in IDENTITY_TABLE_SCHEMA.items()
    }
    is_mine = equals(results["entity_type"], Entity.ADE_IDENTITY.value)
    rows = results["row"].to_numpy()[is_mine]
    status = codes(results["status"])[is_mine]
    rule_of = results["rule_id"][is_mine]
    for rule_id in rule_ids:
        values = np.full(size, -1, dtype=np.int8)
        chosen = equals(rule_of, rule_id)
        values[rows[chosen]] = status[chosen]
        table[rule_id] = pd.Categorical.from_codes(values[order], dtype=STATUSES)
    return pd.DataFrame(table, copy=False)
