"""The rule catalogue: every family listed once, rules collected from them by type."""

from __future__ import annotations

from auditor.rules import (
    bootstrap,
    compliance,
    dem,
    enrollment,
    hardware,
    inventory,
    os,
    population,
    protection,
    sync,
    tenant,
    vm,
    vpp,
)
from auditor.rules.base import Rule

FAMILIES = (
    *(enrollment, dem, bootstrap, os, hardware, vm, inventory, sync, protection, tenant),
    *(population, vpp, compliance),
)

ALL_RULES: tuple[Rule, ...] = tuple(
    sorted(
        (obj for module in FAMILIES for obj in vars(module).values() if isinstance(obj, Rule)),
        key=lambda r: r.id,
    )
)

# Ids never reused: a retired id maps to why it went (waivers and history refer to it).
RETIRED: dict[str, str] = {}

_BY_ID = {r.id: r for r in ALL_RULES}


def rule_by_id(rule_id: str) -> Rule:
    """One rule by id.

    Raises:
        KeyError: the id is not in the catalogue (retired ids included).
    """
    return _BY_ID[rule_id]
