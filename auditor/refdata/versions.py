"""macOS version strings → comparable parts; the one parser used by normalization and refdata."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

# "14.5 (23F79)", "13.4.1 (c)", "14.1.2a", "10.15.7", "26.0.1", "macOS 15.7.9 (24G830)",
# "13.4.1 (a) (22F770820d)" (an RSR letter, then the supplemental build). ASCII only: a
# Unicode digit or a Kelvin sign never becomes part of a version.
_VERSION = re.compile(
    r"""^\s*(?:mac\s?os\s*x?\s*)?
        (?P<major>[0-9]{1,3})(?:\.(?P<minor>[0-9]{1,3}))?(?:\.(?P<patch>[0-9]{1,3}))?
        \s*(?P<rsr_inline>[a-z])?
        (?:\s*\(\s*(?P<rsr_paren>[a-z])\s*\))?
        (?:\s*\(\s*(?:build\s*)?(?P<build>[0-9]{1,2}[A-Z][0-9]{1,6}[a-z]?)\s*\))?
        \s*$""",
    re.IGNORECASE | re.VERBOSE | re.ASCII,
)


@dataclass(frozen=True, slots=True)
class MacVersion:
    """A parsed macOS version: numeric parts plus build and Rapid Security Response letter."""

    major: int
    minor: int
    patch: int
    build: str | None = None
    rsr: str | None = None

    @property
    def key(self) -> int:
        """Sortable integer: 10.15.7 → 10_015_007, 26.0.1 → 26_000_001."""
        return self.major * 1_000_000 + self.minor * 1_000 + self.patch

    @property
    def text(self) -> str:
        """Normalized `major.minor.patch`."""
        return f"{self.major}.{self.minor}.{self.patch}"

    @property
    def major_label(self) -> str:
        """The marketing major: `10.15` for Catalina and older, else the first number."""
        return f"{self.major}.{self.minor}" if self.major == 10 else str(self.major)


def parse_macos_version(raw: object) -> MacVersion | None:
    """Parse one macOS version string; None when it is not a macOS version.

    Majors 10–99 are accepted (10.x, 11 … 15, 26 …); anything else is unparseable rather
    than guessed.
    """
    if not isinstance(raw, str):
        return None
    match = _VERSION.match(raw)
    if match is None:
        return None
    major = int(match["major"])
    if not 10 <= major <= 99:
        return None
    rsr = match["rsr_inline"] or match["rsr_paren"]
    return MacVersion(
        major=major,
        minor=int(match["minor"] or 0),
        patch=int(match["patch"] or 0),
        build=match["build"],
        rsr=rsr.lower() if rsr else None,
    )


def version_key(text: str) -> int:
    """Sortable key of a version written in config or reference data; raises on nonsense."""
    parsed = parse_macos_version(text)
    if parsed is None:
        raise ValueError(f"not a macOS version: {text!r}")
    return parsed.key


def major_label_of_key(key: int) -> str:
    """`10015007` → `10.15`, `26000001` → `26`."""
    major, minor = divmod(key // 1_000, 1_000)
    return f"{major}.{minor}" if major == 10 else str(major)


def key_text(key: int) -> str:
    """`15007009` → `15.7.9`."""
    major, rest = divmod(key, 1_000_000)
    minor, patch = divmod(rest, 1_000)
    return f"{major}.{minor}.{patch}"


def parse_version_column(raw: pd.Series) -> pd.DataFrame:
    """Parse a column of version strings once per distinct value (factorize, then take).

    Returns a frame aligned with `raw` holding `os_version`, `os_major`, `os_version_key`,
    `os_build`, `os_rsr`; unparseable or missing values are NA in every column.
    """
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    parsed = [parse_macos_version(value) for value in uniques]

    def take(values: list[object], dtype: str) -> pd.Series:
        table = pd.Series([*values, None], dtype=dtype).array
        return pd.Series(table.take(np.where(codes < 0, len(values), codes)), index=raw.index)

    return pd.DataFrame(
        {
            "os_version": take([p.text if p else None for p in parsed], "string"),
            "os_major": take([p.major_label if p else None for p in parsed], "string"),
            "os_version_key": take([p.key if p else None for p in parsed], "Int64"),
            "os_build": take([p.build if p else None for p in parsed], "string"),
            "os_rsr": take([p.rsr if p else None for p in parsed], "string"),
        },
        index=raw.index,
    )
