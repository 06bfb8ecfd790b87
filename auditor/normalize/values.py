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

Mask = npt.NDArray[np.bool_]

MISSING_TOKENS = frozenset(
    {"", "null", "none", "n/a", "na", "-", "--", "unknown", "not available", "not applicable"}
)
_TRUE = ("true", "yes", "y", "1", "supervised", "encrypted", "enabled", "on", "approved")
_FALSE = ("false", "no", "n", "0", "not supervised", "unsupervised", "not encrypted",
          "unencrypted", "disabled", "off", "not approved")  # fmt: skip
BOOLEAN_TOKENS: Mapping[str, bool] = {**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}
_SPACING = re.compile(r"[\s_\-]+")
_NO_DATE = MISSING_TOKENS | {"never"}
_SHORTEST_ISO_DATE = len("2024-03-05")
_ISO_TRIMMED = "ISO8601, fractions cut to µs"
_LONG_FRACTION = re.compile(r"(\.\d{6})\d+")
# Tried after ISO 8601, in order; exports are written in the en-US locale (month first).
_DATE_FORMATS = (
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
)


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
        return str(int(value)) if value.is_integer() else repr(value)
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

    `distinct=True` suits columns with few distinct values (each is cleaned once); the
    default suits identifiers and names, where nearly every value is distinct.
    """
    if isinstance(raw.dtype, pd.StringDtype) and raw.dtype.na_value is pd.NA:
        return raw  # already text (a coalesced column)
    if distinct:
        return recode(raw, as_text, "string")
    cleaned = [
        (value.strip() or None)
        if value.__class__ is str
        else (None if value is None else as_text(value))
        for value in raw.to_numpy(dtype=object)
    ]
    return pd.Series(pd.array(cleaned, dtype="string"), index=raw.index)


def keyed_text_column(raw: pd.Series, key: Callable[[str], str]) -> tuple[pd.Series, pd.Series]:
    """`text_column` plus a matching key of each value (e.g. upper-cased), in one pass."""
    text = text_column(raw)
    keys = [key(value) if value.__class__ is str else None for value in text.to_numpy(dtype=object)]
    return text, pd.Series(pd.array(keys, dtype="string"), index=raw.index)


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


def datetime_column(raw: pd.Series) -> Parsed:
    """ISO 8601 (any fraction length, `Z` or offset) and en-US export dates → UTC, µs.

    Year 1 (.NET's DateTime.MinValue, Intune's "never": 0001-01-01T00:00:00Z or
    1/1/0001 12:00:00 AM) and missing-value words are NA without counting as failed. A value
    without a zone is taken as UTC, which is what Intune exports write. The format a sample
    reads best with goes over the whole column; only what it leaves unread is cleaned and
    retried with the other formats (a failing format is the slow path).
    """
    strings = raw if raw.dtype == object and all_strings(raw) else _as_objects(text_column(raw))
    formats = _formats_by_fit(strings)
    parsed = _to_utc(strings, formats[0])
    unread = parsed.isna().to_numpy(dtype=bool)
    text = pd.Series(pd.NA, index=raw.index, dtype="string")
    if unread.any():
        text[unread] = text_column(strings[unread])
        retry = unread & text.notna().to_numpy(dtype=bool)
        for fmt in formats[1:]:
            if not retry.any():
                break
            parsed[retry] = _to_utc(_as_objects(text[retry]), fmt)
            retry &= parsed.isna().to_numpy(dtype=bool)
    never = (parsed.dt.year <= 1).to_numpy(dtype=bool, na_value=False)
    if never.any():
        parsed = parsed.mask(never)
    failed = parsed.isna().to_numpy(dtype=bool) & text.notna().to_numpy(dtype=bool) & ~never
    if failed.any():  # words that mean "no date" are missing, not unreadable
        failed[failed] = ~text[failed].str.casefold().isin(_NO_DATE).to_numpy(dtype=bool)
    return Parsed(parsed, failed, text)


def _formats_by_fit(strings: pd.Series) -> list[str]:
    """Every known format, the one that reads most of a 200-value sample first."""
    sample = strings.dropna().head(200)
    formats = ["ISO8601", _ISO_TRIMMED, *_DATE_FORMATS]
    if sample.empty:
        return formats
    fits = [int(_to_utc(sample, fmt).notna().sum()) for fmt in formats]
    best = max(range(len(formats)), key=lambda i: fits[i])  # first of equals: ISO wins ties
    return [formats[best], *formats[:best], *formats[best + 1 :]]


def _as_objects(text: pd.Series) -> pd.Series:
    return text.astype(object).where(text.notna(), None)


def _to_utc(strings: pd.Series, fmt: str) -> pd.Series:
    """One format over the column (errors → NaT), at µs resolution.

    `_ISO_TRIMMED` is ISO 8601 with fractions cut to µs first: nanosecond parsing loses
    9999-12-31 sentinels and years before 1677. ISO 8601 also reads "2024" or "2024-03" as
    dates; a timestamp needs at least a full date, so shorter values are left unread.
    """
    if fmt == _ISO_TRIMMED:
        strings = strings.str.replace(_LONG_FRACTION, r"\1", regex=True)
        fmt = "ISO8601"
    try:
        parsed = pd.to_datetime(strings, format=fmt, utc=True, errors="coerce")
    except (ValueError, OverflowError):  # a value pandas cannot even coerce: try one by one
        parsed = pd.Series(
            [_one_date(s, fmt) for s in strings], index=strings.index, dtype="datetime64[us, UTC]"
        )
    parsed = parsed.astype("datetime64[us, UTC]")
    if fmt == "ISO8601":
        # A reduced-precision value ("2024") parses to midnight: check only those rows.
        ticks = parsed.to_numpy(dtype="datetime64[us]").astype("int64")
        midnight = (ticks % 86_400_000_000 == 0) & parsed.notna().to_numpy(dtype=bool)
        if midnight.any():
            lengths = strings[midnight].str.len().to_numpy(dtype=float, na_value=0)
            short = np.zeros(len(parsed), dtype=bool)
            short[midnight] = lengths < _SHORTEST_ISO_DATE
            parsed = parsed.mask(short)
    return parsed


def _one_date(text: object, fmt: str) -> pd.Timestamp | None:
    if not isinstance(text, str):
        return None
    try:
        value = pd.to_datetime(text, format=fmt, utc=True)
    except (ValueError, OverflowError):
        return None
    return None if pd.isna(value) else value


def _take_mask(failed: list[bool], codes: npt.NDArray[np.intp]) -> Mask:
    table = np.array([*failed, False], dtype=bool)
    return table.take(np.where(codes < 0, len(failed), codes))
