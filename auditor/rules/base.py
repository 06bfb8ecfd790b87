"""How a rule is declared: the Rule record, its examples, and the @rule decorator."""

from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from auditor.errors import ConfigError
from auditor.models import Entity, Param, Severity, Status
from auditor.refdata.versions import version_key
from auditor.rules.display import param_text

if TYPE_CHECKING:
    from auditor.refdata.catalogue import Catalogue

_ID = re.compile(r"^MAC-[A-Z]{2,4}-\d{3}$")

# What a rule can belong to besides its family (sqlfluff's `groups`): knowledge keyed by rule
# lives on the rule, so the report and the configuration never name rule ids.
GROUPS: Mapping[str, str] = {
    "patch": "OS rules that together say a Mac runs a supported, fully patched macOS "
    "(the report's 'On a supported and patched macOS' key number).",
    "vms": "Takes the [vms] approved lists of auditor.toml as its approved_serials and "
    "approved_name_patterns parameters.",
    "policy": "Takes [policy] personal_macs_allowed of auditor.toml as its personal_allowed "
    "parameter.",
    "exploited": "Fails a Mac that lacks the fix for an actively exploited CVE (the catalogue's "
    "exploited fixes): the report's exposure clock per CVE and the change attribution's "
    "'newly exploited CVE' sentences read it.",
}


@dataclass(frozen=True, slots=True)
class RuleContext:
    """What a check may read besides its frame: the as-of date, its parameters, the catalogue."""

    as_of: dt.date
    params: Mapping[str, Param]
    catalogue: Catalogue
    rule_id: str = ""  # names the rule in parameter errors

    @property
    def as_of_ts(self) -> pd.Timestamp:
        """The as-of date as the end of that day in UTC, for comparisons with `_at` columns."""
        return pd.Timestamp(self.as_of, tz="UTC") + pd.Timedelta(days=1) - pd.Timedelta(1, "us")

    def param(self, name: str) -> Any:
        """One parameter value; a KeyError here means the rule's `params` lacks a default."""
        return self.params[name]

    def int_param(self, name: str) -> int:
        """A whole-number parameter (days, counts); ConfigError when configured otherwise."""
        value = self.param(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(self._wrong(name, "a whole number of 0 or more", value))
        return value

    def bool_param(self, name: str) -> bool:
        """A true/false parameter; ConfigError when configured otherwise."""
        value = self.param(name)
        if not isinstance(value, bool):
            raise ConfigError(self._wrong(name, "true or false", value))
        return value

    def str_param(self, name: str) -> str:
        """A text parameter; ConfigError when configured otherwise."""
        value = self.param(name)
        if not isinstance(value, str):
            raise ConfigError(self._wrong(name, "a string", value))
        return value

    def strings_param(self, name: str) -> tuple[str, ...]:
        """A list-of-strings parameter (a single string counts as a list of one)."""
        value = self.param(name)
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, tuple | list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(self._wrong(name, "a list of strings", value))
        return tuple(value)

    def _wrong(self, name: str, expected: str, value: object) -> str:
        owner = f"rules.params.{self.rule_id}.{name}" if self.rule_id else f"parameter {name!r}"
        return f"{owner}: expected {expected}, got {value!r}"


Check = Callable[[pd.DataFrame, RuleContext], pd.Series]
Detail = Callable[[pd.DataFrame, RuleContext], pd.Series]


@dataclass(frozen=True, slots=True)
class Example:
    """One input row and the status the rule must give it; doubles as documentation."""

    name: str
    row: Mapping[str, Any]
    expect: Status
    params: Mapping[str, Param] = field(default_factory=dict)  # overrides of the defaults


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """A rule: metadata as typed fields beside one vectorized check.

    `scope` and `check` return nullable booleans aligned with the frame they receive:
    scope False → not_applicable, NA → unknown; check True → pass, False → fail, NA → unknown.
    The engine hands `check` only in-scope rows whose `requires` columns (minus `nullable`)
    are all present, so a check only handles the values it declares it can handle.
    `title` states the passing condition; a `{name}` in it stands for parameter `name`, so
    every output states the threshold the run used (`stated_title`), not the default.
    `problem` states the failing condition as a reader names the problem ("Macs with FileVault
    off"); page one and "needs attention" say it (`stated_problem`), with parameters the same way.
    """

    id: str
    title: str
    problem: str
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
    groups: tuple[str, ...] = ()  # keys of GROUPS
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
        for text, what in ((self.title, "title"), (self.problem, "problem")):
            named = {field for _, field, _, _ in string.Formatter().parse(text) if field}
            if named - set(self.params):
                raise ValueError(f"{self.id}: {what} names unknown parameters {sorted(named)}")
        if not self.problem.strip():
            raise ValueError(f"{self.id}: state the problem a failure means (`problem`)")
        if set(self.groups) - set(GROUPS):
            raise ValueError(f"{self.id}: unknown groups {sorted(set(self.groups) - set(GROUPS))}")

    def stated_title(self, params: Mapping[str, Param] | None = None) -> str:
        """The title with the parameters it names: the defaults laid over by `params`."""
        return _stated(self.title, {**self.params, **(params or {})})

    def stated_problem(self, params: Mapping[str, Param] | None = None) -> str:
        """The problem with the parameters it names: the defaults laid over by `params`."""
        return _stated(self.problem, {**self.params, **(params or {})})


def _stated(text: str, values: Mapping[str, Param]) -> str:
    return text.format_map({name: param_text(v) for name, v in values.items()})


def rule(**meta: Any) -> Callable[[Check], Rule]:
    """Turn a check function into a Rule; `meta` are the Rule fields."""

    def wrap(fn: Check) -> Rule:
        return Rule(check=fn, **meta)

    return wrap


def days_between(later: pd.Timestamp, earlier: pd.Series) -> pd.Series:
    """Whole days from each timestamp in `earlier` to `later` (nullable integers)."""
    days: pd.Series = (later - earlier).dt.days.astype("Int64")
    return days


def per_unique(values: pd.Series, describe: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Apply `describe` once per distinct value of `values` and spread the answers back.

    Detail strings repeat (the same version, the same day): formatting each distinct value
    once keeps details cheap at 500k devices.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    answers = describe(pd.Series(uniques, dtype=values.dtype)).to_numpy(dtype=object)
    return pd.Series(answers[codes], index=values.index, dtype=object)


def per_value(keys: pd.Series, answer: Callable[[Any], object], dtype: str) -> pd.Series:
    """Answer once per distinct value of `keys` and spread the answers over the rows.

    The vectorized form of a per-row lookup (a major's fix floor, a model's newest macOS):
    `answer` sees each distinct non-missing value once; rows whose key is NA get NA.
    `dtype` is the nullable dtype of the answers ("boolean", "Int64", "string").
    """
    if isinstance(keys.dtype, pd.CategoricalDtype):  # codes exist already: no hashing
        codes = keys.cat.codes.to_numpy()
        categories = keys.cat.categories
        used = np.bincount(codes[codes >= 0], minlength=len(categories)) > 0
        answers = [answer(c) if on else None for c, on in zip(categories, used, strict=True)]
    else:
        codes, uniques = pd.factorize(keys)
        answers = [answer(u) for u in uniques]
    table = _array([*answers, None], dtype)
    return pd.Series(table.take(np.where(codes < 0, len(answers), codes)), index=keys.index)


def per_row(frame: pd.DataFrame, answer: Callable[..., object], dtype: str) -> pd.Series:
    """Like `per_value`, over distinct combinations of several columns.

    `answer` gets one argument per column, None where the value is missing.
    """
    if frame.empty:
        return pd.Series(_array([], dtype), index=frame.index)
    key = np.zeros(len(frame), dtype=np.int64)
    for column in frame.columns:
        codes, size = _codes(frame[column])
        if (int(key.max()) + 1) * (size + 1) >= 2**62:  # keep the mixed-radix key in range
            key = np.unique(key, return_inverse=True)[1].astype(np.int64)
        key = key * (size + 1) + (codes + 1)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    sample = frame.iloc[first]
    rows = sample.astype(object).where(sample.notna(), None)
    table = _array([answer(*row) for row in rows.itertuples(index=False)], dtype)
    return pd.Series(table.take(inverse.reshape(-1)), index=frame.index)


def _codes(values: pd.Series) -> tuple[np.ndarray, int]:
    """Integer codes of a column (-1 for NA) and how many distinct values they range over."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy().astype(np.int64), len(values.cat.categories)
    if values.dtype == "boolean":
        return values.to_numpy(dtype=np.int64, na_value=-1), 2
    codes, uniques = pd.factorize(values)
    return codes.astype(np.int64), len(uniques)


def is_one_of(values: pd.Series, *choices: str) -> pd.Series:
    """Nullable boolean `value in choices`; NA where the value is missing or 'unknown'."""
    return per_value(values, lambda v: None if v == "unknown" else v in choices, "boolean")


def at_least(version_keys: pd.Series, version: str) -> pd.Series:
    """Nullable boolean `os >= version`, compared numerically per component."""
    return (version_keys >= version_key(version)).astype("boolean")


def _array(values: list[Any], dtype: str) -> Any:
    """A nullable pandas array (the stubs cannot type a dtype chosen at run time)."""
    return pd.array(values, dtype=dtype)  # type: ignore[call-overload]
