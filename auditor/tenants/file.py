"""tenants.toml: the tenants of a multi-tenant run, each a Config laid over the base auditor.toml.

Validated like auditor.toml: every problem at once in one ConfigError (exit 2) naming the file,
the tenant (`tenant[3] (contoso)`, counted from 1) and the key. Secrets never appear in the
file: a tenant names the environment variables that hold them (docs/tenants.md).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from auditor.config import CLOUDS, Config, CredentialEnv, param_values, url_problems
from auditor.errors import ConfigError
from auditor.typed_table import TableReader

log = logging.getLogger(__name__)

NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TOP = {"defaults", "run", "tenant"}
_RUN = {"concurrency", "workers"}
# What a tenant may set beyond its identity; [defaults] may set the same, and `config`.
_SETTINGS = {"cloud", "client_id", "graph_url", "client_secret_env", "certificate_path",
             "certificate_password_env", "token_env", "organisation", "classification",
             "waivers", "personal_macs_allowed", "rules"}  # fmt: skip
_IDENTITY = {"name", "tenant_id", "display_name", "groups"}
_SECRET_KEYS = {"client_secret", "secret", "password", "token", "access_token",
                "certificate_password"}  # fmt: skip
DEFAULT_CONCURRENCY = 4


@dataclass(frozen=True, slots=True)
class Tenant:
    """One tenant of the file: who it is, and the configuration its audit runs with."""

    name: str  # the {tenant} of --out
    tenant_id: str
    display_name: str
    groups: tuple[str, ...]
    config: Config


@dataclass(frozen=True, slots=True)
class TenantsFile:
    """A read tenants.toml: its tenants in file order and the [run] settings."""

    path: Path
    tenants: tuple[Tenant, ...]
    concurrency: int = DEFAULT_CONCURRENCY  # Graph pulls in flight across tenants
    workers: int = 0  # audit processes; 0 = the machine's cores
    base: Config = field(default_factory=Config)  # the base auditor.toml: the MSP's own


def _warn_unread_base(path: Path, base: Config) -> None:
    """Say so when an auditor.toml beside the tenants file is not the base the tenants run on.

    Nothing named a base (no --config, no `[defaults] config`) and `load_base` read another
    file or none (`base.config_file`): in a Kubernetes pod (working folder /data, the
    ConfigMap at /config) every tenant would otherwise run on other settings than the file
    beside tenants.toml says, without a word.
    """
    beside = path.parent / "auditor.toml"
    read = base.config_file
    if not beside.is_file() or (read is not None and read.resolve() == beside.resolve()):
        return
    log.warning(
        "%s is not read: %s names no base configuration, so every tenant runs on %s; to use "
        'it, add [defaults] config = "auditor.toml" to %s (or pass --config)',
        beside, path.name, read.resolve() if read else "the built-in defaults", path.name,
    )  # fmt: skip


def env_prefix(name: str) -> str:
    """`AUDITOR_<NAME>_`: the tenant's variables (name upper-cased, '-' → '_')."""
    return f"AUDITOR_{name.upper().replace('-', '_')}_"


def read_tenants(
    path: Path,
    load_base: Callable[[Path | None], Config],
    config_path: Path | None = None,
    check: Callable[[Config], list[str]] | None = None,
    *,
    check_files: bool = True,
) -> TenantsFile:
    """Read and check `path`; each tenant's Config is the base configuration with its overrides.

    Args:
        path: The tenants file.
        load_base: Reads an auditor.toml (None: the default one), checking it as `run` does.
        config_path: The run's --config; else `[defaults] config`, relative to the file.
        check: Problems only a higher layer sees (rule parameters against the catalogue),
            asked of every tenant's Config and reported beside the file's own.
        check_files: False: the files the tenants file names (`defaults.config`, waivers,
            certificates) need not exist here, for a reader that wants only who the tenants
            are (`auditor portfolio --tenants`), not what to audit them with.

    Raises:
        ConfigError: Every problem of the file at once (the base configuration's own first).
    """
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: tenants file not found") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    problems: list[str] = []
    get = TableReader(problems)
    _unknown(data, _TOP, "", problems)
    defaults = _table(data, "defaults", problems)
    run = _table(data, "run", problems)
    _unknown(defaults, _SETTINGS | {"config"}, "defaults.", problems)
    _unknown(run, _RUN, "run.", problems)
    named = get.text(defaults, "defaults.config", "")
    base_path = config_path or ((path.parent / named) if named else None)
    if check_files and config_path is None and base_path is not None and not base_path.is_file():
        problems.append(f"defaults.config: {base_path} does not exist")
        base_path = None
    base = load_base(base_path)
    if check_files and config_path is None and not named:
        _warn_unread_base(path, base)
    base_problems = set(check(base)) if check else set()
    concurrency = get.integer(run, "run.concurrency", DEFAULT_CONCURRENCY)
    workers = get.integer(run, "run.workers", 0)
    if not 1 <= concurrency <= 64:
        problems.append(f"run.concurrency: must be between 1 and 64, got {concurrency}")
    if workers < 0:
        problems.append(f"run.workers: must be 0 (the machine's cores) or more, got {workers}")
    entries = data.get("tenant", [])
    if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
        problems.append("tenant: must be [[tenant]] tables")
        entries = []
    if not entries:
        problems.append("no [[tenant]]: list at least one tenant")
    tenants: list[Tenant] = []
    seen: dict[str, str] = {}  # name, tenant id (lower) and variable prefix → who used it
    for number, entry in enumerate(entries, start=1):
        where = f"tenant[{number}] ({entry.get('name', '?')})"
        found: list[str] = []
        tenant = _tenant(entry, defaults, base, path.parent, found, check_files=check_files)
        is_same_name = f"name {tenant.name}" in seen  # said once, not again as its variables
        for key, message in (
            (f"name {tenant.name}", "name: the same name as"),
            (f"id {tenant.tenant_id.lower()}", "tenant_id: the same directory id as"),
            (f"env {env_prefix(tenant.name)}", "name: the same variables (AUDITOR_<NAME>_…) as"),
        ):
            repeated = key in seen and not (key.startswith("env") and is_same_name)
            if repeated and tenant.name and tenant.tenant_id:
                found.append(f"{message} {seen[key]}")
            seen.setdefault(key, where)
        if check is not None and not found:
            found += [p for p in check(tenant.config) if p not in base_problems]
        problems += [f"{where}: {p}" for p in found]
        tenants.append(replace(tenant, config=_digested(tenant.config, entry, defaults)))
    if problems:
        raise ConfigError(f"{path}: {len(problems)} problem(s):\n  - " + "\n  - ".join(problems))
    return TenantsFile(path, tuple(tenants), concurrency, workers, base)


def _tenant(
    entry: Mapping[str, Any], defaults: Mapping[str, Any], base: Config, folder: Path,
    problems: list[str], *, check_files: bool = True,
) -> Tenant:  # fmt: skip
    """One [[tenant]] over [defaults] over the base Config; problems name the key."""
    _unknown(entry, _SETTINGS | _IDENTITY, "", problems)
    get = TableReader(problems)
    name = get.text(entry, "name", "")
    if not name:
        problems.append("name: required")
    elif not NAME.fullmatch(name):
        problems.append(f"name: '{name}' must be lower-case letters, digits, '-' or '_'")
    tenant_id = get.text(entry, "tenant_id", "")
    if not tenant_id:
        problems.append("tenant_id: required (the Entra directory id)")
    elif not _GUID.fullmatch(tenant_id):
        problems.append(f"tenant_id: '{tenant_id}' is not a directory id (a GUID)")
    display_name = get.text(entry, "display_name", "") or name
    groups = get.strings(entry, "groups", ())
    if any(not g.strip() for g in groups):
        problems.append("groups: a group name is empty")
    merged = {**defaults, **entry}  # the tenant's own keys win over [defaults]
    cloud = get.text(merged, "cloud", base.graph.cloud)
    if cloud not in CLOUDS:
        problems.append(f"cloud: '{cloud}' is not one of {', '.join(CLOUDS)}")
    graph_url = get.text(merged, "graph_url", "") or base.graph.graph_url
    if "graph_url" in merged and graph_url:
        problems += url_problems(graph_url, "graph_url")
    waivers = get.text(merged, "waivers", "")
    if check_files and waivers and not (folder / waivers).is_file():
        problems.append(f"waivers: {folder / waivers} does not exist")
    organisation = get.text(merged, "organisation", "") or display_name or base.organisation
    return Tenant(
        name=name,
        tenant_id=tenant_id,
        display_name=display_name,
        groups=groups,
        config=base.with_overrides(
            organisation=organisation,
            classification=get.text(merged, "classification", "") or None,
            waivers_file=(folder / waivers) if waivers else None,
            personal_macs_allowed=get.flag(merged, "personal_macs_allowed", True)
            if "personal_macs_allowed" in merged
            else None,
            params=_params(base, merged, problems),
            cloud=cloud,
            client_id=get.text(merged, "client_id", "") or None,
            graph_url=graph_url,
            tenant_id=tenant_id or None,
            credentials=_credentials(name, merged, folder, get, check_files=check_files),
        ),
    )


def _credentials(
    name: str, merged: Mapping[str, Any], folder: Path, get: TableReader, *, check_files: bool
) -> CredentialEnv:
    """The tenant's own variable names (AUDITOR_<NAME>_…, or the *_env keys); no fallback."""
    prefix = env_prefix(name)
    names = {}
    for key, default in (
        ("token_env", f"{prefix}GRAPH_TOKEN"),
        ("client_secret_env", f"{prefix}CLIENT_SECRET"),
        ("certificate_password_env", f"{prefix}CLIENT_CERTIFICATE_PASSWORD"),
    ):
        value = get.text(merged, key, default)
        if not _ENV_NAME.fullmatch(value):
            get.problem(key, f"'{value}' is not an environment variable name")
        names[key] = value
    certificate = get.text(merged, "certificate_path", "")
    if check_files and certificate and not (folder / certificate).is_file():
        get.problem("certificate_path", f"{folder / certificate} does not exist")
    return CredentialEnv(
        token=names["token_env"],
        client_secret=names["client_secret_env"],
        certificate_path=f"{prefix}CLIENT_CERTIFICATE_PATH",
        certificate_password=names["certificate_password_env"],
        tenant_id=None,
        client_id=None,
        certificate_file=(folder / certificate) if certificate else None,
        use_default=False,  # another identity's token would audit the wrong tenant
    )


def _params(base: Config, merged: Mapping[str, Any], problems: list[str]) -> Any:
    """[tenant.rules.params] over the base's, rule by rule and parameter by parameter."""
    rules = merged.get("rules", {})
    if not isinstance(rules, Mapping):
        problems.append("rules: must be a table ([tenant.rules.params])")
        return None
    _unknown(rules, {"params"}, "rules.", problems)
    table = rules.get("params", {})
    if not isinstance(table, Mapping) or not all(isinstance(v, Mapping) for v in table.values()):
        problems.append("rules.params must be tables keyed by rule id")
        return None
    params = {rule_id: dict(values) for rule_id, values in base.params.items()}
    for rule_id, values in table.items():
        params[rule_id] = {**params.get(rule_id, {}), **param_values(values, rule_id, problems)}
    return params


def _digested(config: Config, entry: Mapping[str, Any], defaults: Mapping[str, Any]) -> Config:
    """The tenant's config digest: the base file's with the tenant's and [defaults]' tables."""
    settings = json.dumps([defaults, entry], sort_keys=True, default=str).encode()
    digest = hashlib.sha256(config.digest.encode() + b"\0" + settings).hexdigest()
    return replace(config, digest=digest)


def _table(data: Mapping[str, Any], key: str, problems: list[str]) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        problems.append(f"[{key}] must be a table")
        return {}
    return value


def _unknown(table: Mapping[str, Any], allowed: set[str], where: str, problems: list[str]) -> None:
    for key in sorted(set(table) - allowed):
        hint = " (secrets belong in environment variables: name them in *_env keys)"
        problems.append(f"unknown key '{where}{key}'{hint if key in _SECRET_KEYS else ''}")
