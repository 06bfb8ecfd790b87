"""The configuration's rule settings checked and resolved against the catalogue.

Ids, parameter names and values (`rule_problems`), each rule's effective parameters with its
groups' policy settings (`rule_params`), and the selected rules with severity overrides
(`select_rules`).
"""

from __future__ import annotations

import dataclasses

from auditor.config import Config
from auditor.errors import ConfigError
from auditor.models import Param
from auditor.rules import ALL_RULES
from auditor.rules.base import Rule


def rule_problems(config: Config) -> list[str]:
    """Everything wrong with the rule settings of `config`: ids, parameter names and values."""
    known = {r.id: r for r in ALL_RULES}
    problems = [
        f"{where}: unknown rule id '{rule_id}'"
        for where, ids in (
            ("rules.select", config.select),
            ("rules.exclude", config.exclude),
            ("rules.severity", tuple(config.severity)),
            ("rules.params", tuple(config.params)),
        )
        for rule_id in ids
        if rule_id not in known
    ]
    for rule_id, values in config.params.items():
        if rule_id not in known:
            continue
        defaults = known[rule_id].params
        for name, value in values.items():
            where = f"rules.params.{rule_id}.{name}"
            if name not in defaults:
                names = ", ".join(sorted(defaults)) or "none"
                problems.append(f"{where}: unknown parameter (known: {names})")
            elif (problem := _param_problem(defaults[name], value)) is not None:
                problems.append(f"{where}: {problem}")
    chosen = {r.id for r in ALL_RULES if not config.select or r.id in config.select}
    if known and not chosen - set(config.exclude):
        problems.append("rules: select/exclude leave no rule to evaluate")
    return problems


def _param_problem(default: Param, value: Param) -> str | None:
    """Why `value` cannot stand in for a parameter whose default is `default`, if it cannot."""
    kind = type(default)
    if isinstance(default, bool) or isinstance(value, bool):
        same = isinstance(default, bool) and isinstance(value, bool)
    elif isinstance(default, int | float):
        same = isinstance(value, int | float) and (kind is float or isinstance(value, int))
        if same and value < 0:  # type: ignore[operator]
            return f"must be 0 or more, got {value}"
    else:
        same = isinstance(value, kind)
    names = {bool: "true/false", int: "a whole number", float: "a number", str: "a string",
             tuple: "a list of strings"}  # fmt: skip
    return None if same else f"expected {names.get(kind, kind.__name__)}, got {value!r}"


def rule_params(config: Config) -> dict[str, dict[str, Param]]:
    """Each rule's configured parameters: its groups' policy settings, then `rules.params`.

    A rule takes a group's setting only for a parameter it declares; a value under
    `[rules.params."MAC-…"]` wins over the policy-level setting.
    """
    settings = config.group_params()
    params: dict[str, dict[str, Param]] = {}
    for rule in ALL_RULES:
        values = {
            name: value
            for group in rule.groups
            for name, value in settings.get(group, {}).items()
            if name in rule.params
        }
        values.update(config.params.get(rule.id, {}))
        if values:
            params[rule.id] = values
    return params


def select_rules(config: Config) -> list[Rule]:
    """The configured catalogue with severity overrides; bad rule settings are a ConfigError."""
    problems = rule_problems(config)
    if problems:
        origin = config.config_file or "configuration"
        raise ConfigError(f"{origin}: {len(problems)} problem(s):\n  - " + "\n  - ".join(problems))
    chosen = [r for r in ALL_RULES if (not config.select or r.id in config.select)]
    return [
        dataclasses.replace(r, severity=config.severity.get(r.id, r.severity))
        for r in chosen
        if r.id not in config.exclude
    ]
