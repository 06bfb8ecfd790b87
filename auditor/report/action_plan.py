"""The Action plan: one row per failing result with its owner, group, due date and link.

A failure is due `sla_days[severity]` days after it was first seen: the as-of date of the
period its failing streak began (history), else this run's as-of date (the clock starts when
the auditor first saw it). It is overdue when the due date lies before the as-of date.
The owner is the Mac's primary user (display name, else UPN); a Mac without one (shared, lab
or DEM-enrolled) is grouped as such, never given someone else's name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd

from auditor.clock import release_freed_memory
from auditor.config import OWNER_GROUPINGS
from auditor.models import BatchKind, Changes, Entity, Inventory, PartState, Severity, Status
from auditor.normalize.schema import BOOLEAN, INT, STRING, TIMESTAMP
from auditor.report.findings import KEY, Columns
from auditor.report.frames import codes, column, sort_codes, take
from auditor.report.links import device_links
from auditor.report.model import SeverityCount

NO_OWNER = "No owner (shared, lab or DEM)"
NOT_A_MAC = "Tenant-level (no Mac)"
NO_CATEGORY = "No device category"
NO_DEPARTMENT = "No department in Entra"
NOT_IN_ENTRA = "Owner not found in Entra (deleted?)"
DEPARTMENT_UNKNOWN = "Department unknown (Entra lookup {state})"
NO_SCOPE_TAGS = "Scope tags not collected"
GROUPINGS = OWNER_GROUPINGS  # the values `owners.group_by` takes, defined with the configuration
ACTION_PLAN_SCHEMA: Columns = {
    "group": (STRING, "Where the fix is handed off (`owners.group_by`): the Mac's Intune device "
              "category, its owner, the owner's Entra department or the Mac's scope tags; Macs "
              "without an owner are their own group, and so are Macs whose department is "
              "unknown (lookup not done, denied, or the owner not found)."),
    "owner": (STRING, "The Mac's primary user: display name, else UPN; NA without one."),
    "owner_upn": (STRING, "The primary user's UPN."),
    "department": (STRING, "The owner's Entra department; NA when unknown (see `group`)."),
    "manager": (STRING, "The owner's manager in Entra (display name, else UPN)."),
    "office": (STRING, "The owner's Entra office location."),
    "scope_tags": (STRING, "The Mac's Intune role scope tags by name, `; `-separated."),
    "enrolled_by_upn": (STRING, "The account that enrolled the Mac."),
    "device_category": (STRING, "The Mac's Intune device category."),
    "entity_type": (STRING, "`device`, or the tenant-level entity that fails."),
    "entity_id": (STRING, "The entity's id."),
    "device_name": (STRING, "The Mac's (or token's) name."),
    "serial_number": (STRING, "The Mac's serial number."),
    "rule_id": (STRING, "Rule id."),
    "problem": (STRING, "What the failure means."),
    "severity": (STRING, "The rule's severity."),
    "first_seen": (TIMESTAMP, "When its failing streak began (history), else this as-of date."),
    "due": (TIMESTAMP, "first_seen + the severity's SLA days; NA when the severity has none."),
    "days_left": (INT, "Days from the as-of date to the due date (negative: overdue)."),
    "overdue": (BOOLEAN, "The due date lies before the as-of date."),
    "link": (STRING, "The Mac's page in the Intune admin center."),
}  # fmt: skip
_RANK = {s.value: s.rank for s in Severity}
# What the hand-off groups are made of, and what a row of the plan shows (the Mac's fields).
GROUP_FIELDS = (
    "user_display_name", "upn", "owner_department", "device_category", "scope_tags",
)  # fmt: skip
PLAN_FIELDS = (
    "device_id", "device_name", "serial_number", "upn", "user_display_name", "enrolled_by_upn",
    "device_category", "scope_tags", "owner_department", "owner_manager", "owner_office",
)  # fmt: skip
PERMISSION = "the app needs User.Read.All"


def action_plan(
    results: pd.DataFrame,
    inventory: Inventory,
    problems: Mapping[str, str],
    changes: Changes | None,
    as_of: dt.date,
    sla_days: Mapping[str, int],
    *,
    group_by: str = "category",
    cloud: str = "global",
    tenant_id: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every failing result as a row of `ACTION_PLAN_SCHEMA`, by severity, due date, group.

    Also returns each row's group under every grouping (columns `GROUPINGS`, same rows), for
    `run --split-by`.
    """
    failing = results.loc[codes(results["status"]) == Status.FAIL.code]
    ids = {c: failing[c].astype("string").reset_index(drop=True) for c in (*KEY, "severity")}
    is_device = (ids["entity_type"] == Entity.DEVICE.value).to_numpy(dtype=bool)
    rows = np.where(is_device, failing["row"].to_numpy(dtype=np.int64), -1)
    devices = inventory.devices

    def fields(names: tuple[str, ...], at: np.ndarray) -> dict[str, pd.Series]:
        return {name: pd.Series(take(column(devices, name), at), dtype="string") for name in names}

    # The groups decide the order; the rows are then built once, in that order (no copy).
    grouped_by = fields(GROUP_FIELDS, rows)
    owner = grouped_by["user_display_name"].fillna(grouped_by["upn"])
    found = pd.Series(take(column(devices, "owner_in_entra"), rows), dtype="boolean")
    groups = hand_off_groups(owner, grouped_by, found, is_device, lookup_state(inventory))
    first_seen = _first_seen(ids, changes, as_of)
    sla = ids["severity"].map(lambda s: sla_days.get(str(s))).astype("Int64")
    due = first_seen + pd.to_timedelta(sla.astype("float64"), unit="D")
    # By severity, due date, group, rule, entity; missing last (np.lexsort: last key first).
    rank = ids["severity"].map(_RANK).fillna(len(_RANK)).to_numpy(dtype=np.int64)
    due_key = np.where(due.isna().to_numpy(), np.iinfo(np.int64).max, due.array.asi8)
    order = np.lexsort((
        sort_codes(ids["entity_id"]), sort_codes(ids["rule_id"]), sort_codes(groups[group_by]),
        due_key, rank,
    ))  # fmt: skip
    del grouped_by, owner, found, rank, due_key
    release_freed_memory()  # the grouping's scratch, before the rows are taken

    def ordered(values: pd.Series) -> pd.Series:
        return values.take(order).reset_index(drop=True)

    # Built column by column in that order; repeated texts become categories at once, so the
    # strings of one column go before the next is taken (at 500k Macs, ~540k rows each).
    by_grouping = pd.DataFrame(
        {by: _as_category(ordered(groups.pop(by))) for by in list(groups)}, copy=False
    )
    is_device = is_device[order]
    ids = {c: ordered(v) for c, v in ids.items()}
    due, first_seen = ordered(due), ordered(first_seen)
    field = fields(PLAN_FIELDS, rows[order])
    days_left = ((due - pd.Timestamp(as_of, tz="UTC")).dt.days).astype("Int64")
    owner = field["user_display_name"].fillna(field["upn"])
    plan = pd.DataFrame({
        "group": by_grouping[group_by], "owner": owner, "owner_upn": field.pop("upn"),
        **{name: _as_category(field.pop(source)) for name, source in (
            ("department", "owner_department"), ("manager", "owner_manager"),
            ("office", "owner_office"), ("scope_tags", "scope_tags"),
        )},
        "enrolled_by_upn": field.pop("enrolled_by_upn"),
        "device_category": _as_category(field.pop("device_category")),
        "entity_type": _as_category(ids["entity_type"]), "entity_id": ids["entity_id"],
        # Tenant-level entities: their own name, no Mac fields.
        "device_name": field.pop("device_name").where(is_device, ids["entity_id"]),
        "serial_number": field.pop("serial_number"),
        "rule_id": _as_category(ids["rule_id"]),
        "problem": _as_category(ids["rule_id"].map(problems).astype("string")),
        "severity": _as_category(ids["severity"]), "first_seen": first_seen, "due": due,
        "days_left": days_left, "overdue": (days_left < 0).astype("boolean"),
    }, copy=False)  # fmt: skip
    del ids
    plan["link"] = device_links(field["device_id"], cloud, tenant_id)  # NA where no Mac
    return plan, by_grouping


def _as_category(values: pd.Series) -> pd.Categorical:
    """A column whose texts repeat row after row, stored once each (reads the same).

    At 500k Macs the plan has ~540k rows; its groups, departments and problems a few hundred
    distinct texts.
    """
    return pd.Categorical(values)


def lookup_state(inventory: Inventory) -> str:
    """How the Entra owner lookup ended: `not done`, or the gap's state (denied, failed …)."""
    for gap in inventory.gaps:
        if gap.part == BatchKind.ENTRA_USERS:
            if gap.state is PartState.DENIED:
                return f"denied; {PERMISSION}"
            return gap.state.value.replace("_", " ")
    return "not done"


def hand_off_groups(
    owner: pd.Series,
    field: Mapping[str, pd.Series],
    found: pd.Series,
    is_device: np.ndarray,
    state: str,
) -> dict[str, pd.Series]:
    """Each row's hand-off group under every grouping (`GROUPINGS`).

    Macs without an owner and tenant entities are named groups under every grouping; so are
    owners whose department the lookup could not give (not done, denied, not found, empty).
    """
    department = field["owner_department"].copy()
    is_found = found.fillna(False).to_numpy(dtype=bool)
    is_gone = (~found.fillna(True)).to_numpy(dtype=bool)
    department[is_found & department.isna().to_numpy()] = NO_DEPARTMENT
    department[is_gone] = NOT_IN_ENTRA
    department = department.fillna(DEPARTMENT_UNKNOWN.format(state=state))
    chosen = {
        "category": field["device_category"].fillna(NO_CATEGORY),
        "owner": owner,
        "department": department,
        "scope_tag": field["scope_tags"].fillna(NO_SCOPE_TAGS),
    }
    groups = {}
    for by, values in chosen.items():
        group = values.astype("string").copy()
        if by != "scope_tag":  # scope tags belong to the Mac, owner or not
            group[owner.isna().to_numpy()] = NO_OWNER
        group[~is_device] = NOT_A_MAC
        groups[by] = group
    return groups


def _first_seen(ids: Mapping[str, pd.Series], changes: Changes | None, as_of: dt.date) -> pd.Series:
    """When each failure's streak began: its first period's as-of date, else `as_of`."""
    size = len(ids["rule_id"])
    fallback = pd.Series(pd.Timestamp(as_of, tz="UTC"), index=range(size), dtype=TIMESTAMP)
    if changes is None or "first_seen_on" not in changes.first_seen or not size:
        return fallback
    seen = changes.first_seen[[*KEY, "first_seen_on"]].astype({k: "string" for k in KEY})
    merged = pd.DataFrame({k: ids[k] for k in KEY}).merge(
        seen.drop_duplicates(list(KEY)), on=list(KEY), how="left"
    )
    dates: pd.Series = pd.to_datetime(merged["first_seen_on"], utc=True, errors="coerce")
    return dates.astype("datetime64[us, UTC]").fillna(fallback)


def overdue_by_severity(plan: pd.DataFrame) -> tuple[SeverityCount, ...]:
    """Overdue failing results per severity, and the distinct Macs among them."""
    overdue = plan[plan["overdue"].fillna(False).to_numpy(dtype=bool)]
    is_device = overdue["entity_type"] == Entity.DEVICE.value
    return tuple(
        SeverityCount(
            s.value,
            int((overdue["severity"] == s.value).sum()),
            int(overdue.loc[is_device & (overdue["severity"] == s.value), "entity_id"].nunique()),
        )
        for s in Severity
    )
