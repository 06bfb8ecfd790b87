"""Typed frames from example rows, as the normalizer would hand them to the rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from auditor.engine import evaluate_rule
from auditor.models import Entity
from auditor.normalize.schema import SCHEMAS, conform
from auditor.refdata.catalogue import Catalogue
from auditor.refdata.catalogue_file import load_catalogue
from auditor.refdata.versions import parse_version_column
from auditor.rules.base import Rule, RuleContext

AS_OF = dt.date(2026, 9, 1)
_OS_FIELDS = ("os_version", "os_major", "os_version_key", "os_build", "os_rsr")


def frame_from_rows(
    rows: Sequence[Mapping[str, Any]], entity: Entity = Entity.DEVICE
) -> pd.DataFrame:
    """The canonical frame of `entity` holding `rows`; absent columns are NA.

    A row that gives `os_version` but no `os_version_key` gets `os_major`, `os_version_key`
    (and build/RSR) parsed from it, as normalization would.
    """
    records = [dict(row) for row in rows]
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    if "os_version" in frame.columns and "os_version_key" not in frame.columns:
        parsed = parse_version_column(frame["os_version"].astype("string"))
        for column in _OS_FIELDS[1:]:
            if column not in frame.columns:
                frame[column] = parsed[column]
    return conform(frame, SCHEMAS[entity.dataset])


def statuses(
    rule: Rule,
    rows: Sequence[Mapping[str, Any]],
    *,
    as_of: dt.date = AS_OF,
    params: Mapping[str, Any] | None = None,
    catalogue: Catalogue | None = None,
) -> list[str]:
    """The status the rule gives each row (in order), through the real engine."""
    frame, ctx = _prepared(rule, rows, as_of, params, catalogue)
    results = evaluate_rule(rule, frame, _ids(rule, frame), ctx)
    return [str(s) for s in results["status"]]


def details(
    rule: Rule,
    rows: Sequence[Mapping[str, Any]],
    *,
    as_of: dt.date = AS_OF,
    params: Mapping[str, Any] | None = None,
) -> list[str | None]:
    """The detail text the engine records for each row."""
    frame, ctx = _prepared(rule, rows, as_of, params, None)
    results = evaluate_rule(rule, frame, _ids(rule, frame), ctx)
    return [None if pd.isna(d) else str(d) for d in results["detail"]]


def context(
    rule: Rule,
    *,
    as_of: dt.date = AS_OF,
    params: Mapping[str, Any] | None = None,
    catalogue: Catalogue | None = None,
) -> RuleContext:
    """The context the engine would build for `rule`, with `params` overriding defaults."""
    return RuleContext(
        as_of=as_of,
        params={**rule.params, **(params or {})},
        catalogue=catalogue or _bundled(),
        rule_id=rule.id,
    )


def _prepared(
    rule: Rule,
    rows: Sequence[Mapping[str, Any]],
    as_of: dt.date,
    params: Mapping[str, Any] | None,
    catalogue: Catalogue | None,
) -> tuple[pd.DataFrame, RuleContext]:
    id_column = rule.entity.id_column
    named = [{id_column: f"row-{i}", **row} for i, row in enumerate(rows)]
    frame = frame_from_rows(named, rule.entity)
    return frame, context(rule, as_of=as_of, params=params, catalogue=catalogue)


def _ids(rule: Rule, frame: pd.DataFrame) -> pd.Categorical:
    return pd.Categorical(frame[rule.entity.id_column].fillna("(none)"))


_CATALOGUE: list[Catalogue] = []


def _bundled() -> Catalogue:
    if not _CATALOGUE:
        _CATALOGUE.append(load_catalogue())
    return _CATALOGUE[0]
