"""The tables of an auditor.toml read into a `Config`, every problem collected, none raised."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from auditor.config.model import (
    CLOUDS,
    DEFAULT_FORMATS,
    DEFAULT_SLA_DAYS,
    EXPORT_TIMEOUT_RANGE_S,
    FORMATS,
    OWNER_GROUPINGS,
    SOURCES,
    WAIVER_MAX_DAYS,
    Config,
    GraphConfig,
    WaiverPolicy,
)
from auditor.models import Param, Severity
from auditor.typed_table import TableReader

_TOP = {"organisation", "classification", "as_of", "source", "inputs", "output", "rules", "vms",
        "policy", "waivers", "history", "catalogue", "graph", "notify", "report",
        "owners"}  # fmt: skip
_SECTIONS = {
    "output": {"dir", "formats", "pdf_devices_per_rule", "json_indent"},
    "rules": {"select", "exclude", "severity", "params"},
    "vms": {"approved_serials", "approved_name_patterns"},
    "policy": {"personal_macs_allowed"},
    "waivers": {"file", "max_days", "allow_wildcards_on_critical", "require_distinct_approver"},
    "report": {"prepared_by", "reviewed_by"},
    "history": {"path", "enabled"},
    "catalogue": {"path"},
    "owners": {"sla_days", "group_by", "entra_lookup"},
    "graph": {"cloud", "graph_url", "tenant_id", "client_id", "max_concurrency", "allow_partial",
              "proxy", "export_timeout_s"},
}  # fmt: skip
_SECRET_KEYS = {"client_secret", "secret", "password", "token", "access_token", "proxy_password",
                "proxy_user", "proxy_credentials"}  # fmt: skip


_PROXY_CREDENTIALS_HINT = (
    'for an authenticating proxy set graph.proxy = "http://proxy.example:3128" and the '
    "credentials in AUDITOR_GRAPH_PROXY_USER / AUDITOR_GRAPH_PROXY_PASSWORD, or set "
    "HTTPS_PROXY=http://user:password@proxy.example:3128 in the environment"
)


def url_problems(value: str, label: str, *, is_proxy: bool = False) -> list[str]:
    """What is wrong with a Graph v1.0 root (or a proxy URL): not http(s), credentials, its path."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return [f"{label}: not a valid URL"]
    if parts.username is not None or parts.password is not None:
        why = "" if is_proxy else " (httpx would send them to Graph in place of the token)"
        return [f"{label}: must not carry a user name or password{why}; {_PROXY_CREDENTIALS_HINT}"]
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [f"{label}: '{value}' is not an http:// or https:// URL"]
    path = parts.path.strip("/")
    if (path if is_proxy else not path.endswith("v1.0")) or parts.query or parts.fragment:
        shape = "scheme://host:port, without a path" if is_proxy else "the v1.0 root (…/v1.0)"
        return [f"{label}: '{value}' must be {shape}"]
    return []


def parse_tables(data: Mapping[str, Any], base: Path, problems: list[str]) -> Config:
    """The configuration the tables give (paths relative to `base`); problems appended."""
    for key in sorted(set(data) - _TOP):
        hint = " (secrets belong in environment variables)" if key in _SECRET_KEYS else ""
        problems.append(f"unknown key '{key}'{hint}")
    sections: dict[str, Mapping[str, Any]] = {}
    for name, allowed in _SECTIONS.items():
        section = data.get(name, {})
        if not isinstance(section, Mapping):
            problems.append(f"[{name}] must be a table")
            section = {}
        for key in sorted(set(section) - allowed):
            hint = " (secrets belong in environment variables)" if key in _SECRET_KEYS else ""
            problems.append(f"unknown key '{name}.{key}'{hint}")
        sections[name] = section
    get = TableReader(problems)
    output, rules, graph = sections["output"], sections["rules"], sections["graph"]
    formats = get.strings(output, "output.formats", DEFAULT_FORMATS)
    for fmt in formats:
        if fmt not in FORMATS:
            choices = ", ".join(FORMATS)
            problems.append(f"output.formats: unknown format '{fmt}' (choose from {choices})")
    # Listing inputs means auditing them: never fall back to the bundled sample silently.
    source = get.text(data, "source", "files" if "inputs" in data else "sample")
    if source not in SOURCES:
        problems.append(f"source: '{source}' is not one of {', '.join(SOURCES)}")
    cloud = get.text(graph, "graph.cloud", "global")
    if cloud not in CLOUDS:
        problems.append(f"graph.cloud: '{cloud}' is not one of {', '.join(CLOUDS)}")
    notify = data.get("notify", {})
    if not isinstance(notify, Mapping):
        problems.append("[notify] must be a table")
        notify = {}
    if "inputs" in data and source != "files":
        problems.append(f'inputs: only read with source = "files" (source is "{source}")')
    severity: dict[str, Severity] = {}
    severity_table = rules.get("severity", {})
    if not isinstance(severity_table, Mapping):
        problems.append('rules.severity must be a table: [rules.severity] "MAC-ENR-005" = "medium"')
        severity_table = {}
    for rule_id, value in severity_table.items():
        try:
            severity[rule_id] = Severity(value)
        except ValueError:
            problems.append(f"rules.severity.{rule_id}: '{value}' is not a severity")
    params = rules.get("params", {})
    if not isinstance(params, Mapping) or not all(isinstance(v, Mapping) for v in params.values()):
        problems.append("rules.params must be tables keyed by rule id")
        params = {}

    def path_or_none(section: Mapping[str, Any], key: str, label: str) -> Path | None:
        value = get.text(section, label, "")
        return (base / value) if value else None

    devices_per_rule = get.integer(output, "output.pdf_devices_per_rule", 15)
    concurrency = get.integer(graph, "graph.max_concurrency", 8)
    if devices_per_rule < 0:
        problems.append(f"output.pdf_devices_per_rule: must be 0 or more, got {devices_per_rule}")
    if not 1 <= concurrency <= 50:
        problems.append(f"graph.max_concurrency: must be between 1 and 50, got {concurrency}")
    graph_url = get.text(graph, "graph.graph_url", "") or None
    proxy = get.text(graph, "graph.proxy", "") or None
    problems += url_problems(graph_url, "graph.graph_url") if graph_url else []
    problems += url_problems(proxy, "graph.proxy", is_proxy=True) if proxy else []
    export_timeout_s = get.number(graph, "graph.export_timeout_s", 1800.0)
    low, high = EXPORT_TIMEOUT_RANGE_S
    if not low <= export_timeout_s <= high:
        problems.append(
            f"graph.export_timeout_s: must be between {low:g} and {high:g} seconds, "
            f"got {export_timeout_s:g}"
        )
    return Config(
        organisation=get.text(data, "organisation", "Your organisation"),
        classification=get.text(data, "classification", "CONFIDENTIAL"),
        as_of=get.date(data, "as_of"),
        source=source,
        inputs=tuple(base / p for p in get.strings(data, "inputs", ())),
        out_dir=path_or_none(output, "dir", "output.dir") or Path("reports"),
        formats=formats,
        pdf_devices_per_rule=devices_per_rule,
        json_indent=get.flag(output, "output.json_indent", False),
        select=get.strings(rules, "rules.select", ()),
        exclude=get.strings(rules, "rules.exclude", ()),
        severity=severity,
        params={rid: param_values(v, rid, problems) for rid, v in params.items()},
        approved_vm_serials=get.strings(sections["vms"], "vms.approved_serials", ()),
        approved_vm_name_patterns=get.strings(sections["vms"], "vms.approved_name_patterns", ()),
        personal_macs_allowed=get.flag(sections["policy"], "policy.personal_macs_allowed", True),
        waivers_file=path_or_none(sections["waivers"], "file", "waivers.file"),
        waiver_policy=_waiver_policy(sections["waivers"], get),
        prepared_by=get.text(sections["report"], "report.prepared_by", "").strip(),
        reviewed_by=get.text(sections["report"], "report.reviewed_by", "").strip(),
        history_path=path_or_none(sections["history"], "path", "history.path"),
        history_enabled=get.flag(sections["history"], "history.enabled", True),
        catalogue_path=path_or_none(sections["catalogue"], "path", "catalogue.path"),
        graph=GraphConfig(
            cloud=cloud,
            graph_url=graph_url,
            tenant_id=get.text(graph, "graph.tenant_id", "") or None,
            client_id=get.text(graph, "graph.client_id", "") or None,
            max_concurrency=concurrency,
            allow_partial=get.flag(graph, "graph.allow_partial", False),
            proxy=proxy,
            export_timeout_s=export_timeout_s,
            lookup_owners=get.flag(sections["owners"], "owners.entra_lookup", False),
        ),
        notify=notify,
        sla_days=_sla_days(sections["owners"].get("sla_days", {}), problems),
        owner_group_by=_group_by(
            get.text(sections["owners"], "owners.group_by", "category"), problems
        ),
    )


def _sla_days(table: object, problems: list[str]) -> dict[str, int]:
    """[owners.sla_days]: severity → days (0 or more); severities left out keep the default."""
    if not isinstance(table, Mapping):
        problems.append("owners.sla_days must be a table: [owners.sla_days] critical = 14")
        return dict(DEFAULT_SLA_DAYS)
    days = dict(DEFAULT_SLA_DAYS)
    for key, value in table.items():
        if key not in {s.value for s in Severity}:
            problems.append(f"owners.sla_days.{key}: '{key}' is not a severity")
        elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problems.append(f"owners.sla_days.{key}: must be a whole number of days, 0 or more")
        else:
            days[key] = value
    return days


def _group_by(value: str, problems: list[str]) -> str:
    if value not in OWNER_GROUPINGS:
        problems.append(f"owners.group_by: '{value}' is not one of {', '.join(OWNER_GROUPINGS)}")
    return value


def _waiver_policy(section: Mapping[str, Any], get: TableReader) -> WaiverPolicy:
    """`[waivers]` limits: `max_days` by severity (defaults WAIVER_MAX_DAYS) and two guards."""
    limits = dict(WAIVER_MAX_DAYS)
    table = section.get("max_days", {})
    if not isinstance(table, Mapping):
        get.problem("waivers.max_days", "must be a table: max_days = { critical = 30 }")
        table = {}
    for name, value in table.items():
        if name not in {s.value for s in Severity}:
            choices = ", ".join(s.value for s in Severity)
            get.problem(f"waivers.max_days.{name}", f"not a severity (choose from {choices})")
        elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
            get.problem(
                f"waivers.max_days.{name}", f"expected whole days (1 or more), got {value!r}"
            )
        else:
            limits[Severity(name)] = value
    return WaiverPolicy(
        max_days=limits,
        allow_wildcards_on_critical=get.flag(section, "waivers.allow_wildcards_on_critical", False),
        require_distinct_approver=get.flag(section, "waivers.require_distinct_approver", False),
    )


def param_values(values: Mapping[str, Any], rule_id: str, problems: list[str]) -> dict[str, Param]:
    """One rule's `[rules.params]` table as parameter values; anything else is a problem."""
    out: dict[str, Param] = {}
    for name, value in values.items():
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            out[name] = tuple(value)
        elif isinstance(value, bool | int | float | str):
            out[name] = value
        else:
            problems.append(f"rules.params.{rule_id}.{name}: unsupported value {value!r}")
    return out
