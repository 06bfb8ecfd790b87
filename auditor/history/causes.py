"""Why each new failure is new and each resolved failure resolved: the Mac, the bar, or arrival.

A new failure of an entity that existed last period, under a rule evaluated then and not waived
then, is judged again on this period's data against last period's bar, one part at a time:
with the catalogue as it stood at last period's as-of date (`refdata.changes.view_at`), then
also last period's parameters, then also last period's as-of date. The first step that turns
the failure into anything else names the cause: a new Apple release or newly exploited CVE
(`catalogue`), a changed parameter (`parameter`), time passing a grace period or age limit
(`grace_ended`). A failure that holds under the whole previous bar is the entity's own change:
`now_reported` when last period could not judge it (unknown), else `regressed`. Every new
failure gets exactly one cause, so the causes add up to the new failures.

A resolution is `retired` (gone), `waived`, `unknown` (no longer judged), or, for one that now
passes or is out of scope, `fixed` when this period's data passes last period's bar too, else
`relaxed` (the bar was lowered: a parameter or the catalogue changed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from auditor.engine import rule_statuses
from auditor.history.compare import Matched
from auditor.history.schema import STATUS_CODES
from auditor.history.stored import StoredRun
from auditor.models import Param, Status
from auditor.refdata.catalogue import Catalogue
from auditor.refdata.changes import view_at
from auditor.rules.base import Rule, RuleContext

# Stored as text in `results.cause` and `resolutions.resolution`: frozen words.
NEW_CAUSES = (
    "new_mac", "rule_added", "waiver_ended", "catalogue", "parameter", "grace_ended",
    "regressed", "now_reported", "undetermined",
)  # fmt: skip
RESOLUTIONS = ("fixed", "relaxed", "waived", "unknown", "retired")
CAUSE_GROUPS = {  # the three headings: the Mac changed, the bar moved, a new Mac
    "new_mac": "new", "regressed": "mac", "now_reported": "mac", "catalogue": "bar",
    "grace_ended": "bar", "parameter": "bar", "rule_added": "bar", "waiver_ended": "bar",
    "undetermined": "undetermined",
}  # fmt: skip
_FAIL = Status.FAIL.code


@dataclass(frozen=True, slots=True)
class Bar:
    """What a run's results were judged against besides its data.

    `params` are every evaluated rule's effective parameters (defaults with the configured
    values laid over), so a changed default is a changed parameter too.
    """

    as_of: dt.date
    catalogue: Catalogue
    params: Mapping[str, Mapping[str, Param]]
    rules: Sequence[Rule] = field(default=(), compare=False)  # the current run's rules only

    def context(self, rule: Rule, *, params: Bar | None = None) -> RuleContext:
        """The context `rule` sees under this bar (with `params`' parameters, when given)."""
        chosen = (params or self).params.get(rule.id, {})
        return RuleContext(self.as_of, {**rule.params, **chosen}, self.catalogue, rule.id)


@dataclass(frozen=True, slots=True)
class Subjects:
    """Failures to judge again, as (rule_no, entity_no) in this period's numbering."""

    rule_no: np.ndarray
    entity_no: np.ndarray
    previous: np.ndarray  # last period's status text per row ("pass" when not stored)


def attribute(
    matched: Matched, frames: Mapping[str, pd.DataFrame], now: Bar | None, before: Bar | None
) -> None:
    """Fill in `matched.cause` of every new failure and turn `fixed` resolutions `relaxed`.

    Persisting failures keep the cause their streak began with (carried by `match_failures`).
    """
    previous, current = matched.previous, matched.current
    if previous is None:
        return
    width = len(matched.universe) + 1
    new_rows = np.flatnonzero(matched.is_new)
    pairs = matched.fails[new_rows]
    existed = np.asarray(current.keys.isin(previous.keys), dtype=bool)
    was_evaluated = np.zeros(len(current.rules), dtype=bool)
    was_evaluated[matched.rule_map[matched.rule_map >= 0]] = True
    status_then = previous_statuses(
        pairs[:, 0] * width + pairs[:, 1], previous.results, matched.rule_map,
        matched.entity_map, width,
    )  # fmt: skip
    causes = np.full(len(new_rows), None, dtype=object)
    causes[~was_evaluated[pairs[:, 0]]] = "rule_added"
    causes[status_then == "waived"] = "waiver_ended"
    causes[~existed[pairs[:, 1]]] = "new_mac"  # a new Mac's failures are new whatever else
    open_ = causes == None  # noqa: E711
    fixed = np.flatnonzero(matched.is_resolved & (matched.resolution == "fixed"))
    judged, resolutions = judge_again(
        {r.id: r for r in now.rules} if now is not None else {},
        current.rules["rule_id"].astype(str).tolist(),
        current.entities,
        frames,
        now,
        before if now is not None else None,
        Subjects(pairs[open_, 0], pairs[open_, 1], status_then[open_]),
        Subjects(matched.was[fixed, 0], matched.was[fixed, 1], np.empty(0, dtype=object)),
    )
    causes[open_] = judged
    matched.cause[new_rows] = causes
    matched.resolution[fixed] = resolutions


def judge_again(
    rules: Mapping[str, Rule],
    rule_ids: Sequence[str],
    entities: pd.DataFrame,
    frames: Mapping[str, pd.DataFrame],
    now: Bar | None,
    before: Bar | None,
    new: Subjects,
    resolved: Subjects,
) -> tuple[np.ndarray, np.ndarray]:
    """Causes of `new` and resolutions (fixed or relaxed) of `resolved`, by judging again.

    Without a recorded previous bar (a run recorded before causes were kept) every cause is
    `undetermined`, and a resolution that passes now is `fixed` (it did fail then and passes
    now; whether the bar moved cannot be told).
    """
    causes = np.full(len(new.rule_no), "undetermined", dtype=object)
    resolutions = np.full(len(resolved.rule_no), "fixed", dtype=object)
    if now is None or before is None:
        return causes, resolutions
    old_view = Bar(now.as_of, view_at(before.catalogue, before.as_of), now.params)
    then = Bar(before.as_of, old_view.catalogue, before.params)
    offsets = _offsets(entities)
    wanted = np.union1d(new.rule_no, resolved.rule_no)
    for rule_no in wanted.tolist():
        rule = rules.get(rule_ids[rule_no])
        if rule is None:
            continue
        frame = frames.get(rule.entity.dataset)
        if frame is None:
            continue
        mine = new.rule_no == rule_no
        if mine.any():
            at = new.entity_no[mine] - offsets[new.entity_no[mine]]
            steps = (
                ("catalogue", old_view.context(rule), False),
                ("parameter", old_view.context(rule, params=before), False),
                ("grace_ended", then.context(rule), True),
            )
            found = np.full(int(mine.sum()), None, dtype=object)
            for cause, ctx, later in steps:
                open_ = found == None  # noqa: E711
                if not open_.any():
                    break
                codes = rule_statuses(rule, frame, ctx, judge_later_dates=later)[at]
                found[open_ & (codes != _FAIL)] = cause
            own = np.where(new.previous[mine] == "unknown", "now_reported", "regressed")
            causes[mine] = np.where(found == None, own, found)  # noqa: E711
        theirs = resolved.rule_no == rule_no
        if theirs.any():
            at = resolved.entity_no[theirs] - offsets[resolved.entity_no[theirs]]
            codes = rule_statuses(rule, frame, then.context(rule), judge_later_dates=True)[at]
            resolutions[theirs] = np.where(codes == _FAIL, "relaxed", "fixed")
    return causes, resolutions


def _offsets(entities: pd.DataFrame) -> np.ndarray:
    """Per entity number, the number of the first entity of its type (its frame's row 0)."""
    kinds = entities["entity_type"].to_numpy(dtype=object)
    starts = {kind: int(np.argmax(kinds == kind)) for kind in pd.unique(kinds)}
    return np.array([starts[k] for k in kinds], dtype=np.int64)


def previous_statuses(
    keys: np.ndarray, stored: pd.DataFrame, rule_map: np.ndarray, entity_map: np.ndarray, width: int
) -> np.ndarray:
    """Last period's status text of each (rule_no * width + entity_no) key, "pass" if unstored.

    `stored` is last period's results (rule_no, entity_no, status in its own numbering);
    `rule_map` and `entity_map` renumber them into this period's.
    """
    rule_now = rule_map[stored["rule_no"].to_numpy(dtype=np.int64)]
    kept = rule_now >= 0
    entity_now = entity_map[stored["entity_no"].to_numpy(dtype=np.int64)[kept]]
    index = pd.Index(rule_now[kept] * width + entity_now)
    position = index.get_indexer(keys)
    codes = np.append(stored["status"].to_numpy(dtype=np.int64)[kept], 0)[position]
    texts: np.ndarray = np.array(STATUS_CODES, dtype=object)[codes]
    return texts


def recorded_causes(current: StoredRun, before: StoredRun, is_fail: np.ndarray) -> np.ndarray:
    """Each failure's recorded cause (`history diff`); an entity `before` lacked is `new_mac`."""
    stored = current.results["cause"].to_numpy(dtype=object)[is_fail]
    entity_no = current.results["entity_no"].to_numpy(dtype=np.int64)[is_fail]
    causes: np.ndarray = np.array([None if pd.isna(c) else c for c in stored], dtype=object)
    existed = np.asarray(current.keys.isin(before.keys), dtype=bool)
    causes[~existed[entity_no]] = "new_mac"
    return causes
