"""The two long tables: every non-passing result (findings) and one row per Mac (devices).

Both are declared like the canonical frames (column → dtype, meaning), and built in the
declared order; the workbook, findings.json and the tests read the declarations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from auditor.models import SEVERITIES, STATUSES, Changes, Entity, Inventory, Severity, Status
from auditor.normalize.schema import DEVICE_SCHEMA, INT, STRING, TIMESTAMP
from auditor.report.frames import codes, column, equals, is_one_of, sort_codes, take
from auditor.report.tenant import entity_names

Columns = Mapping[str, tuple[str | pd.CategoricalDtype, str]]  # column → (dtype, meaning)
NON_PASSING = (Status.FAIL, Status.UNKNOWN, Status.WAIVED)
KEY = ("rule_id", "entity_type", "entity_id")

FINDINGS_SCHEMA: Columns = {
    "severity": (STRING, "The rule's severity (configured overrides applied)."),
    "rule_id": (STRING, "Rule id."),
    "title": (STRING, "The rule's passing state."),
    "status": (STRING, "`fail`, `unknown` or `waived`."),
    "entity_type": (STRING, "`device`, `tenant`, `ade_token` or `dem_account`."),
    "entity_id": (STRING, "The entity's id in its frame (device id, token id, DEM UPN …)."),
    "entity_name": (STRING, "What a reader recognises: Mac name, token name, DEM UPN, `tenant`."),
    **{
        name: (STRING, f"{DEVICE_SCHEMA[name][1]} NA for other entities.")
        for name in ("device_id", "serial_number", "device_name", "upn", "os_version")
    },
    "owner": (STRING, "The Mac's primary user: display name, else UPN (added in issue 17)."),
    "last_sync_at": (TIMESTAMP, "The Mac's last check-in, UTC; NA for other entities."),
    "detail": (STRING, "Why it fails, or what it could not decide from."),
    "waiver_id": (STRING, "The waiver that covers a waived result."),
    "first_seen": (STRING, "`YYYY-MM` its failing streak began (with history; NA otherwise)."),
    "months_failing": (INT, "Months the streak has lasted, this one included (with history)."),
}
DEVICE_FIELDS = (
    "device_name", "serial_number", "device_id", "model", "model_identifier", "chip",
    "processor_arch", "is_vm", "vm_evidence", "os_version", "os_build", "os_rsr", "os_major",
    "ownership", "enrollment_method", "enrollment_profile", "has_user_affinity", "is_supervised",
    "user_approved", "bootstrap_escrowed", "is_encrypted", "compliance_state", "enrolled_at",
    "last_sync_at", "upn", "enrolled_by_upn", "udid", "source", "source_record",
    "user_display_name", "device_category",
)  # fmt: skip
WORST = pd.CategoricalDtype(SEVERITIES.categories)  # unordered, as the workbook filters it
DEVICE_TABLE_SCHEMA: Columns = {
    **{name: DEVICE_SCHEMA[name] for name in DEVICE_FIELDS},
    "failing_rules": (INT, "Device rules the Mac fails (waived is not failing)."),
    "worst_severity": (WORST, "Severity of its worst failing rule; NA when it fails none."),
}
RULE_STATUS_COLUMN = (STATUSES, "One column per device rule, named by its id: the Mac's status.")


def findings_table(
    results: pd.DataFrame,
    inventory: Inventory,
    titles: Mapping[str, str],
    changes: Changes | None,
) -> pd.DataFrame:
    """One row per non-passing result (`FINDINGS_SCHEMA`), by severity, rule id and entity id."""
    devices = inventory.devices
    status = codes(results["status"])
    sub = results.loc[is_one_of(status, [s.code for s in NON_PASSING])]
    ids = {c: sub[c].astype("string") for c in ("rule_id", "entity_type", "entity_id")}
    order = np.lexsort(
        (sort_codes(ids["entity_id"]), sort_codes(ids["rule_id"]), codes(sub["severity"]))
    )
    sub = sub.iloc[order]
    ids = {c: values.iloc[order].reset_index(drop=True) for c, values in ids.items()}
    is_device = equals(sub["entity_type"], Entity.DEVICE.value)
    rows = np.where(is_device, sub["row"].to_numpy(dtype=np.int64), -1)
    fields = {name: take(column(devices, name), rows) for name in FINDINGS_SCHEMA if name in
              ("device_id", "serial_number", "device_name", "upn", "os_version")}  # fmt: skip
    named = entity_names(inventory, ids["entity_type"], ids["entity_id"])
    text = {c: sub[c].astype("string").array for c in ("severity", "status", "detail", "waiver_id")}
    built = {
        **text,
        **ids,
        "title": ids["rule_id"].map(titles).astype("string"),
        "entity_name": pd.array(np.where(is_device, fields["device_name"], named), dtype="string"),
        **fields,
        "last_sync_at": take(column(devices, "last_sync_at", TIMESTAMP), rows),
        "owner": pd.Series(take(column(devices, "user_display_name"), rows), dtype="string")
        .fillna(pd.Series(fields["upn"], dtype="string"))
        .array,
        **_streaks(ids, changes),
    }
    return pd.DataFrame({name: built[name] for name in FINDINGS_SCHEMA})


def _streaks(ids: Mapping[str, pd.Series], changes: Changes | None) -> dict[str, pd.Series]:
    """`first_seen` and `months_failing` of each finding from history (NA without it)."""
    size = len(ids["rule_id"])
    streaks = {
        "first_seen": pd.Series(pd.NA, index=range(size), dtype="string"),
        "months_failing": pd.Series(pd.NA, index=range(size), dtype="Int64"),
    }
    if changes is None or not len(changes.first_seen) or not size:
        return streaks
    seen = changes.first_seen[[*KEY, "first_seen", "months_failing"]].astype(
        {key: "string" for key in KEY}
    )
    merged = pd.DataFrame(dict(ids)).merge(
        seen.drop_duplicates(list(KEY)), on=list(KEY), how="left"
    )
    return {
        "first_seen": merged["first_seen"].astype("string"),
        "months_failing": merged["months_failing"].astype("Int64"),
    }


def device_table(
    devices: pd.DataFrame, results: pd.DataFrame, rule_ids: Sequence[str]
) -> tuple[pd.DataFrame, np.ndarray]:
    """One row per Mac (`DEVICE_TABLE_SCHEMA` then a status column per rule id), by id and name.

    Also returns each Mac's worst failing severity rank (len(Severity) = none), in inventory
    order, for the summary.
    """
    size = len(devices)
    # Column by column, never a copy of the device results (millions of rows at 500k Macs).
    is_device = equals(results["entity_type"], Entity.DEVICE.value)
    rows = results["row"].to_numpy()[is_device]
    status = codes(results["status"])[is_device]
    column_of = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    rule_cat = results["rule_id"].astype("category")
    lookup = np.array(
        [column_of.get(str(c), -1) for c in rule_cat.cat.categories] + [-1], dtype=np.int16
    )
    rule_col = lookup[rule_cat.cat.codes.to_numpy()[is_device]]
    known = rule_col >= 0
    matrix = np.full((size, len(rule_ids)), -1, dtype=np.int8)
    matrix[rows[known], rule_col[known]] = status[known]
    failing = status == Status.FAIL.code
    worst = np.full(size, len(Severity), dtype=np.int8)
    np.minimum.at(worst, rows[failing], codes(results["severity"])[is_device][failing])
    # Sorted once, column by column: no second copy of the whole table.
    order = np.lexsort(
        [sort_codes(column(devices, k, DEVICE_SCHEMA[k][0])) for k in ("device_id", "device_name")]
    )
    built: dict[str, object] = {
        name: take(column(devices, name, DEVICE_SCHEMA[name][0]), order) for name in DEVICE_FIELDS
    }
    built["failing_rules"] = pd.array(np.bincount(rows[failing], minlength=size)[order], "Int64")
    built["worst_severity"] = pd.Categorical.from_codes(
        np.where(worst < len(Severity), worst, -1)[order], dtype=WORST
    )
    for i, rule_id in enumerate(rule_ids):
        built[rule_id] = pd.Categorical.from_codes(matrix[order, i], dtype=STATUSES)
    return pd.DataFrame(built, copy=False), worst
