"""`auditor run`: audit one tenant's Macs, write the evidence, notify, and set the exit code.

With --tenants it audits many tenants instead (`cli.tenants`).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from auditor.cli.options import (
    DATE,
    DEFAULT_HISTORY,
    check_as_of,
    graph_options,
    history_path,
    load_config_file,
    login_name,
    parse_formats,
    sample_config,
    today,
)
from auditor.cli.tenants import tenants_options
from auditor.config import DEFAULT_FORMATS, FORMATS, Config
from auditor.errors import FAIL_ON_EXIT_CODE, AuditorError, ConfigError, NotifyError, SourceError
from auditor.models import Severity


@click.command()
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
@click.option("--as-of", type=DATE, help="Audit date (default: today, UTC).")
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
@tenants_options
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

    if config_path is None and not inputs and source in (None, "sample"):
        config_path = sample_config()
    config = load_config_file(config_path)
    if inputs and source not in (None, "files"):
        raise click.UsageError(
            "--input reads files; it cannot be combined with --source " + str(source)
        )
    config = config.with_overrides(
        source="files" if inputs else (source or ("graph" if graph_url else None)),
        inputs=tuple(inputs) or None,
        formats=parse_formats(formats) if formats else None,
        out_dir=out,
        waivers_file=waivers,
        cloud=cloud,
        graph_url=graph_url,
        allow_partial=allow_partial,
        json_indent=json_indent,
    )
    as_of_date = as_of.date() if as_of else (config.as_of or today())
    check_as_of(as_of_date, "--as-of" if as_of else "as_of in the configuration")
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
        operator=config.prepared_by or login_name(),
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
    outputs = (*result.outputs, result.manifest)
    # findings.json's parts from the model it was written from (or would be, without --format
    # json): the same numbers as the file, without parsing a file of millions of findings
    notify = functools.partial(after_run, config, config.out_dir, outputs, result.report)
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
