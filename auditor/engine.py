"""Evaluate rules over the normalized frames into one long, typed results frame.

The engine does the plumbing so that checks hold only logic: out-of-scope rows become
`not_applicable`, rows whose inputs are missing become `unknown` (never a pass), and every
non-passing row gets a human `detail`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from auditor.models import Entity, Param, Severity, Status
from auditor.refdata.catalogue import Catalogue
from auditor.rules.base import Rule, RuleContext

STATUSES = pd.CategoricalDtype([s.value for s in Status])
SEVERITIES = pd.CategoricalDtype([s.value for s in Severity], ordered=True)
ENTITIES = pd.CategoricalDtype([e.value for e in Entity])
RESULT_COLUMNS = ("rule_id", "entity_type", "entity_id", "row", "severity", "status", "detail")

_PASS, _FAIL, _UNKNOWN, _NA = (
    list(STATUSES.categories).index(s.value) for s in Status if s != Status.WAIVED
)


@dataclass(frozen=True, slots=True)
class EvaluationContext:
    """Everything a run's rules share: the as-of date, the catalogue, per-rule parameters."""

    as_of: dt.date
    catalogue: Catalogue
    params: Mapping[str, Mapping[str, Param]]

    def for_rule(self, rule: Rule) -> RuleContext:
        """The context one rule sees: its defaults overlaid with configured values."""
        return RuleContext(
            as_of=self.as_of,
            params={**rule.params, **self.params.get(rule.id, {})},
            catalogue=self.catalogue,
        )


def evaluate(
    rules: Iterable[Rule], frames: Mapping[str, pd.DataFrame], ctx: EvaluationContext
) -> pd.DataFrame:
    """Give every entity one status per rule.

    Returns one row per (rule, entity) with categorical `rule_id`, `entity_type`,
    `entity_id`, `severity`, `status`, the entity's `row` position in its frame, and a
    `detail` string (object dtype, None on passing and not-applicable rows).
    """
    rules = list(rules)
    if not rules:
        return _empty_results()
    ids = {name: _categorical_ids(frame[_id_column(name)]) for name, frame in frames.items()}
    rule_ids = pd.CategoricalDtype(sorted({r.id for r in rules}))
    parts = [
        evaluate_rule(
            rule, frames[rule.entity.dataset], ids[rule.entity.dataset], ctx.for_rule(rule)
        )
        for rule in rules
    ]
    for rule, part in zip(rules, parts, strict=True):
        part["rule_id"] = _constant(rule.id, len(part), rule_ids)
    return pd.concat(parts, ignore_index=True)


def evaluate_rule(
    rule: Rule, frame: pd.DataFrame, entity_ids: pd.Categorical, ctx: RuleContext
) -> pd.DataFrame:
    """One rule over one frame: the statuses and details of every row."""
    size = len(frame)
    codes = np.full(size, _UNKNOWN, dtype=np.int8)
    detail = np.full(size, None, dtype=object)
    absent = [c for c in rule.requires if c not in frame.columns]
    if absent:
        detail[:] = "not collected: " + ", ".join(absent)
    else:
        inputs = frame[list(rule.requires)]
        scope = _as_bool(rule.scope(inputs, ctx) if rule.scope else True, size)
        codes[(scope == False).to_numpy(dtype=bool, na_value=False)] = _NA  # noqa: E712
        strict = [c for c in rule.requires if c not in rule.nullable]
        complete = inputs[strict].notna().all(axis=1).to_numpy() if strict else np.ones(size, bool)
        evaluable = scope.to_numpy(dtype=bool, na_value=False) & complete
        positions = np.flatnonzero(evaluable)
        if positions.size:
            subset = inputs.iloc[positions]
            verdict = _as_bool(rule.check(subset, ctx), positions.size)
            codes[positions[verdict.to_numpy(dtype=bool, na_value=False)]] = _PASS
            failed = positions[(verdict == False).to_numpy(dtype=bool, na_value=False)]  # noqa: E712
            codes[failed] = _FAIL
            if failed.size:
                detail[failed] = rule.detail(inputs.iloc[failed], ctx).to_numpy(dtype=object)
        unknown = np.flatnonzero(codes == _UNKNOWN)
        if unknown.size:
            detail[unknown] = _missing_detail(inputs.iloc[unknown], scope.iloc[unknown], rule)
    return pd.DataFrame(
        {
            "rule_id": rule.id,  # replaced by a shared categorical in `evaluate`
            "entity_type": _constant(rule.entity.value, size, ENTITIES),
            "entity_id": entity_ids,
            "row": np.arange(size, dtype=np.int32),
            "severity": _constant(rule.severity.value, size, SEVERITIES),
            "status": pd.Categorical.from_codes(codes, dtype=STATUSES),
            "detail": detail,
        }
    )


def _constant(value: str, size: int, dtype: pd.CategoricalDtype) -> pd.Categorical:
    """A categorical column holding one value, built from codes (no string work per row)."""
    code = list(dtype.categories).index(value)
    return pd.Categorical.from_codes(np.full(size, code, dtype=np.int16), dtype=dtype)


def _missing_detail(inputs: pd.DataFrame, scope: pd.Series, rule: Rule) -> np.ndarray:
    """'missing: os_version, is_supervised' for each row, naming every NA input it needs.

    Rows are grouped by which inputs are missing (a bit per column), so the text is built
    once per combination rather than once per row.
    """
    pattern = np.zeros(len(inputs), dtype=np.int64)
    for bit, column in enumerate(rule.requires):
        pattern |= inputs[column].isna().to_numpy(dtype=bool).astype(np.int64) << bit
    pattern = pattern * 2 + scope.isna().to_numpy(dtype=bool)
    codes, uniques = pd.factorize(pattern)
    texts = []
    for combined in uniques:
        missing = [c for bit, c in enumerate(rule.requires) if (int(combined) >> 1) >> bit & 1]
        prefix = "scope undecidable, missing: " if int(combined) & 1 else "missing: "
        texts.append(prefix + ", ".join(missing) if missing else "the check could not decide")
    return np.asarray(texts, dtype=object)[codes]


def _as_bool(values: pd.Series | bool, size: int) -> pd.Series:
    """Coerce a check's answer to a nullable boolean Series of the expected length."""
    if isinstance(values, bool):
        return pd.Series(np.full(size, values), dtype="boolean")
    result = values.astype("boolean")
    if len(result) != size:
        raise ValueError(f"check returned {len(result)} values for {size} rows")
    return result.reset_index(drop=True)


def _categorical_ids(ids: pd.Series) -> pd.Categorical:
    """Entity ids as a categorical in frame order (factorize without sorting: cheap)."""
    codes, uniques = pd.factorize(ids, sort=False)
    return pd.Categorical.from_codes(codes, categories=uniques)


def _id_column(dataset: str) -> str:
    return next(e.id_column for e in Entity if e.dataset == dataset)


def _empty_results() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in RESULT_COLUMNS})
