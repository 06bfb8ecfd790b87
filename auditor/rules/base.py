"""How a rule is declared: the Rule record, its examples, and the @rule decorator."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from auditor.models import Entity, Param, Severity, Status

if TYPE_CHECKING:
    from auditor.refdata.catalogue import Catalogue

_ID = re.compile(r"^MAC-[A-Z]{2,4}-\d{3}$")


@dataclass(frozen=True, slots=True)
class RuleContext:
    """What a check may read besides its frame: the as-of date, its parameters, the catalogue."""

    as_of: dt.date
    params: Mapping[str, Param]
    catalogue: Catalogue

    @property
    def as_of_ts(self) -> pd.Timestamp:
        """The as-of date as the end of that day in UTC, for comparisons with `_at` columns."""
        return pd.Timestamp(self.as_of, tz="UTC") + pd.Timedelta(days=1) - pd.Timedelta(1, "us")

    def param(self, name: str) -> Any:
        """One parameter value; a KeyError here means the rule's `params` lacks a default."""
        return self.params[name]


Check = Callable[[pd.DataFrame, RuleContext], pd.Series]
Detail = Callable[[pd.DataFrame, RuleContext], pd.Series]


@dataclass(frozen=True, slots=True)
class Example:
    """One input row and the status the rule must give it; doubles as documentation."""

    name: str
    row: Mapping[str, Any]
    expect: Status


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """A rule: metadata as typed fields beside one vectorized check.

    `scope` and `check` return nullable booleans aligned with the frame they receive:
    scope False → not_applicable, NA → unknown; check True → pass, False → fail, NA → unknown.
    The engine hands `check` only in-scope rows whose `requires` columns (minus `nullable`)
    are all present, so a check only handles the values it declares it can handle.
    """

    id: str
    title: str
    severity: Severity
    entity: Entity
    requires: tuple[str, ...]
    rationale: str
    remediation: str
    check: Check
    detail: Detail
    scope: Check | None = None
    scope_text: str = "all"
    fails_when: str = ""
    nullable: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()  # keys of the research notes, e.g. "MS-ENR", "AP-TOKEN"
    controls: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    own_mappings: tuple[str, ...] = ()  # frameworks mapped by this project, not published
    params: Mapping[str, Param] = field(default_factory=dict)
    examples: tuple[Example, ...] = ()

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise ValueError(f"{self.id!r}: rule ids look like 'MAC-ENR-001'")
        if self.title.startswith("Ensure"):
            raise ValueError(f"{self.id}: state the passing condition, not 'Ensure …'")
        unknown = set(self.nullable) - set(self.requires)
        if unknown:
            raise ValueError(f"{self.id}: nullable columns not in requires: {sorted(unknown)}")


def rule(**meta: Any) -> Callable[[Check], Rule]:
    """Turn a check function into a Rule; `meta` are the Rule fields."""

    def wrap(fn: Check) -> Rule:
        return Rule(check=fn, **meta)

    return wrap


def days_between(later: pd.Timestamp, earlier: pd.Series) -> pd.Series:
    """Whole days from each timestamp in `earlier` to `later` (nullable integers)."""
    return (later - earlier).dt.days.astype("Int64")


def per_unique(values: pd.Series, describe: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Apply `describe` once per distinct value of `values` and spread the answers back.

    Detail strings repeat (the same version, the same day): formatting each distinct value
    once keeps details cheap at 500k devices.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    answers = describe(pd.Series(uniques, dtype=values.dtype)).to_numpy(dtype=object)
    return pd.Series(answers[codes], index=values.index, dtype=object)
