"""Frame helpers the report's builders share: safe columns, codes, sort keys, shares."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from auditor.refdata.versions import version_key
from auditor.report.model import Share

NOT_REPORTED = "not reported"
_COUNT_SLICE = 1 << 20
TOP = 15  # rows of a distribution shown before the rest is folded into "other"


def pct(count: int, total: int) -> float:
    """count/total as a percentage with one decimal; 0.0 when the total is zero."""
    return round(100.0 * count / total, 1) if total else 0.0


def column(frame: pd.DataFrame, name: str, dtype: str = "string") -> pd.Series:
    """A column of the frame, or an all-NA column when the source did not provide it."""
    if name in frame.columns:
        return frame[name]
    return pd.Series(pd.NA, index=frame.index, dtype=dtype)


def codes(values: pd.Series) -> np.ndarray:
    """Category codes of a categorical column (status or severity) as a numpy array."""
    return np.asarray(values.cat.codes.to_numpy())


def count_codes(codes: np.ndarray, size: int) -> np.ndarray:
    """`np.bincount(codes[codes >= 0], minlength=size)`, a slice at a time.

    bincount widens its input to 8 bytes a value: over the results of 500k Macs, ~100 MB
    for a count of a few dozen codes.
    """
    counts = np.zeros(size, dtype=np.int64)
    for start in range(0, len(codes), _COUNT_SLICE):
        part = codes[start : start + _COUNT_SLICE]
        found = np.bincount(part[part >= 0], minlength=size)
        if len(found) > len(counts):
            counts = np.concatenate([counts, np.zeros(len(found) - len(counts), np.int64)])
        counts[: len(found)] += found
    return counts


def is_one_of(codes: np.ndarray, wanted: Iterable[int]) -> np.ndarray:
    """`np.isin(codes, wanted)` for small category codes (-1, missing, never matches).

    A table lookup: np.isin sorts, which over millions of results takes ~12 bytes of scratch
    per result (at 500k Macs, ~150 MB a call).
    """
    wanted = list(wanted)
    table = np.zeros(max(int(codes.max(initial=0)), *wanted, 0) + 2, dtype=bool)
    table[wanted] = True
    return np.asarray(table[codes])  # -1 picks the last slot, which is never wanted


def equals(values: pd.Series, value: str) -> np.ndarray:
    """Elementwise `values == value` as numpy booleans (categoricals compare codes, no copies)."""
    return np.asarray((values == value).to_numpy(dtype=bool, na_value=False))


def sort_codes(values: pd.Series) -> np.ndarray:
    """Integer ranks that sort like the values' text, missing last (for np.lexsort).

    Ranked by Arrow over the UTF-8 bytes (the code-point order Python sorts str by), without
    making a Python string of each distinct value: at 500k Macs those were tens of MB a sort.
    """
    text = pa.array(values.astype("string").array)
    ranks = pc.rank(text, sort_keys="ascending", tiebreaker="dense")  # missing: one rank, last
    return np.asarray(ranks.to_numpy(), dtype=np.int64) - 1


def take(values: pd.Series, positions: np.ndarray) -> Any:
    """values[positions] keeping the dtype; position -1 gives NA (non-device entities)."""
    return values.array.take(positions, allow_fill=True)


def shares(values: pd.Series, total: int, *, top: int | None = TOP) -> tuple[Share, ...]:
    """Counts of each value (missing as 'not reported'), largest first, the tail as 'other'."""
    counts = values.astype("string").fillna(NOT_REPORTED).value_counts(sort=False)
    ordered = sorted(counts.items(), key=lambda item: (-int(item[1]), str(item[0])))
    rows = [Share(str(label), int(n), pct(int(n), total)) for label, n in ordered]
    if top is not None and len(rows) > top + 1:
        rest = sum(r.count for r in rows[top:])
        rows = [*rows[:top], Share("other", rest, pct(rest, total))]
    return tuple(rows)


def major_shares(majors: pd.Series, total: int) -> tuple[Share, ...]:
    """Majors of macOS newest first (version order, not text order), missing last."""
    counts = majors.astype("string").fillna(NOT_REPORTED).value_counts(sort=False)

    def order(label: str) -> tuple[int, int]:
        try:
            return (0, -version_key(label))
        except ValueError:
            return (1, 0)

    return tuple(
        Share(str(label), int(n), pct(int(n), total))
        for label, n in sorted(counts.items(), key=lambda item: (order(str(item[0])), item[0]))
    )
