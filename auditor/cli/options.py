"""What the commands share: the date type, as-of bounds, formats, the Graph flags, config.

The commands are thin (`auditor.cli`): heavy modules are imported inside them, so
`auditor --help` and `--version` load no pandas, SDK or report library.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from auditor.config import CLOUDS, FORMATS, Config, load_config
from auditor.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_HISTORY = "~/.local/share/auditor/history.sqlite"


class _Date(click.DateTime):
    """A YYYY-MM-DD date option with a readable metavar."""

    name = "date"

    def __init__(self) -> None:
        super().__init__(["%Y-%m-%d"])

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "YYYY-MM-DD"


DATE = _Date()
AS_OF_EARLIEST = dt.date(2000, 1, 1)
AS_OF_AHEAD_DAYS = 365  # the latest as-of date: a year after today


def today() -> dt.date:
    """Today in UTC (the default as-of date)."""
    return dt.datetime.now(dt.UTC).date()


def check_as_of(as_of: dt.date, named: str) -> None:
    """An as-of date from 2000-01-01 to a year ahead; anything else is a ConfigError (exit 2)."""
    latest = today() + dt.timedelta(days=AS_OF_AHEAD_DAYS)
    if not AS_OF_EARLIEST <= as_of <= latest:
        raise ConfigError(
            f"{named}: {as_of} is outside the dates auditor can judge "
            f"({AS_OF_EARLIEST} to {latest}, a year from today)"
        )


def login_name() -> str:
    """The operating-system user running the audit (the operator when no prepared_by is set)."""
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return ""


def parse_formats(value: str, allowed: Sequence[str] = FORMATS) -> tuple[str, ...]:
    """`--format json,pdf` as format names, each one of `allowed` (what auditor run writes)."""
    formats = tuple(f.strip().lower() for f in value.split(",") if f.strip())
    unknown = [f for f in formats if f not in allowed]
    if unknown or not formats:
        raise click.BadParameter(f"choose from {', '.join(allowed)} (comma-separated)")
    return formats


def sample_config() -> Path | None:
    """The bundled sample's auditor.toml, used when auditing the sample without a config."""
    if Path("auditor.toml").is_file():
        return None
    from auditor.pipeline import bundled_sample_files

    config = bundled_sample_files()[0].parent / "auditor.toml"
    return config if config.is_file() else None


def graph_options(fn: F) -> F:
    """Flags shared by `run` and `fetch` for reaching Microsoft Graph."""
    for option in reversed(
        [
            click.option(
                "--cloud", type=click.Choice(CLOUDS), help="National cloud of the tenant."
            ),
            click.option("--graph-url", help="Graph v1.0 root (proxies, test servers)."),
            click.option(
                "--allow-partial",
                is_flag=True,
                default=None,
                help="Write PARTIAL reports even when the device list was not collected whole "
                "(a Graph pull failed, or saved pages lack the last).",
            ),
        ]
    ):
        fn = option(fn)
    return fn


def load_config_file(config_path: Path | None) -> Config:
    """The configuration, with its shape, rule and [notify] settings checked in one pass."""
    from auditor.notify import notify_problems
    from auditor.rules.settings import rule_problems

    if config_path is None and Path("auditor.toml").is_file():
        config_path = Path("auditor.toml")
    return load_config(config_path, check=lambda c: rule_problems(c) + notify_problems(c))


def history_path(history: str | None, no_history: bool, config: Config) -> Path | None:
    """The history database a command uses: the flag, else the config, else the default."""
    if no_history or not config.history_enabled:
        return None
    if history:
        return Path(history).expanduser()
    if config.history_path is not None:
        return config.history_path
    from auditor.history import default_history_path

    return default_history_path()
