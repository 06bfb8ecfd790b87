"""Evaluate rules over the normalized frames into one long, typed results frame.

The engine does the plumbing so that checks hold only logic: out-of-scope rows become
`not_applicable`, rows whose inputs are missing become `unknown` (never a pass), and so do rows
whose past-event date (a check-in, an enrollment) lies after the as-of date; every non-passing
row gets a human `detail` that names fields in words, not column names.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from auditor.engine.unknown_detail import gap_clause, missing_detail
from auditor.models import (
    PART_FEEDS,
    PART_LABELS,
    PAST_EVENT_FIELDS,
    SEVERITIES,
    STATUSES,
    Entity,
    Param,
    SourceGap,
    Status,
)
from auditor.refdata.catalogue import Catalogue
from auditor.rules.base import Rule, RuleContext
from auditor.rules.phrases import field_words, words_list

ENTITIES = pd.CategoricalDtype([e.value for e in Entity])
RESULT_COLUMNS = ("rule_id", "entity_type", "entity_id", "row", "severity", "status", "detail")

_PASS, _FAIL, _UNKNOWN, _NA = (
    s.code for s in (Status.PASS, Status.FAIL, Status.UNKNOWN, Status.NOT_APPLICABLE)
)


@dataclass(frozen=True, slots=True)
class EvaluationContext:
    """Everything a run's rules share: the as-of date, the catalogue, per-rule parameters."""

    as_of: dt.date
    catalogue: Catalogue
    params: Mapping[str, Mapping[str, Param]]
    uncollected: Mapping[str, str] = field(default_factory=dict)  # column → why (`gap_reasons`)

    def for_rule(self, rule: Rule) -> RuleContext:
        """The context one rule sees: its defaults overlaid with configured values."""
        return RuleContext(
            as_of=self.as_of,
            params={**rule.params, **self.params.get(rule.id, {})},
            catalogue=self.catalogue,
            rule_id=rule.id,
        )


def gap_reasons(gaps: Iterable[SourceGap]) -> dict[str, str]:
    """Why each column a collection gap left empty is missing, naming the part and its reason.

    An unknown result then says which part was not collected and why (for a denied Graph part,
    the permission the app lacks), not only which column is missing.
    """
    reasons: dict[str, str] = {}
    for gap in gaps:
        state = gap.state.value.replace("_", " ")
        why = f"{PART_LABELS.get(gap.part, gap.part.replace('_', ' '))} {state}: {gap.reason}"
        for column in (*PART_FEEDS.get(gap.part, ()), *gap.fields):
            reasons.setdefault(column, why)
    return reasons


def evaluate(
    rules: Iterable[Rule], frames: Mapping[str, pd.DataFrame], ctx: EvaluationContext
) -> pd.DataFrame:
    """Give every entity one status per rule.

    Returns one row per (rule, entity) with categorical `rule_id`, `entity_type`,
    `entity_id`, `severity`, `status`, the entity's `row` position in its frame, and a
    `detail` string (object dtype, None on passing and not-applicable rows). Columns are
    assembled from per-rule code arrays, so 30 rules over 500k Macs stay cheap.
    """
    rules = list(rules)
    if not rules:
        return _empty_results()
    frames = _with_categories(frames, rules)
    rule_ids = pd.CategoricalDtype(sorted({r.id for r in rules}))
    status_codes, details = [], []
    for rule in rules:
        frame = frames[rule.entity.dataset]
        codes, detail = _statuses(rule, frame, ctx.for_rule(rule), ctx.uncollected)
        status_codes.append(codes)
        details.append(detail)
    entity_ids = _entity_ids(frames, rules)
    sizes = [len(c) for c in status_codes]
    return pd.DataFrame(
        {
            "rule_id": _repeat([r.id for r in rules], sizes, rule_ids),
            "entity_type": _repeat([r.entity.value for r in rules], sizes, ENTITIES),
            "entity_id": entity_ids,
            "row": np.concatenate([np.arange(n, dtype=np.int32) for n in sizes]),
            "severity": _repeat([r.severity.value for r in rules], sizes, SEVERITIES),
            "status": pd.Categorical.from_codes(np.concatenate(status_codes), dtype=STATUSES),
            "detail": pd.Series(np.concatenate(details), dtype=object, copy=False),
        }
    )


def _entity_ids(frames: Mapping[str, pd.DataFrame], rules: list[Rule]) -> pd.Categorical:
    """Each rule's entity ids in frame order, as one categorical over every dataset.

    All ids are hashed once together (the same id may appear in two datasets, a tenant id
    say); each rule then takes its dataset's slice of the codes.
    """
    datasets = list(dict.fromkeys(r.entity.dataset for r in rules))
    columns = {r.entity.dataset: r.entity.id_column for r in rules}
    ids = [frames[d][columns[d]].to_numpy(dtype=object) for d in datasets]
    codes, labels = pd.factorize(np.concatenate(ids), use_na_sentinel=True)
    bounds = np.cumsum([0, *map(len, ids)])
    slices = {d: codes[bounds[i] : bounds[i + 1]] for i, d in enumerate(datasets)}
    every = np.concatenate([slices[r.entity.dataset] for r in rules])
    return pd.Categorical.from_codes(every, categories=pd.Index(labels), validate=False)


def evaluate_rule(
    rule: Rule, frame: pd.DataFrame, entity_ids: pd.Categorical, ctx: RuleContext
) -> pd.DataFrame:
    """One rule over one frame as a results frame (the unit the catalogue tests run)."""
    codes, detail = _statuses(rule, frame, ctx)
    size = len(frame)
    return pd.DataFrame(
        {
            "rule_id": rule.id,
            "entity_type": _constant(rule.entity.value, size, ENTITIES),
            "entity_id": entity_ids,
            "row": np.arange(size, dtype=np.int32),
            "severity": _constant(rule.severity.value, size, SEVERITIES),
            "status": pd.Categorical.from_codes(codes, dtype=STATUSES),
            "detail": pd.Series(detail, dtype=object, copy=False),
        }
    )


def rule_statuses(
    rule: Rule, frame: pd.DataFrame, ctx: RuleContext, *, judge_later_dates: bool = False
) -> np.ndarray:
    """One rule's status codes over `frame` (`models.Status` codes), without the results frame.

    `judge_later_dates` judges rows whose past-event date lies after the as-of date instead of
    making them `unknown`: the question "would this data have failed on that earlier date?"
    that change attribution asks (`history.causes`).
    """
    return _statuses(rule, frame, ctx, judge_later_dates=judge_later_dates)[0]


def _statuses(
    rule: Rule,
    frame: pd.DataFrame,
    ctx: RuleContext,
    uncollected: Mapping[str, str] | None = None,
    *,
    judge_later_dates: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Status codes and details of every row of `frame` for one rule."""
    size = len(frame)
    codes = np.full(size, _UNKNOWN, dtype=np.int8)
    detail = np.full(size, None, dtype=object)
    uncollected = uncollected or {}
    absent = [c for c in rule.requires if c not in frame.columns]
    if absent:
        named = list(dict.fromkeys(field_words(c) for c in absent))
        detail[:] = words_list(named) + " not collected" + gap_clause(absent, uncollected)
        return codes, detail
    inputs = frame[list(rule.requires)]
    scope = _as_bool(rule.scope(inputs, ctx) if rule.scope else True, size)
    codes[(scope == False).to_numpy(dtype=bool, na_value=False)] = _NA  # noqa: E712
    strict = [c for c in rule.requires if c not in rule.nullable]
    complete = inputs[strict].notna().all(axis=1).to_numpy() if strict else np.ones(size, bool)
    later, later_detail = _after_as_of(inputs, ctx)
    if judge_later_dates:
        later[:] = False
    in_scope = scope.to_numpy(dtype=bool, na_value=False)
    positions = np.flatnonzero(in_scope & complete & ~later)
    if positions.size:
        verdict = _as_bool(rule.check(inputs.iloc[positions], ctx), positions.size)
        codes[positions[verdict.to_numpy(dtype=bool, na_value=False)]] = _PASS
        failed = positions[(verdict == False).to_numpy(dtype=bool, na_value=False)]  # noqa: E712
        codes[failed] = _FAIL
        if failed.size:
            detail[failed] = rule.detail(inputs.iloc[failed], ctx).to_numpy(dtype=object)
    unknown = np.flatnonzero(codes == _UNKNOWN)
    if unknown.size:
        detail[unknown] = missing_detail(
            inputs.iloc[unknown], scope.iloc[unknown], rule, uncollected
        )
    dated_later = np.flatnonzero(in_scope & complete & later)
    if dated_later.size:
        detail[dated_later] = later_detail[dated_later]
    return codes, detail


def _after_as_of(inputs: pd.DataFrame, ctx: RuleContext) -> tuple[np.ndarray, np.ndarray]:
    """Rows with a past-event date after the as-of date (cannot be judged), and why."""
    later = np.zeros(len(inputs), dtype=bool)
    detail = np.full(len(inputs), None, dtype=object)
    for column in sorted(PAST_EVENT_FIELDS & set(inputs.columns), reverse=True):
        values = inputs[column]
        rows = (values > ctx.as_of_ts).to_numpy(dtype=bool, na_value=False) & ~later
        if rows.any():
            days = values[rows].dt.strftime("%Y-%m-%d").to_numpy(dtype=object)
            detail[rows] = (
                f"{field_words(column)} " + days + f" is after the as-of date {ctx.as_of}"
            )
            later |= rows
    return later, detail


def _repeat(values: list[str], sizes: list[int], dtype: pd.CategoricalDtype) -> pd.Categorical:
    """Each value repeated for its rule's rows, as a categorical built from codes."""
    position = {c: i for i, c in enumerate(dtype.categories)}
    codes = np.repeat(np.array([position[v] for v in values], dtype=np.int16), sizes)
    return pd.Categorical.from_codes(codes, dtype=dtype)


def _constant(value: str, size: int, dtype: pd.CategoricalDtype) -> pd.Categorical:
    """A categorical column holding one value, built from codes (no string work per row)."""
    code = list(dtype.categories).index(value)
    return pd.Categorical.from_codes(np.full(size, code, dtype=np.int16), dtype=dtype)


def _as_bool(values: pd.Series | bool, size: int) -> pd.Series:
    """Coerce a check's answer to a nullable boolean Series of the expected length."""
    if isinstance(values, bool):
        return pd.Series(np.full(size, values), dtype="boolean")
    result = values.astype("boolean")
    if len(result) != size:
        raise ValueError(f"check returned {len(result)} values for {size} rows")
    return result.reset_index(drop=True)


def _with_categories(
    frames: Mapping[str, pd.DataFrame], rules: list[Rule]
) -> dict[str, pd.DataFrame]:
    """Frames whose repetitive text inputs (chip, method, OS version …) are categoricals.

    Rules compare and look up these columns many times; hashing 500k strings each time is
    the main cost of a run, so each column is factorized once here. Columns with many
    distinct values (serials, names) stay text. The caller's frames are not modified.
    """
    needed: dict[str, set[str]] = {}
    for rule in rules:
        needed.setdefault(rule.entity.dataset, set()).update(rule.requires)
    prepared = dict(frames)
    for dataset, columns in needed.items():
        frame = frames[dataset]
        converted = {}
        for column in sorted(columns & set(frame.columns)):
            values = frame[column]
            if not pd.api.types.is_string_dtype(values) or isinstance(
                values.dtype, pd.CategoricalDtype
            ):
                continue
            probe = values.iloc[:: max(1, len(values) // 2000)]
            if probe.nunique() * 20 > len(probe):
                continue  # serials, names, UPNs: mostly distinct, hashing them buys nothing
            codes, uniques = pd.factorize(values)
            if len(uniques) * 20 <= len(values):
                converted[column] = pd.Categorical.from_codes(
                    codes, categories=uniques, validate=False
                )
        if converted:
            prepared[dataset] = frame.assign(**converted)
    return prepared


def _empty_results() -> pd.DataFrame:
    """No rule, no result: the columns of `evaluate`'s frame with their dtypes."""
    return pd.DataFrame(
        {
            "rule_id": pd.Categorical([]),
            "entity_type": pd.Categorical([], dtype=ENTITIES),
            "entity_id": pd.Categorical([]),
            "row": pd.Series([], dtype=np.int32),
            "severity": pd.Categorical([], dtype=SEVERITIES),
            "status": pd.Categorical([], dtype=STATUSES),
            "detail": pd.Series([], dtype=object),
        }
    )
