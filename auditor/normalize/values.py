"""Raw inventory values → typed columns, each distinct value parsed once, failures kept.

Every parser takes the text form of a column (`text_column`: stripped, "" → NA) and returns
the typed values plus a mask of the values that were present but could not be read, so the
caller can count them and quote examples. Nothing is guessed: a value that is not clearly a
boolean, a date or a known enum member becomes NA (or `unknown` for enums), never a default.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

Mask = npt.NDArray[np.bool_]

MISSING_TOKENS = frozenset(
    {"", "null", "none", "n/a", "na", "-", "--", "unknown", "not available", "not applicable"}
)
_TRUE = ("true", "yes", "y", "1", "supervised", "encrypted", "enabled", "on", "approved")
_FALSE = ("false", "no", "n", "0", "not supervised", "unsupervised", "not encrypted",
          "unencrypted", "disabled", "off", "not approved")  # fmt: skip
BOOLEAN_TOKENS: Mapping[str, bool] = {**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}
_SPACING = re.compile(r"[\s_\-]+")
_EXACT = 2.0**53


@dataclass(frozen=True, slots=True)
class Parsed:
    """Typed values, which present values could not be read, and the input as text."""

    values: pd.Series
    failed: Mask
    text: pd.Series


def token(text: str) -> str:
    """Lower-case with runs of spaces, underscores and hyphens as one space: for lookups."""
    return _SPACING.sub(" ", text.casefold()).strip()


def enum_key(text: str) -> str:
    """Lower-case without spaces, underscores, hyphens: `In grace period` → ingraceperiod."""
    return _SPACING.sub("", text.casefold())


def as_text(value: object) -> str | None:
    """One raw value as stripped text; None for missing (None, NaN, NA, blank)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return None
        # a whole number as digits only while a float holds it exactly (2**53): past that
        # the digits would be invented (1e23 is not 99999999999999991611392)
        return str(int(value)) if value.is_integer() and abs(value) < _EXACT else repr(value)
    return str(value).strip() or None


def factorize(raw: pd.Series) -> tuple[npt.NDArray[np.intp], list[object]]:
    """Codes (-1 for missing) and distinct values of any column, even one holding lists."""
    try:
        codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    except TypeError:  # an unhashable value (list, dict) where a scalar belongs
        cleaned = [v if isinstance(v, Hashable) else repr(v) for v in raw.tolist()]
        codes, uniques = pd.factorize(pd.Series(cleaned, index=raw.index, dtype=object))
    return codes, np.asarray(uniques, dtype=object).tolist()


def recode(
    column: pd.Series, mapping: Mapping[Any, object] | Callable[[Any], object], dtype: str
) -> pd.Series:
    """Map each distinct value once (a dict or a function); NA stays NA. For few-valued columns."""
    codes, uniques = factorize(column)
    get = mapping.get if isinstance(mapping, Mapping) else mapping
    return take([get(u) for u in uniques], codes, dtype, column.index)


def take(
    values: Sequence[object], codes: npt.NDArray[np.intp], dtype: str, index: pd.Index
) -> pd.Series:
    """Expand per-distinct-value results back to rows (code -1 → NA)."""
    table = pd.array([*values, None], dtype=dtype)  # type: ignore[call-overload]
    return pd.Series(table.take(np.where(codes < 0, len(values), codes)), index=index)


def text_column(raw: pd.Series, *, distinct: bool = False) -> pd.Series:
    """Any raw column as nullable strings: stripped, blanks and NaN as NA.

    Columns holding only text are cleaned in Arrow, in bulk. Others (JSON booleans and
    numbers mixed in) are cleaned value by value: once per distinct value with
    `distinct=True` (few-valued columns), else row by row (identifiers, names).
    """
    strings = arrow_strings(raw)
    if strings is not None:
        trimmed = pc.utf8_trim_whitespace(strings)
        blank = pc.equal(pc.utf8_length(trimmed), 0)
        cleaned = pc.if_else(blank, pa.scalar(None, pa.string()), trimmed)
        return pd.Series(pd.arrays.ArrowStringArray(cleaned), index=raw.index)
    if distinct:
        return recode(raw, as_text, "string")
    cleaned = [
        (value.strip() or None)
        if value.__class__ is str
        else (None if value is None else as_text(value))
        for value in raw.to_numpy(dtype=object)
    ]
    return pd.Series(pd.array(cleaned, dtype="string"), index=raw.index)


def arrow_strings(raw: pd.Series) -> pa.ChunkedArray | None:
    """The column as an Arrow string array when it holds only text and missing values."""
    if isinstance(raw.dtype, pd.StringDtype) or (
        isinstance(raw.dtype, pd.ArrowDtype) and raw.dtype.pyarrow_dtype == pa.string()
    ):
        strings = raw.array.__arrow_array__()  # Arrow storage: the data itself, no copy
        return strings if isinstance(strings, pa.ChunkedArray) else pa.chunked_array([strings])
    if raw.dtype == object and all_strings(raw):
        values = raw.to_numpy(dtype=object)
        return pa.chunked_array([pa.array(values, type=pa.string(), from_pandas=True)])
    return None


def keyed_text_column(raw: pd.Series, key: Callable[[str], str]) -> tuple[pd.Series, pd.Series]:
    """`text_column` plus a matching key of each value (e.g. `str.upper`), in one pass.

    `key` must treat ASCII text like `str.lower` or `str.upper` (casefold, upper): ASCII
    values are keyed in bulk, the others one by one with `key` itself.
    """
    text = text_column(raw)
    strings = arrow_strings(text)
    if strings is None or key not in _BULK_KEYS:
        keys = [key(v) if v.__class__ is str else None for v in text.to_numpy(dtype=object)]
        return text, pd.Series(pd.array(keys, dtype="string"), index=raw.index)
    keyed = pd.Series(pd.arrays.ArrowStringArray(_BULK_KEYS[key](strings)), index=raw.index)
    ascii_or_missing = pc.fill_null(pc.string_is_ascii(strings), True)
    exotic = ~np.asarray(ascii_or_missing.to_numpy(), dtype=bool)
    if exotic.any():
        keyed[exotic] = [key(v) for v in text[exotic].to_numpy(dtype=object)]
    return text, keyed


_BULK_KEYS: dict[Callable[[str], str], Callable[[pa.ChunkedArray], pa.ChunkedArray]] = {
    str.casefold: pc.utf8_lower,
    str.lower: pc.utf8_lower,
    str.upper: pc.utf8_upper,
}


def all_strings(raw: pd.Series) -> bool:
    """True when a column holds only str and missing values (no bools or numbers)."""
    if raw.dtype == object:
        return pd.api.types.infer_dtype(raw, skipna=True) in ("string", "empty")
    return pd.api.types.is_string_dtype(raw.dtype)


def coalesce(columns: Sequence[pd.Series]) -> pd.Series:
    """Row-wise first non-NA of several text columns (earlier columns win)."""
    result = columns[0]
    for column in columns[1:]:
        result = result.fillna(column)
    return result


def boolean_column(raw: pd.Series) -> Parsed:
    """Liberal booleans: true/false, yes/no, 1/0, Supervised/Not supervised, … (any case)."""
    codes, uniques = factorize(raw)
    texts = [as_text(u) for u in uniques]
    keys = [token(t) if t is not None else "" for t in texts]
    values = [BOOLEAN_TOKENS.get(k) for k in keys]
    failed = [k not in BOOLEAN_TOKENS and k not in MISSING_TOKENS for k in keys]
    return Parsed(
        take(values, codes, "boolean", raw.index),
        _take_mask(failed, codes),
        take(texts, codes, "string", raw.index),
    )


def enum_column(raw: pd.Series, table: Mapping[str, str]) -> Parsed:
    """Map through `table` (keys as `enum_key` writes them); others → `unknown`, failed.

    Missing values stay NA; a value the source itself calls unknown is `unknown`, not failed.
    """
    codes, uniques = factorize(raw)
    texts = [as_text(u) for u in uniques]
    values: list[str | None] = []
    failed: list[bool] = []
    for text in texts:
        key = enum_key(text) if text is not None else ""
        missing = text is None or token(text) in MISSING_TOKENS
        values.append(None if text is None else table.get(key, "unknown"))
        failed.append(key not in table and not missing)
    return Parsed(
        take(values, codes, "string", raw.index),
        _take_mask(failed, codes),
        take(texts, codes, "string", raw.index),
    )


def _take_mask(failed: list[bool], codes: npt.NDArray[np.intp]) -> Mask:
    table = np.array([*failed, False], dtype=bool)
    return table.take(np.where(codes < 0, len(failed), codes))
