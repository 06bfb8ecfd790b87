"""One TOML configuration, layered: defaults < auditor.toml < environment (secrets) < flags.

Shape and types are checked as the tables are read (`config.tables`) and every problem is
reported at once; rule ids and rule parameter names and values are checked against the catalogue
by `rules.settings.rule_problems` (passed in as `check`).
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from auditor.config.model import (
    CLOUDS,
    DEFAULT_FORMATS,
    DEFAULT_SLA_DAYS,
    FORMATS,
    OWNER_GROUPINGS,
    SOURCES,
    WAIVER_MAX_DAYS,
    Config,
    CredentialEnv,
    GraphConfig,
    WaiverPolicy,
)
from auditor.config.tables import param_values, parse_tables, url_problems
from auditor.errors import ConfigError

__all__ = [
    "CLOUDS",
    "DEFAULT_FORMATS",
    "DEFAULT_SLA_DAYS",
    "FORMATS",
    "OWNER_GROUPINGS",
    "SOURCES",
    "WAIVER_MAX_DAYS",
    "Config",
    "CredentialEnv",
    "GraphConfig",
    "WaiverPolicy",
    "load_config",
    "param_values",
    "url_problems",
]


def load_config(path: Path | None, check: Callable[[Config], list[str]] | None = None) -> Config:
    """Read `path` (or only defaults when None); every problem is reported in one ConfigError.

    `check` adds problems only a higher layer can see (rule ids, parameter names and values
    against the catalogue), so they are reported together with the file's own.
    """
    if path is None:
        config = _with_env(Config())
        default_problems = check(config) if check else []
        if default_problems:
            raise ConfigError("configuration: " + "; ".join(default_problems))
        return config
    try:
        raw_bytes = path.read_bytes()
        data = tomllib.loads(raw_bytes.decode("utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: config file not found") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    problems: list[str] = []
    config = parse_tables(data, path.parent, problems)
    if check is not None:
        problems += check(config)
    if problems:
        raise ConfigError(f"{path}: {len(problems)} problem(s):\n  - " + "\n  - ".join(problems))
    digest = hashlib.sha256(raw_bytes).hexdigest()
    return _with_env(replace(config, config_file=path, digest=digest))


def _with_env(config: Config) -> Config:
    """Fill Graph identifiers from the standard Azure variables when the file leaves them out."""
    graph = replace(
        config.graph,
        tenant_id=config.graph.tenant_id or os.environ.get("AZURE_TENANT_ID") or None,
        client_id=config.graph.client_id or os.environ.get("AZURE_CLIENT_ID") or None,
    )
    return replace(config, graph=graph)
