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
    STATUSES.categories.get_loc(s.value) for s in Status if s != Status.WAIVED
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
    `detail` string on every row that is not a pass or not applicable.
    """
    ids = {name: pd.Categorical(frame[_id_column(name)]) for name, frame in frames.items()}
    parts = [
        evaluate_rule(
            rule, frames[rule.entity.dataset], ids[rule.entity.dataset], ctx.for_rule(rule)
        )
        for rule in rules
    ]
    if not parts:
        return _empty_results()
    results = pd.concat(parts, ignore_index=True)
    results["rule_id"] = results["rule_id"].astype(
        pd.CategoricalDtype(sorted({r.id for r in rules}))
    )
    results["entity_type"] = results["entity_type"].astype(ENTITIES)
    return results


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
            "rule_id": rule.id,
            "entity_type": rule.entity.value,
            "entity_id": entity_ids,
            "row": np.arange(size, dtype=np.int32),
            "severity": pd.Categorical.from_codes(
                np.full(size, SEVERITIES.categories.get_loc(rule.severity.value), np.int8),
                dtype=SEVERITIES,
            ),
            "status": pd.Categorical.from_codes(codes, dtype=STATUSES),
            "detail": pd.array(detail, dtype="string"),
        }
    )


def _missing_detail(inputs: pd.DataFrame, scope: pd.Series, rule: Rule) -> np.ndarray:
    """'missing: os_version, is_supervised' for each row, naming every NA input it needs."""
    text = pd.Series("", index=inputs.index, dtype=object)
    for column in rule.requires:
        is_missing = inputs[column].isna()
        text = text.where(~is_missing, text + np.where(text == "", "", ", ") + column)
    text = text.where(text != "", "inputs present but the check could not decide")
    prefix = np.where(scope.isna().to_numpy(), "scope undecidable, missing: ", "missing: ")
    return (prefix + text.to_numpy(dtype=object)).astype(object)


def _as_bool(values: pd.Series | bool, size: int) -> pd.Series:
    """Coerce a check's answer to a nullable boolean Series of the expected length."""
    if isinstance(values, bool):
        return pd.Series(np.full(size, values), dtype="boolean")
    result = values.astype("boolean")
    if len(result) != size:
        raise ValueError(f"check returned {len(result)} values for {size} rows")
    return result.reset_index(drop=True)


def _id_column(dataset: str) -> str:
    return next(e.id_column for e in Entity if e.dataset == dataset)


def _empty_results() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in RESULT_COLUMNS})
