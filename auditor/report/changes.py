"""The month-over-month view: counts, per-rule deltas, the trend and every changed finding."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd
from pandas.api.types import pandas_dtype

from auditor.models import Changes, Severity
from auditor.normalize.schema import INT, STRING
from auditor.report.attribution import (
    CAUSE_GROUPS,
    catalogue_records,
    cause_counts,
    cause_lines,
    posture_delta,
    resolution_counts,
)
from auditor.report.findings import Columns
from auditor.report.frames import column
from auditor.report.model import ChangeItem, ChangesView, RuleDelta, TrendPoint
from auditor.report.plain import scalar, text

TREND_POINTS = 12
CHANGES = ("new", "persisting", "resolved")  # in the order the items table lists them
CHANGE_ITEMS_SCHEMA: Columns = {
    "change": (STRING, "`new`, `persisting` or `resolved` since the previous period."),
    "rule_id": (STRING, "Rule id."),
    "severity": (STRING, "The rule's severity (for resolved: as it was)."),
    "entity_type": (STRING, "`device`, `tenant`, `ade_token` or `dem_account`."),
    "entity_id": (STRING, "The entity's id."),
    "device_name": (STRING, "The Mac's or token's name."),
    "serial_number": (STRING, "The Mac's serial number."),
    "now": (STRING, "For resolved: pass, not_applicable, unknown, waived or retired."),
    "months_failing": (INT, "For persisting: months the failing streak has lasted."),
    "cause": (
        STRING,
        "For new and persisting: why the failure (its streak) began: new_mac, "
        "regressed, now_reported (the Mac's own change), catalogue, parameter, "
        "grace_ended, rule_added, waiver_ended (the bar moved), or undetermined.",
    ),
    "cause_group": (
        STRING,
        "The cause's heading: mac (the Mac changed), bar (the bar moved), "
        "new (a new Mac) or undetermined.",
    ),
    "resolution": (
        STRING,
        "For resolved: fixed, relaxed (the bar was lowered), waived, "
        "unknown (no longer judged) or retired (the Mac is gone).",
    ),
}
_ITEMS = CHANGE_ITEMS_SCHEMA.items()
_RANK = {s.value: s.rank for s in Severity}


def changes_view(
    changes: Changes,
    titles: Mapping[str, str],
    cap: int,
    problems: Mapping[str, str] | None = None,
    exploited_rule_ids: frozenset[str] = frozenset(),
) -> ChangesView:
    """Counts, per-rule deltas, the trend, the first new/resolved findings and their causes.

    `problems` words each rule's failure for the cause sentences (default: its title);
    `exploited_rule_ids` are the rules a newly exploited CVE explains (group `exploited`).
    """
    per_rule = changes.per_rule.sort_values("rule_id")
    severities = _rule_severities(changes)
    records: list[dict[Any, Any]] = per_rule.to_dict("records")
    deltas = tuple(
        RuleDelta(
            rule_id=str(r["rule_id"]),
            title=titles.get(str(r["rule_id"]), ""),
            severity=severities.get(str(r["rule_id"]), ""),
            previous_fail=int(r["previous_fail"]),
            current_fail=int(r["current_fail"]),
            new=int(r["new"]),
            resolved=int(r["resolved"]),
            persisting=int(r["persisting"]),
            delta=int(r["current_fail"]) - int(r["previous_fail"]),
        )
        for r in records
        if int(r["new"]) or int(r["resolved"]) or int(r["previous_fail"]) != int(r["current_fail"])
    )
    trend_records: list[dict[Any, Any]] = (
        changes.trend.sort_values("period").tail(TREND_POINTS).to_dict("records")
    )
    trend = tuple(
        TrendPoint(
            period=str(r["period"]),
            devices=int(r["devices"]),
            failing_devices=int(r["failing_devices"]),
            posture_pct=None if scalar(r["posture_pct"]) is None else round(r["posture_pct"], 1),
            fail_by_severity=tuple(
                (s.value, int(r[f"fail_{s}"])) for s in Severity if f"fail_{s}" in r
            ),
        )
        for r in trend_records
    )
    new_counts = column(changes.new, "severity").astype("string").value_counts()
    by_group, by_cause = cause_counts(changes)
    catalogue = catalogue_records(changes)
    previous_posture, delta = posture_delta(changes.trend, changes.previous_period)
    moved = changes.param_changes
    return ChangesView(
        current_period=changes.current_period,
        previous_period=changes.previous_period,
        new=len(changes.new),
        resolved=len(changes.resolved),
        persisting=len(changes.persisting),
        new_by_severity=tuple((s.value, int(new_counts.get(s.value, 0))) for s in Severity),
        per_rule=deltas,
        trend=trend,
        new_items=_change_items(changes.new, cap),
        new_more=max(len(changes.new) - cap, 0),
        resolved_items=_change_items(changes.resolved, cap),
        resolved_more=max(len(changes.resolved) - cap, 0),
        items=change_items_table(changes),
        previous_as_of=(
            dt.date.fromisoformat(changes.previous_as_of) if changes.previous_as_of else None
        ),
        previous_posture_pct=previous_posture,
        posture_delta_pts=delta,
        new_by_group=by_group,
        new_by_cause=by_cause,
        resolved_by_kind=resolution_counts(changes),
        causes=cause_lines(changes, problems or titles, exploited_rule_ids, catalogue),
        catalogue_changes=catalogue,
        param_changes=tuple(
            (str(r["rule_id"]), str(r["name"]), str(r["before"]), str(r["after"]))
            for r in (moved.to_dict("records") if len(moved) else [])
        ),
    )


def change_items_table(changes: Changes) -> pd.DataFrame:
    """Every new, persisting and resolved finding in one sorted frame (`CHANGE_ITEMS_SCHEMA`)."""
    frames = {"new": changes.new, "persisting": changes.persisting, "resolved": changes.resolved}
    parts = [frames[name].assign(change=name) for name in CHANGES if len(frames[name])]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=str(dtype)) for c, (dtype, _) in _ITEMS})
    items = pd.concat(parts, ignore_index=True)
    if "cause" in items:
        items["cause_group"] = items["cause"].astype("string").map(CAUSE_GROUPS)
    table = pd.DataFrame(
        {c: column(items, c, str(dtype)).astype(pandas_dtype(dtype)) for c, (dtype, _) in _ITEMS}
    )
    keys = pd.DataFrame(
        {
            "change": table["change"].map(CHANGES.index),
            "rank": table["severity"].map(_RANK),
            "rule_id": table["rule_id"],
            "entity_id": table["entity_id"],
        }
    )
    order = keys.sort_values(list(keys.columns), na_position="last").index
    return table.loc[order].reset_index(drop=True)


def _rule_severities(changes: Changes) -> dict[str, str]:
    found: dict[str, str] = {}
    for frame in (changes.new, changes.resolved, changes.persisting):
        if len(frame) and "severity" in frame:
            pairs = frame[["rule_id", "severity"]].astype("string").drop_duplicates()
            found.update(zip(pairs["rule_id"], pairs["severity"], strict=True))
    return found


def _change_items(frame: pd.DataFrame, cap: int) -> tuple[ChangeItem, ...]:
    if not len(frame):
        return ()
    ordered = frame.assign(_rank=column(frame, "severity").astype("string").map(_RANK)).sort_values(
        ["_rank", "rule_id", "entity_id"], key=_sort_key, na_position="last"
    )
    head = ordered.head(cap)
    return tuple(
        ChangeItem(
            rule_id=str(rule_id),
            severity=text(severity) or "",
            entity_id=str(entity_id),
            device_name=text(name),
            serial_number=text(serial),
        )
        for rule_id, severity, entity_id, name, serial in zip(
            head["rule_id"],
            column(head, "severity"),
            head["entity_id"],
            column(head, "device_name"),
            column(head, "serial_number"),
            strict=True,
        )
    )


def _sort_key(values: pd.Series) -> pd.Series:
    return values if values.name == "_rank" else values.astype("string")
