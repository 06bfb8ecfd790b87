"""Date and time columns: ISO 8601, the export and PowerShell formats → UTC timestamps (µs).

Pandas reads ISO 8601 in bulk. The slash formats are read by Arrow's `strptime` first (in
C, ~10x faster than pandas'), but Arrow is lenient where pandas is not — it rolls 2/30
over to 3/1, reads a two-digit year as year 23, takes "12:00PM" — so a value is kept only
when its text matches the format strictly (pandas' own patterns) and the parsed day, month
and year are the ones written. Pandas reads whatever that leaves, so both paths agree.

Slash dates are written in the locale of whoever saved the file: `5/15/2023 10:59:03 AM`
(en-US, month first) or `31/12/9999 23:59:59` (en-GB, day first), as PowerShell's
`Export-Csv` does. The order is never guessed: it is decided from values that can only be
read one way (a first number above 12 is a day), across all the date columns of a batch
(`slash_order`); without such evidence, `5/6/2023` is unparseable, not May or June.
Windows PowerShell's `ConvertTo-Json` writes `/Date(1684148343000)/` (milliseconds since
1970, UTC), which is read too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from auditor.normalize.values import MISSING_TOKENS, Parsed, all_strings, arrow_strings, text_column

_NO_DATE = MISSING_TOKENS | {"never"}
_LAST_YEAR = 9999  # Python's datetime, and so every report, ends with 9999
_SHORTEST_ISO_DATE = len("2024-03-05")
_ISO_TRIMMED = "ISO8601, fractions cut to µs"
_DOTNET = "/Date(ms)/"
_DOTNET_VALUE = re.compile(r"^/Date\((-?\d+)(?:[+-]\d{4})?\)/$")
_LONG_FRACTION = re.compile(r"(\.\d{6})\d+")
_SLASH = r"^\s*(?P<a>\d{1,2})/(?P<b>\d{1,2})/\d{4}"
_TIMES = (" %I:%M:%S %p", " %I:%M %p", " %H:%M:%S", " %H:%M", "")
_MONTH_FIRST = tuple(f"%m/%d/%Y{t}" for t in _TIMES)
_DAY_FIRST = tuple(f"%d/%m/%Y{t}" for t in _TIMES)
# Tried after ISO 8601, in order; formats whose separators say the order themselves.
_OTHER_FORMATS = (
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
)


def slash_order(columns: Sequence[pd.Series]) -> bool | None:
    """Whether the slash dates of these columns are day first (True), month first (False).

    None when no value tells (every first and second number is 12 or less) or when the
    values contradict each other (both orders occur: a mixed or damaged file).
    """
    day_first = month_first = False
    for column in columns:
        strings = arrow_strings(text_column(column, distinct=True))
        if strings is None:
            continue
        parts = pc.extract_regex(strings, _SLASH)
        first = pc.cast(pc.struct_field(parts, "a"), pa.int32())
        second = pc.cast(pc.struct_field(parts, "b"), pa.int32())
        day_first |= bool(pc.any(pc.greater(first, 12)).as_py())
        month_first |= bool(pc.any(pc.greater(second, 12)).as_py())
    if day_first == month_first:
        return None
    return day_first


def datetime_column(raw: pd.Series, *, day_first: bool | None = None) -> Parsed:
    """ISO 8601 (any fraction length, `Z` or offset), slash and .NET JSON dates → UTC, µs.

    Year 1 (.NET's DateTime.MinValue, Intune's "never": 0001-01-01T00:00:00Z or
    1/1/0001 12:00:00 AM) and missing-value words are NA without counting as failed; year 0
    does not exist and a year past 9999 cannot be shown: both are unparseable. A value
    without a zone is taken as UTC, which is what Intune exports write. `day_first` is the
    slash-date order (see `slash_order`); None reads only slash dates whose day and month
    cannot be swapped. The format a sample reads best goes over the whole column; only what
    it leaves unread is cleaned and retried with every format (a failing format is the slow
    path).
    """
    strings = raw if raw.dtype == object and all_strings(raw) else _as_objects(text_column(raw))
    formats = _formats_by_fit(strings, _DAY_FIRST if day_first else _MONTH_FIRST)
    parsed = _to_utc(strings, formats[0])
    unread = parsed.isna().to_numpy(dtype=bool)
    text = pd.Series(pd.NA, index=raw.index, dtype="string")
    if unread.any():
        text[unread] = text_column(strings[unread])
        retry = unread & text.notna().to_numpy(dtype=bool)
        for fmt in formats:  # the cleaned text, every format again
            if not retry.any():
                break
            parsed[retry] = _to_utc(_as_objects(text[retry]), fmt)
            retry &= parsed.isna().to_numpy(dtype=bool)
    rejected = np.zeros(len(parsed), dtype=bool)
    if day_first is None:  # slash dates read either way are not read at all
        maybe = unread | (formats[0] in _MONTH_FIRST)
        if maybe.any():
            rejected[maybe] = _ambiguous_day_month(strings[maybe])
    year = parsed.dt.year
    never = (year == 1).to_numpy(dtype=bool, na_value=False)
    rejected |= (year < 1).to_numpy(dtype=bool, na_value=False)  # there is no year 0
    # past 9999 (a .NET millisecond count can say 11476): no report can hold it as a date
    rejected |= (year > _LAST_YEAR).to_numpy(dtype=bool, na_value=False)
    if never.any() or rejected.any():
        parsed = parsed.mask(never | rejected)
        fill = rejected & text.isna().to_numpy(dtype=bool)
        if fill.any():
            text[fill] = text_column(strings[fill])
    failed = parsed.isna().to_numpy(dtype=bool) & text.notna().to_numpy(dtype=bool) & ~never
    if failed.any():  # words that mean "no date" are missing, not unreadable
        failed[failed] = ~text[failed].str.casefold().isin(_NO_DATE).to_numpy(dtype=bool)
    return Parsed(parsed, failed, text)


def _ambiguous_day_month(strings: pd.Series) -> np.ndarray:
    """Slash dates whose first two numbers could be day or month and differ (`5/6/2023`)."""
    values = arrow_strings(text_column(strings))
    if values is None:
        return np.zeros(len(strings), dtype=bool)
    parts = pc.extract_regex(values, _SLASH)
    first = pc.cast(pc.struct_field(parts, "a"), pa.int32())
    second = pc.cast(pc.struct_field(parts, "b"), pa.int32())
    swappable = pc.and_(
        pc.and_(pc.less_equal(first, 12), pc.less_equal(second, 12)), pc.not_equal(first, second)
    )
    return np.asarray(pc.fill_null(swappable, False).to_numpy(zero_copy_only=False), dtype=bool)


def _formats_by_fit(strings: pd.Series, slash_formats: tuple[str, ...]) -> list[str]:
    """Every format that applies, the one that reads most of a 200-value sample first."""
    sample = strings.dropna().head(200)
    formats = ["ISO8601", _ISO_TRIMMED, *slash_formats, *_OTHER_FORMATS, _DOTNET]
    if sample.empty:
        return formats
    fits: list[int] = []
    for fmt in formats:  # in order, so ISO wins ties; one that reads every value ends the search
        fits.append(int(_to_utc(sample, fmt).notna().sum()))
        if fits[-1] == len(sample):
            break
    best = max(range(len(fits)), key=lambda i: fits[i])
    return [formats[best], *formats[:best], *formats[best + 1 :]]


def _as_objects(text: pd.Series) -> pd.Series:
    return text.astype(object).where(text.notna(), None)


def _to_utc(strings: pd.Series, fmt: str) -> pd.Series:
    """One format over the column (errors → NaT), at µs resolution.

    `_ISO_TRIMMED` is ISO 8601 with fractions cut to µs first: nanosecond parsing loses
    9999-12-31 sentinels and years before 1677. ISO 8601 also reads "2024" or "2024-03" as
    dates; a timestamp needs at least a full date, so shorter values are left unread.
    """
    if fmt == _DOTNET:
        return _dotnet_json(strings)
    if fmt == _ISO_TRIMMED:
        strings = strings.str.replace(_LONG_FRACTION, r"\1", regex=True)
        fmt = "ISO8601"
    if fmt in _STRICT:
        parsed = _arrow_strptime(strings, fmt)
        unread = parsed.isna().to_numpy(dtype=bool)
        if unread.any():
            parsed[unread] = _pandas_strptime(strings[unread], fmt)
        return parsed
    parsed = _pandas_strptime(strings, fmt)
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


def _pandas_strptime(strings: pd.Series, fmt: str) -> pd.Series:
    try:
        parsed = pd.to_datetime(strings, format=fmt, utc=True, errors="coerce")
    except (ValueError, OverflowError):  # a value pandas cannot even coerce: try one by one
        parsed = pd.Series(
            [_one_date(s, fmt) for s in strings], index=strings.index, dtype="datetime64[us, UTC]"
        )
    return parsed.astype("datetime64[us, UTC]")


# Python's strptime patterns (what pandas matches), narrowed to what Arrow reads the same way.
_DIRECTIVES = {
    "Y": r"(?P<Y>\d\d\d\d)",
    "m": r"(?P<m>1[0-2]|0[1-9]|[1-9])",
    "d": r"(?P<d>3[01]|[12]\d|0[1-9]|[1-9])",
    "H": r"(?:2[0-3]|[0-1]\d|\d)",
    "I": r"(?:1[0-2]|0[1-9]|[1-9])",
    "M": r"(?:[0-5]\d|\d)",
    "S": r"(?:[0-5]\d|\d)",
    "p": r"(?:am|pm)",
}


def _strict_pattern(fmt: str) -> str:
    """An anchored, case-insensitive RE2 pattern a value of `fmt` must match in full."""
    parts = re.split(r"(%[A-Za-z]|\s+)", fmt)
    pattern = "".join(
        _DIRECTIVES[part[1]]
        if part.startswith("%")
        else r"\s+"
        if part.isspace()
        else re.escape(part)
        for part in parts
        if part
    )
    return f"(?i)^{pattern}$"


_STRICT = {fmt: _strict_pattern(fmt) for fmt in (*_MONTH_FIRST, *_DAY_FIRST, *_OTHER_FORMATS)}


def _dotnet_json(strings: pd.Series) -> pd.Series:
    """`/Date(1684148343000)/` (ms since 1970, UTC; a `+0200` suffix names the writer's zone)."""
    millis = strings.str.extract(_DOTNET_VALUE, expand=False)
    numbers = pd.to_numeric(millis, errors="coerce")
    parsed = pd.to_datetime(numbers, unit="ms", utc=True, errors="coerce")
    return parsed.astype("datetime64[us, UTC]")


def _arrow_strptime(strings: pd.Series, fmt: str) -> pd.Series:
    """`fmt` read by Arrow, keeping only values written strictly in `fmt` that did not roll over."""
    values = arrow_strings(strings)
    if values is None:
        return pd.Series(pd.NaT, index=strings.index, dtype="datetime64[us, UTC]")
    parsed = pc.strptime(values, format=fmt, unit="us", error_is_null=True)
    written = pc.extract_regex(values, _STRICT[fmt])  # null where the text does not match
    keep = pc.is_valid(written)
    for field, part in (("Y", pc.year), ("m", pc.month), ("d", pc.day)):
        number = pc.cast(pc.struct_field(written, field), pa.int64())
        keep = pc.and_(keep, pc.fill_null(pc.equal(part(parsed), number), False))
    kept = pc.if_else(keep, parsed, pa.scalar(None, parsed.type))
    stamps = kept.to_numpy().astype("datetime64[us]")
    return pd.Series(stamps, index=strings.index).dt.tz_localize("UTC")


def _one_date(text: object, fmt: str) -> pd.Timestamp | None:
    if not isinstance(text, str):
        return None
    try:
        value = pd.to_datetime(text, format=fmt, utc=True)
    except (ValueError, OverflowError):
        return None
    return None if pd.isna(value) else value
