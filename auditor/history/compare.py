"""Two stored runs matched by (rule id, entity type, entity id): new, resolved, persisting, streaks.

Pure numpy over the stored forms; no database access.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from auditor.history.schema import FAIL, STATUS_CODES
from auditor.history.stored import StoredRun
from auditor.models import Changes


@dataclass(slots=True)
class Matched:
    """Failures of two periods as (rule_no, entity_no) pairs in the current period's numbering.

    Entities gone since the previous period are appended to `universe` after the current ones.
    """

    current: StoredRun
    previous: StoredRun | None
    universe: pd.DataFrame
    rank: np.ndarray  # each universe entity's position when sorted by type, then id
    severity_before: np.ndarray  # per current rule_no
    fails: np.ndarray
    was: np.ndarray  # previous failures of rules evaluated now
    is_new: np.ndarray  # per row of `fails`
    is_resolved: np.ndarray  # per row of `was`
    now: np.ndarray  # status now of each row of `was`; retired when the entity is gone
    first_seen: np.ndarray  # per row of `fails`
    cause: np.ndarray  # per row of `fails`: why its streak began (`causes`; None: not known)
    rule_map: np.ndarray  # previous rule_no → current rule_no (-1: not evaluated now)
    entity_map: np.ndarray  # previous entity_no → position in `universe`
    resolution: np.ndarray  # per row of `was`: fixed, relaxed, waived, unknown or retired

    def changes(
        self,
        trend: pd.DataFrame,
        dates: Mapping[str, str] | None = None,
        moved: tuple[pd.DataFrame, pd.DataFrame] | None = None,
    ) -> Changes:
        """The Changes record of this comparison.

        `dates` maps periods to their as-of dates (for `first_seen_on`); `moved` holds what
        the catalogue added and which parameters changed (`bars.bar_changes`).
        """
        first = pd.Series(self.first_seen, dtype="string")
        first_on = first.map(dict(dates or {})).astype("string")
        months = (month_number(self.current.period) - month_number(first) + 1).astype("Int64")
        has_previous = self.previous is not None
        is_new, is_persisting = self.is_new & has_previous, ~self.is_new & has_previous
        severity_now = self.current.rules["severity"].to_numpy(dtype=object)
        rank = self.rank
        parts = {
            "previous_fail": self.was,
            "current_fail": self.fails,
            "new": self.fails[is_new],
            "resolved": self.was[self.is_resolved],
            "persisting": self.fails[is_persisting],
        }
        per_rule = pd.DataFrame({"rule_id": self.current.rules["rule_id"].astype("string")})
        for column, pairs in parts.items():  # all 0 but current_fail without a previous period
            counts = np.bincount(pairs[:, 0], minlength=len(per_rule))
            per_rule[column] = pd.array(counts, dtype="Int64")
        cause = pd.Series(self.cause, dtype="string")
        resolution = self.resolution
        return Changes(
            current_period=self.current.period,
            previous_period=self.previous.period if self.previous else None,
            first_seen=self._frame(self.fails, rank, first_seen=first, months_failing=months,
                                   cause=cause, first_seen_on=first_on),
            new=self._frame(parts["new"], rank, severity_now,
                            cause=cause[is_new].fillna("undetermined")),
            resolved=self._frame(parts["resolved"], rank, self.severity_before,
                                 now=pd.Series(self.now[self.is_resolved], dtype="string"),
                                 resolution=pd.Series(resolution[self.is_resolved],
                                                      dtype="string")),
            persisting=self._frame(parts["persisting"], rank, severity_now,
                                   months_failing=months[is_persisting],
                                   cause=cause[is_persisting]),
            per_rule=per_rule,
            trend=trend,
            catalogue_changes=moved[0] if moved else pd.DataFrame(),
            param_changes=moved[1] if moved else pd.DataFrame(),
            previous_as_of=(dates or {}).get(self.previous.period) if self.previous else None,
        )  # fmt: skip

    def _frame(
        self,
        pairs: np.ndarray,
        rank: np.ndarray,
        severity: np.ndarray | None = None,
        **extra: pd.Series,
    ) -> pd.DataFrame:
        """Described pairs sorted by rule id, entity type and id (by rank: no string sort)."""
        order = np.lexsort((rank[pairs[:, 1]], pairs[:, 0]))  # rule_no order is rule id order
        pairs = pairs[order]
        entities = self.universe.iloc[pairs[:, 1]].reset_index(drop=True)
        frame = pd.DataFrame({
            "rule_id": self.current.rules["rule_id"].to_numpy(dtype=object)[pairs[:, 0]],
            "entity_type": entities["entity_type"],
            "entity_id": entities["entity_id"],
        }).astype("string")  # fmt: skip
        if severity is not None:
            frame["severity"] = pd.array(severity[pairs[:, 0]], dtype="string")
            frame["device_name"] = entities["name"]
            frame["serial_number"] = entities["serial_number"]
        for name, values in extra.items():
            frame[name] = values.reset_index(drop=True).iloc[order].reset_index(drop=True)
        return frame


def match_failures(current: StoredRun, previous: StoredRun | None) -> Matched:
    """Match failures by (rule id, entity type, entity id) across two periods."""
    results = current.results
    fails = results.loc[results["status"] == FAIL, ["rule_no", "entity_no"]].to_numpy(np.int64)
    if previous is None:
        return Matched(
            current, None, current.entities, key_ranks(current.keys),
            current.rules["severity"].to_numpy(dtype=object),
            fails, np.empty((0, 2), np.int64), np.ones(len(fails), bool), np.zeros(0, bool),
            np.empty(0, object), np.full(len(fails), current.period, dtype=object),
            np.full(len(fails), None, dtype=object), np.empty(0, np.int64),
            np.empty(0, np.int64), np.empty(0, object),
        )  # fmt: skip
    entity_map = current.keys.get_indexer(previous.keys)
    retired = entity_map < 0
    entity_map[retired] = len(current.entities) + np.arange(int(retired.sum()))
    universe = pd.concat([current.entities, previous.entities[retired]], ignore_index=True)
    rank = key_ranks(current.keys.append(previous.keys[retired]))
    rule_map = pd.Index(current.rules["rule_id"]).get_indexer(previous.rules["rule_id"])
    severity_before = np.full(len(current.rules), None, dtype=object)
    severity_before[rule_map[rule_map >= 0]] = previous.rules["severity"].to_numpy()[rule_map >= 0]
    before = previous.results[previous.results["status"] == FAIL]
    rule_now = rule_map[before["rule_no"].to_numpy()]
    kept = rule_now >= 0
    was = np.column_stack([rule_now[kept], entity_map[before["entity_no"].to_numpy()[kept]]])
    width = len(universe) + 1
    was_keys = pd.Index(was[:, 0] * width + was[:, 1])
    fail_keys = pd.Index(fails[:, 0] * width + fails[:, 1])
    matched = was_keys.get_indexer(fail_keys)
    streak = before["first_seen"].fillna(previous.period).to_numpy(dtype=object)[kept]
    streak = np.concatenate([streak, np.array([current.period], dtype=object)])
    carried = np.full(int(kept.sum()) + 1, None, dtype=object)  # last: a new failure's
    if "cause" in before:  # a new failure's cause is attributed afterwards (`causes`)
        carried[:-1] = before["cause"].to_numpy(dtype=object)[kept]
    stored = pd.Index(results["rule_no"].to_numpy() * width + results["entity_no"].to_numpy())
    position = stored.get_indexer(was_keys)
    codes = np.append(results["status"].to_numpy(), 0)[position]  # not stored: a pass
    now = np.array(STATUS_CODES, dtype=object)[codes]
    now[(position < 0) & (was[:, 1] >= len(current.entities))] = "retired"
    return Matched(
        current, previous, universe, rank, severity_before, fails, was, matched < 0,
        ~was_keys.isin(fail_keys), now, streak[matched], carried[matched], rule_map, entity_map,
        resolution_of(now),
    )  # fmt: skip


def resolution_of(now: np.ndarray) -> np.ndarray:
    """A resolved failure's kind from its status now: passing or out of scope is `fixed`.

    `causes.judge_again` turns a `fixed` into `relaxed` where the bar, not the entity, moved.
    """
    fixed = np.isin(now, ["pass", "not_applicable"])
    return np.where(fixed, "fixed", now).astype(object)


def key_ranks(keys: pd.Index) -> np.ndarray:
    """Each key's position in sorted order."""
    order = np.argsort(keys.to_numpy(), kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank


def month_number(periods: str | pd.Series) -> Any:
    """YYYY-MM as a count of months (a str, or a Series one distinct value at a time)."""
    if isinstance(periods, str):
        return int(periods[:4]) * 12 + int(periods[5:7])
    codes, distinct = pd.factorize(periods)
    months = np.array([month_number(str(p)) for p in distinct] + [0], dtype=np.int64)
    return pd.Series(months[codes], index=periods.index)
