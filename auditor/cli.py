"""Command-line interface: thin commands over the pipeline.

The only module that reads the clock, configures logging or prints. Every deliberate
failure is an AuditorError whose exit code is documented in auditor/errors.py and README.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from auditor import __version__
from auditor.cli_evidence import (
    DEFAULT_HISTORY,
    history_command,
    history_path,
    keygen,
    load_config_file,
    verify,
)
from auditor.config import CLOUDS, DEFAULT_FORMATS, FORMATS, Config
from auditor.errors import (
    FAIL_ON_EXIT_CODE,
    AuditorError,
    ConfigError,
    NotifyError,
    SourceError,
)
from auditor.models import Severity

F = TypeVar("F", bound=Callable[..., Any])


class _Date(click.DateTime):
    """A YYYY-MM-DD date option with a readable metavar."""

    name = "date"

    def __init__(self) -> None:
        super().__init__(["%Y-%m-%d"])

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "YYYY-MM-DD"


_DATE = _Date()
AS_OF_EARLIEST = dt.date(2000, 1, 1)
AS_OF_AHEAD_DAYS = 365  # the latest as-of date: a year after today


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
                "level": record.levelname.lower(),
                "logger": record.name,
                "message": record.getMessage(),
            }
        )


def _configure_logging(verbosity: int, log_format: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    logging.basicConfig(level=level, handlers=[handler], force=True)
    # The Graph SDK and Azure identity log request details at INFO; keep them quiet.
    for noisy in ("azure", "httpx", "httpcore", "msal", "kiota_http", "fontTools", "weasyprint"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _check_as_of(as_of: dt.date, named: str) -> None:
    """An as-of date from 2000-01-01 to a year ahead; anything else is a ConfigError (exit 2)."""
    latest = _today() + dt.timedelta(days=AS_OF_AHEAD_DAYS)
    if not AS_OF_EARLIEST <= as_of <= latest:
        raise ConfigError(
            f"{named}: {as_of} is outside the dates auditor can judge "
            f"({AS_OF_EARLIEST} to {latest}, a year from today)"
        )


def _login_name() -> str:
    """The operating-system user running the audit (the operator when no prepared_by is set)."""
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return ""


def _parse_formats(value: str) -> tuple[str, ...]:
    formats = tuple(f.strip().lower() for f in value.split(",") if f.strip())
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise click.BadParameter(f"choose from {', '.join(FORMATS)} (comma-separated)")
    return formats


def _sample_config() -> Path | None:
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="auditor")
@click.option("-v", "--verbose", count=True, help="-v for progress, -vv for debug.")
@click.option(
    "--log-format",
    type=click.Choice(["plain", "json"]),
    default="plain",
    help="Logs on stderr as plain lines or JSON objects (for log collectors).",
)
def cli(verbose: int, log_format: str) -> None:
    """Audit Intune-managed Macs and write PDF, Excel and JSON evidence."""
    _configure_logging(verbose, log_format)


@cli.command()
@click.option(
    "--input",
    "inputs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Inventory file or folder of files (Graph JSON, admin-center or Devices export, "
    "PowerShell export, diagnostic log, snapshot; docs/inputs.md); repeatable.",
)
@click.option(
    "--source",
    type=click.Choice(["sample", "files", "graph"]),
    help="Where the inventory comes from.",
)
@click.option("--as-of", type=_DATE, help="Audit date (default: today, UTC).")
@click.option(
    "--format",
    "formats",
    help=f"Comma-separated, from {','.join(FORMATS)} (default: {','.join(DEFAULT_FORMATS)}).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Directory the reports are written to; {period} becomes YYYY-MM of the as-of date.",
)
@click.option(
    "--config", "config_path", type=click.Path(path_type=Path), help="auditor.toml to use."
)
@click.option("--waivers", type=click.Path(path_type=Path), help="Waivers file (TOML or YAML).")
@click.option("--history", help=f"History database (default {DEFAULT_HISTORY}).")
@click.option("--no-history", is_flag=True, help="Do not read or record audit history.")
@click.option(
    "--fail-on",
    type=click.Choice([s.value for s in Severity]),
    help="Exit 3 when failures at or above this severity exist.",
)
@click.option(
    "--only-new", is_flag=True, help="With --fail-on: count only failures new since last period."
)
@click.option(
    "--sign-key",
    type=click.Path(path_type=Path),
    help="Ed25519 private key (PEM) to sign manifest.json.",
)
@click.option(
    "--json-indent",
    is_flag=True,
    default=None,
    help="Indent findings.json by two spaces (default: compact; same document either way).",
)
@click.option("--no-notify", is_flag=True, help="Send no notification for this run.")
@click.option(
    "--notify-required",
    is_flag=True,
    help="Exit 8 when a notification channel fails (by default only logged and summarised).",
)
@click.option(
    "--require-complete",
    is_flag=True,
    help="Exit 4 when any part of the inventory was not collected (reports still say PARTIAL).",
)
@click.option(
    "--allow-empty",
    is_flag=True,
    help="Write reports even when the inventory holds no Mac (otherwise exit 4).",
)
@click.option(
    "--bundle-inputs",
    is_flag=True,
    help="Copy every input, the config, waivers and catalogue into OUT/bundle, so `verify` "
    "re-hashes them and `verify --rerun` re-derives findings.json.",
)
@click.option(
    "--record-paths",
    is_flag=True,
    help="Record inputs' paths as given in manifest.json (default: file names only).",
)
@click.option(
    "--split-by",
    type=click.Choice(["group", "category", "owner", "department", "scope_tag"]),
    help="Also write the Action plan as one action-plan-<value>.csv per hand-off group "
    "([owners] group_by), device category, owner, owner's Entra department "
    "([owners] entra_lookup) or scope tags.",
)
@graph_options
def run(
    inputs: tuple[Path, ...],
    source: str | None,
    as_of: dt.datetime | None,
    formats: str | None,
    out: Path | None,
    config_path: Path | None,
    waivers: Path | None,
    history: str | None,
    no_history: bool,
    fail_on: str | None,
    only_new: bool,
    sign_key: Path | None,
    json_indent: bool | None,
    no_notify: bool,
    notify_required: bool,
    require_complete: bool,
    allow_empty: bool,
    bundle_inputs: bool,
    record_paths: bool,
    split_by: str | None,
    cloud: str | None,
    graph_url: str | None,
    allow_partial: bool | None,
) -> None:
    """Audit the Macs and write findings.json, report.xlsx, report.pdf and manifest.json."""
    from auditor.notify import after_failure, after_run
    from auditor.pipeline import RunOptions, run_audit
    from auditor.render import OUTPUT_NAMES
    from auditor.render.json import document_bytes

    if config_path is None and not inputs and source in (None, "sample"):
        config_path = _sample_config()
    config = load_config_file(config_path)
    if inputs and source not in (None, "files"):
        raise click.UsageError(
            "--input reads files; it cannot be combined with --source " + str(source)
        )
    config = config.with_overrides(
        source="files" if inputs else (source or ("graph" if graph_url else None)),
        inputs=tuple(inputs) or None,
        formats=_parse_formats(formats) if formats else None,
        out_dir=out,
        waivers_file=waivers,
        cloud=cloud,
        graph_url=graph_url,
        allow_partial=allow_partial,
        json_indent=json_indent,
    )
    as_of_date = as_of.date() if as_of else (config.as_of or _today())
    _check_as_of(as_of_date, "--as-of" if as_of else "as_of in the configuration")
    # `--out reports/{period}` files each month's evidence in its own folder.
    config = config.with_overrides(
        out_dir=Path(str(config.out_dir).replace("{period}", f"{as_of_date:%Y-%m}"))
    )
    options = RunOptions(
        as_of=as_of_date,
        generated_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
        history_path=history_path(history, no_history, config),
        signing_key=sign_key,
        progress=sys.stderr.isatty(),
        operator=config.prepared_by or _login_name(),
        allow_empty=allow_empty,
        bundle_inputs=bundle_inputs,
        record_paths=record_paths,
        split_by=split_by,
    )
    if only_new and not fail_on:
        raise click.UsageError("--only-new qualifies --fail-on SEVERITY; give both")
    if only_new and options.history_path is None:
        raise click.UsageError("--only-new needs history to know what is new; drop --no-history")
    if notify_required and no_notify:
        raise click.UsageError("--notify-required and --no-notify contradict each other")
    if notify_required:
        _require_channels(config)
    try:
        result = run_audit(config, options)
    except AuditorError as exc:
        _summarise(functools.partial(after_failure, config, exc, as_of_date.isoformat()), no_notify)
        raise
    for path in (*result.outputs, result.manifest):
        click.echo(str(path))
    if "json" in config.formats:
        findings: Path | Any = config.out_dir / OUTPUT_NAMES["json"]
    else:  # the same document, rendered in memory: the message still says what it would say
        findings = document_bytes(result.report)
    outputs = (*result.outputs, result.manifest)
    notify = functools.partial(after_run, config, config.out_dir, outputs, findings)
    failed = _summarise(notify, no_notify)
    if failed and notify_required:
        names = ", ".join(failed)
        raise NotifyError(f"notification failed for {names} (reports are written; see above)")
    if require_complete and not result.report.run.is_complete:
        missing = "; ".join(
            f"{p.label} ({p.state.replace('_', ' ')})"
            for p in result.report.run.parts
            if p.state != "collected"
        )
        click.echo(f"error: --require-complete: the run is PARTIAL: {missing}", err=True)
        sys.exit(SourceError.exit_code)
    if fail_on:
        threshold = Severity(fail_on)
        counts = result.new_failures_by_severity if only_new else result.failures_by_severity
        hits = sum(n for sev, n in counts.items() if sev.rank <= threshold.rank)
        if hits:
            scope = "new failures" if only_new else "failures"
            click.echo(f"{hits} {scope} at or above {threshold.value}", err=True)
            sys.exit(FAIL_ON_EXIT_CODE)


def _require_channels(config: Config) -> None:
    """--notify-required: fail before the audit when a channel cannot possibly deliver."""
    from auditor.notify import preflight
    from auditor.notify.settings import notify_settings

    if not notify_settings(config).channels:
        raise ConfigError("--notify-required: no [notify.channels.NAME] in the configuration")
    problems = preflight(config)
    if problems:
        raise ConfigError("--notify-required: " + "; ".join(problems))


def _summarise(notify: Callable[[bool, str], Any], no_notify: bool) -> list[str]:
    """Notify, print the outcome summary on stderr; the names of the channels that failed.

    Whatever goes wrong here is logged and summarised, never raised: the reports are written
    and the audit's exit code stands (unless --notify-required makes a failed channel count).
    """
    note = "off (--no-notify)" if no_notify else ""
    try:
        outcome = notify(not no_notify, note)
    except Exception as exc:  # the CLI boundary: a notification bug must not cost the audit
        logging.getLogger("auditor.notify").error("notification failed unexpectedly: %r", exc)
        click.echo(f"auditor: notifications failed unexpectedly ({type(exc).__name__})", err=True)
        return ["(all channels)"]
    for line in outcome.lines:
        click.echo(line, err=True)
    return [d.channel for d in outcome.failed]


@cli.command()
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="Snapshot file (.json or .json.gz).",
)
@click.option(
    "--config", "config_path", type=click.Path(path_type=Path), help="auditor.toml to use."
)
@graph_options
def fetch(
    out: Path,
    config_path: Path | None,
    cloud: str | None,
    graph_url: str | None,
    allow_partial: bool | None,
) -> None:
    """Pull the inventory from Graph into a snapshot file.

    A later `auditor run --input SNAPSHOT` re-audits it offline.
    """
    from auditor.sources.graph import fetch_to_file

    config = load_config_file(config_path).with_overrides(
        cloud=cloud, graph_url=graph_url, allow_partial=allow_partial
    )
    summary = fetch_to_file(config.graph, out, progress=sys.stderr.isatty())
    click.echo(summary)


@cli.command()
@click.option("--devices", type=click.IntRange(min=1), default=300, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--as-of", type=_DATE, default="2026-09-01", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), required=True)
def sample(devices: int, seed: int, as_of: dt.datetime, out: Path) -> None:
    """Write a deterministic synthetic tenant in the raw formats auditor reads."""
    from auditor.sample import generate_tenant, write_tenant

    for path in write_tenant(generate_tenant(devices, seed, as_of.date()), out):
        click.echo(str(path))


@cli.command("rules")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table")
def rules_command(fmt: str) -> None:
    """Print the rule catalogue: logic, parameters, sources and control mappings."""
    from auditor.render.catalogue import catalogue_json, catalogue_markdown, catalogue_table
    from auditor.rules import ALL_RULES

    if fmt == "json":
        click.echo(json.dumps(catalogue_json(ALL_RULES), indent=2, ensure_ascii=False))
    elif fmt == "markdown":
        click.echo(catalogue_markdown(ALL_RULES), nl=False)
    else:
        click.echo(catalogue_table(ALL_RULES))


@cli.group()
def refdata() -> None:
    """The macOS release catalogue the OS rules compare against."""


@refdata.command("import")
@click.argument("feed", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--to", type=click.Path(path_type=Path), help="Where to write the catalogue.")
def refdata_import(feed: Path, to: Path | None) -> None:
    """Refresh the catalogue from a SOFA macOS feed you downloaded (v1 or v2)."""
    from auditor.refdata.sofa import import_command

    click.echo(import_command(feed, to))


@refdata.command("show")
@click.option("--as-of", type=_DATE, help="Date to judge staleness at.")
@click.option(
    "--config", "config_path", type=click.Path(path_type=Path), help="auditor.toml to use."
)
def refdata_show(as_of: dt.datetime | None, config_path: Path | None) -> None:
    """Show which catalogue a run would use and how old it is."""
    from auditor.pipeline import resolve_catalogue
    from auditor.refdata.catalogue import STALE_AFTER_DAYS

    catalogue = resolve_catalogue(load_config_file(config_path))
    day = as_of.date() if as_of else _today()
    click.echo(f"catalogue as of {catalogue.as_of} ({catalogue.age_days(day)} days old at {day})")
    click.echo(f"source: {catalogue.source}")
    click.echo(f"supported majors at {day}: {', '.join(catalogue.supported_majors(day))}")
    if catalogue.is_stale(day):
        warning = f"WARNING: older than {STALE_AFTER_DAYS} days; run `auditor refdata import FEED`"
        click.echo(warning, err=True)


@cli.command("notify")
@click.argument(
    "directory", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option("--test", "is_test", is_flag=True, help="Send a test message to each channel.")
@click.option("--channel", "channels", multiple=True, help="Only this channel; repeatable.")
@click.option(
    "--config", "config_path", type=click.Path(path_type=Path), help="auditor.toml to use."
)
def notify_command(
    directory: Path | None, is_test: bool, channels: tuple[str, ...], config_path: Path | None
) -> None:
    """Send notifications: --test to each channel, or DIR's message (a finished evidence folder).

    Exits 0 when every channel answered, 8 naming each channel that did not.
    """
    from auditor.notify import from_folder, test_channels

    if is_test == (directory is not None):
        raise click.UsageError("give either --test or an evidence DIRECTORY")
    config = load_config_file(config_path)
    if is_test:
        sent_at = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
        outcome = test_channels(config, sent_at, channels)
    else:
        outcome = from_folder(config, directory or Path("."), channels)
    for line in outcome.lines:
        click.echo(line)
    if outcome.failed:
        names = ", ".join(d.channel for d in outcome.failed)
        raise NotifyError(f"{len(outcome.failed)} channel(s) failed: {names}")


cli.add_command(verify)
cli.add_command(history_command)
cli.add_command(keygen)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: run the CLI on `argv` (default: the process's arguments).

    An AuditorError becomes its message on stderr and its exit code.
    """
    try:
        cli.main(args=argv, prog_name="auditor", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except AuditorError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
