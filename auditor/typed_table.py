"""Typed reads from parsed TOML (auditor.toml, waiver files) that collect every problem."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any


class TableReader:
    """Typed reads from a TOML table that record problems instead of raising one at a time.

    `label` names the value in messages (`output.formats`); its last dotted part is the key
    read from the table. `prefix` starts every message (`waivers.toml line 12, waiver 3: `).
    """

    def __init__(self, problems: list[str], prefix: str = "") -> None:
        self.problems = problems
        self.prefix = prefix

    def problem(self, label: str, message: str) -> None:
        """Record one problem: `<prefix><label>: <message>` (`<prefix><message>` without label)."""
        self.problems.append(f"{self.prefix}{label}: {message}" if label else self.prefix + message)

    def _get(self, table: Mapping[str, Any], label: str, kind: type | tuple[type, ...]) -> Any:
        key = label.rsplit(".", 1)[-1]
        if key not in table:
            return None
        value = table[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.problem(label, f"expected {_kind_name(kind)}, got {value!r}")
            return None
        return value

    def text(self, table: Mapping[str, Any], label: str, default: str) -> str:
        """A string, else `default`."""
        value = self._get(table, label, str)
        return default if value is None else value

    def integer(self, table: Mapping[str, Any], label: str, default: int) -> int:
        """An integer (not a boolean), else `default`."""
        value = self._get(table, label, int)
        return default if value is None else value

    def number(self, table: Mapping[str, Any], label: str, default: float) -> float:
        """An integer or float, else `default`."""
        value = self._get(table, label, (int, float))
        if isinstance(value, bool):
            self.problem(label, f"expected a number, got {value!r}")
            return default
        return default if value is None else float(value)

    def flag(self, table: Mapping[str, Any], label: str, default: bool) -> bool:
        """true/false, else `default`."""
        value = self._get(table, label, bool)
        return default if value is None else value

    def strings(
        self, table: Mapping[str, Any], label: str, default: tuple[str, ...]
    ) -> tuple[str, ...]:
        """A list of strings, else `default`."""
        value = self._get(table, label, list)
        if value is None:
            return default
        if not all(isinstance(v, str) for v in value):
            self.problem(label, "expected a list of strings")
            return default
        return tuple(value)

    def date(self, table: Mapping[str, Any], label: str) -> dt.date | None:
        """A TOML date (or YYYY-MM-DD text), else None."""
        value = self._get(table, label, (dt.date, str))
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                self.problem(label, f"'{value}' is not a date (YYYY-MM-DD)")
                return None
        return value  # type: ignore[no-any-return]


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", bool: "true/false", list: "a list"}
    if isinstance(kind, tuple):
        return "a number" if float in kind else "a date"
    return names.get(kind, kind.__name__)
