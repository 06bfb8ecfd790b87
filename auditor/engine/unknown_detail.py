"""Why a result is `unknown`, in words: missing inputs, the gaps behind them, undecidable values.

Each text is built once per combination of inputs, never once per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from auditor.refdata.versions import key_text
from auditor.rules.base import Rule
from auditor.rules.phrases import CHIP_WORDS, field_words, method_words, words_list


def gap_clause(columns: Iterable[str], uncollected: Mapping[str, str]) -> str:
    """`; <part> denied: <reason>` for each gap behind the missing columns (once each)."""
    reasons = dict.fromkeys(uncollected[c] for c in columns if c in uncollected)
    return "".join(f"; {reason}" for reason in reasons)


def missing_detail(
    inputs: pd.DataFrame, scope: pd.Series, rule: Rule, uncollected: Mapping[str, str]
) -> np.ndarray:
    """Why each row is unknown: the required inputs it lacks, or the values it could not judge.

    Rows are grouped by which inputs are missing (a bit per column), and undecided rows by
    their input values, so each text is built once per combination rather than once per row.
    """
    strict = [c for c in rule.requires if c not in rule.nullable]
    pattern = np.zeros(len(inputs), dtype=np.int64)
    for bit, column in enumerate(strict):
        pattern |= inputs[column].isna().to_numpy(dtype=bool).astype(np.int64) << bit
    pattern = pattern * 2 + scope.isna().to_numpy(dtype=bool)
    codes, uniques = pd.factorize(pattern)
    texts = []
    for combined in uniques:
        missing = [c for bit, c in enumerate(strict) if (int(combined) >> 1) >> bit & 1]
        named = list(dict.fromkeys(field_words(c) for c in missing))  # os_version(_key): once
        prefix = "cannot tell whether the rule applies: " if int(combined) & 1 else ""
        why = gap_clause(missing, uncollected)
        texts.append(prefix + words_list(named) + " not reported" + why if missing else "")
    detail = np.asarray(texts, dtype=object)[codes]
    undecided = np.flatnonzero(detail == "")
    if undecided.size:
        detail[undecided] = undecided_detail(inputs.iloc[undecided], rule)
    return detail


def undecided_detail(inputs: pd.DataFrame, rule: Rule) -> np.ndarray:
    """'could not decide from compliance state unknown; …' naming the values the check saw."""
    combos = pd.MultiIndex.from_frame(inputs[list(rule.requires)].astype(object))
    codes, uniques = pd.factorize(combos)
    texts = [
        "could not decide from "
        + "; ".join(  # dict: os_version and os_version_key read the same, say it once
            dict.fromkeys(
                f"{field_words(c)} {value_words(c, v)}"
                for c, v in zip(rule.requires, values, strict=True)
            )
        )
        for values in uniques
    ]
    return np.asarray(texts, dtype=object)[codes]


def value_words(column: str, value: object) -> str:
    """A value as a reader reads it: yes/no, a version, a date, or 'not reported'."""
    if (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and np.isnan(value))
    ):
        return "not reported"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if column == "os_version_key" and isinstance(value, int | np.integer):
        return key_text(int(value))
    if column == "enrollment_method":
        return method_words(str(value))
    if column == "chip":
        return CHIP_WORDS.get(str(value), str(value))
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d}"
    return str(value)
