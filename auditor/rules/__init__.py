"""The rule catalogue: every family listed once, rules collected from them by type."""

from __future__ import annotations

from auditor.rules import protection, sync
from auditor.rules.base import Rule

FAMILIES = (protection, sync)

ALL_RULES: tuple[Rule, ...] = tuple(
    sorted(
        (obj for module in FAMILIES for obj in vars(module).values() if isinstance(obj, Rule)),
        key=lambda r: r.id,
    )
)

RETIRED: dict[str, str] = {}


def rule_by_id(rule_id: str) -> Rule:
    """Look one rule up; KeyError when the id is not in the catalogue."""
    return next(r for r in ALL_RULES if r.id == rule_id) if any(
        r.id == rule_id for r in ALL_RULES
    ) else _missing(rule_id)


def _missing(rule_id: str) -> Rule:
    raise KeyError(rule_id)
