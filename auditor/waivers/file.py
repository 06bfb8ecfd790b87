"""The waiver file: read and check it like auditor.toml, and hold each waiver to the policy.

Every problem is reported at once, with the file line of its waiver.
TOML holds `[[waiver]]` tables; YAML a `waivers:` list (or a bare list). Each waiver names one
rule, exactly one selector, a reason, an approver, a ticket and an expiry date; `id` and
`approved` (the approval date) are optional. The policy (`config.WaiverPolicy`) caps a waiver's
life per severity (from `approved`, else from the as-of date), refuses name patterns on critical
rules unless allowed, and can require an approver other than the run's operator.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from auditor.config import WaiverPolicy
from auditor.errors import ConfigError
from auditor.models import Severity
from auditor.typed_table import TableReader

SELECTORS = ("device_id", "serial", "name", "token_id", "dem_upn", "tenant")
_REQUIRED = ("rule", "reason", "approver", "ticket", "expires")
_OPTIONAL = ("id", "approved")
_GLOB = re.compile(r"[*?\[]")
_TOML_TABLE = re.compile(r"^[ \t]*\[\[[ \t]*waiver[ \t]*\]\]", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Waiver:
    """One accepted exception to a rule for the entities its selector matches."""

    id: str
    rule_id: str
    selector: str  # one of SELECTORS
    value: str  # the id, serial or glob pattern; "*" for the tenant
    reason: str
    approver: str
    ticket: str
    expires: dt.date
    origin: str  # "waivers.toml line 12: waiver 3"
    approved: dt.date | None = None

    def describe(self) -> str:
        """`serial C02XK1ZZJGH5` / `name LAB-*` / `tenant`."""
        return "tenant" if self.selector == "tenant" else f"{self.selector} {self.value}"

    @property
    def is_pattern(self) -> bool:
        """True for a device-name glob: it selects Macs by a pattern, not one by one."""
        return self.selector == "name" and bool(_GLOB.search(self.value))


@dataclass(frozen=True, slots=True)
class WaiverRules:
    """What the waivers are checked against: the rules, the policy, the run's date and operator."""

    severities: Mapping[str, Severity]  # every known rule id → its severity in this run
    policy: WaiverPolicy
    as_of: dt.date
    operator: str = ""  # who runs the audit ([report] prepared_by, else the login name)


def load_waivers(path: Path, rules: WaiverRules | None = None) -> tuple[list[Waiver], str]:
    """Read a waiver file and its sha256; every problem is reported in one ConfigError.

    Structure (unknown tables and keys, types, dates, one selector, unique ids) is always
    checked; with `rules`, rule ids are checked against the catalogue and each waiver against
    the policy. Messages name the file line of the waiver where it can be found.
    """
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig")
        is_yaml = path.suffix.lower() in (".yaml", ".yml")
        entries, lines, problems = _yaml_entries(text) if is_yaml else _toml_entries(text)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: waiver file not found") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the waiver file: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot parse waivers: {exc}") from exc
    waivers: list[Waiver] = []
    for number, entry in enumerate(entries, 1):
        line = lines[number - 1] if number <= len(lines) else None
        where = f"line {line}, waiver {number}" if line else f"waiver {number}"
        origin = (
            f"{path.name} line {line}: waiver {number}" if line else f"{path.name}: waiver {number}"
        )
        waiver = _parse(entry, number, origin, TableReader(problems, f"{where}: "))
        if waiver is not None:
            waivers.append(waiver)
            if rules is not None:
                problems += [f"{where} ({waiver.id}): {p}" for p in _policy_problems(waiver, rules)]
    seen: dict[str, str] = {}
    for waiver in waivers:
        if waiver.id in seen:
            problems.append(
                f"{waiver.origin}: id '{waiver.id}' is already used by {seen[waiver.id]}"
            )
        seen.setdefault(waiver.id, waiver.origin)
    if problems:
        raise ConfigError(f"{path}: {len(problems)} problem(s):\n  - " + "\n  - ".join(problems))
    return waivers, hashlib.sha256(raw).hexdigest()


def _toml_entries(text: str) -> tuple[list[Any], list[int], list[str]]:
    """The `[[waiver]]` tables, the line of each table header, and structural problems."""
    data = tomllib.loads(text)
    problems = [
        f"unknown {'table' if isinstance(value, list | dict) else 'key'} '{key}'"
        + (" (waivers are [[waiver]] tables)" if key.lower().startswith("waiver") else "")
        for key, value in data.items()
        if key != "waiver"
    ]
    entries = data.get("waiver", [])
    if not isinstance(entries, list):
        problems.append("'waiver' must be [[waiver]] tables, one per waiver")
        entries = []
    lines = [text.count("\n", 0, m.start()) + 1 for m in _TOML_TABLE.finditer(text)]
    return entries, lines if len(lines) == len(entries) else [], problems


def _yaml_entries(text: str) -> tuple[list[Any], list[int], list[str]]:
    """The `waivers:` list (or a bare list), the line each item starts on, and problems."""
    node = yaml.compose(text)
    data = yaml.safe_load(text)
    problems: list[str] = []
    if data is None:
        return [], [], []
    if isinstance(data, Mapping):
        problems += [
            f"unknown key '{key}'" + (" (did you mean 'waivers'?)" if key == "waiver" else "")
            for key in data
            if key != "waivers"
        ]
        node = next((v for k, v in getattr(node, "value", ()) if k.value == "waivers"), None)
        data = data.get("waivers", [])
    if not isinstance(data, list):
        problems.append("expected a list of waivers under 'waivers:'")
        return [], [], problems
    items = node.value if isinstance(node, yaml.SequenceNode) else []
    return data, [item.start_mark.line + 1 for item in items], problems


def _parse(entry: Any, number: int, origin: str, get: TableReader) -> Waiver | None:
    """One waiver from its table, or None when it has a problem (recorded in `get`)."""
    if not isinstance(entry, Mapping):
        get.problem("", "expected a table of fields")
        return None
    before = len(get.problems)
    for key in sorted(map(str, set(entry) - {*_REQUIRED, *_OPTIONAL, *SELECTORS})):
        get.problem(key, f"unknown field (fields: {', '.join((*_REQUIRED, *_OPTIONAL))}, "
                         f"and one of {', '.join(SELECTORS)})")  # fmt: skip
    missing = [k for k in _REQUIRED if entry.get(k) in (None, "")]
    if missing:
        get.problem("", f"missing {', '.join(missing)}")
    texts = {
        k: get.text(entry, k, "").strip() for k in ("id", "rule", "reason", "approver", "ticket")
    }
    expires = get.date(entry, "expires")
    approved = get.date(entry, "approved")
    # `tenant = true` selects the tenant; `tenant = false` selects nothing, so it is no selector.
    selectors = [k for k in SELECTORS if k in entry and entry[k] is not False]
    if len(selectors) != 1:
        get.problem("", f"give exactly one selector: {', '.join(SELECTORS)}")
    elif selectors[0] == "tenant" and entry["tenant"] is not True:
        get.problem("tenant", f"expected true, got {entry['tenant']!r}")
    elif selectors[0] != "tenant" and not get.text(entry, selectors[0], "").strip():
        get.problem(selectors[0], "expected a non-empty string")
    if expires and approved and approved > expires:
        get.problem("approved", f"{approved} is after the expiry {expires}")
    if len(get.problems) > before or expires is None:
        return None
    selector = selectors[0]
    return Waiver(
        id=texts["id"] or f"W{number:03d}",
        rule_id=texts["rule"],
        selector=selector,
        value="*" if selector == "tenant" else str(entry[selector]).strip(),
        reason=texts["reason"],
        approver=texts["approver"],
        ticket=texts["ticket"],
        expires=expires,
        origin=origin,
        approved=approved,
    )


def _policy_problems(waiver: Waiver, rules: WaiverRules) -> list[str]:
    """What the waiver breaks: an unknown rule, its life, a pattern, its approver."""
    severity = rules.severities.get(waiver.rule_id)
    if severity is None:
        return [f"unknown rule id '{waiver.rule_id}' (see `auditor rules`)"]
    policy, problems = rules.policy, []
    start = waiver.approved or rules.as_of
    days, limit = (waiver.expires - start).days, policy.max_days[severity]
    if days > limit:
        since = f"approved {start}" if waiver.approved else f"the as-of date {start}"
        problems.append(
            f"{waiver.rule_id} is {severity.value}: a waiver may run at most {limit:,} days "
            f"([waivers] max_days.{severity.value}); this one runs {days:,} days, from {since} "
            f"to {waiver.expires}"
        )
    if (
        waiver.is_pattern
        and severity is Severity.CRITICAL
        and not policy.allow_wildcards_on_critical
    ):
        problems.append(
            f"{waiver.rule_id} is critical: the name pattern '{waiver.value}' may not waive it; "
            "name the Macs (serial or device_id), or set [waivers] allow_wildcards_on_critical"
        )
    if policy.require_distinct_approver:
        if not rules.operator:
            problems.append("[waivers] require_distinct_approver needs the run's operator: "
                            "set [report] prepared_by")  # fmt: skip
        elif _person(waiver.approver) == _person(rules.operator):
            problems.append(
                f"approver '{waiver.approver}' is the run's operator; [waivers] "
                "require_distinct_approver needs someone else to approve"
            )
    return problems


def _person(name: str) -> str:
    """A name compared case- and space-insensitively ("Jane  Doe" is "jane doe")."""
    return " ".join(name.casefold().split())
