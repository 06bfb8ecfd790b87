"""The smaller commands: `fetch`, `sample`, `rules`, `refdata` and `notify`."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from auditor.cli.options import DATE, graph_options, load_config_file, today
from auditor.errors import NotifyError


@click.command()
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


@click.command()
@click.option("--devices", type=click.IntRange(min=1), default=300, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--as-of", type=DATE, default="2026-09-01", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), required=True)
def sample(devices: int, seed: int, as_of: dt.datetime, out: Path) -> None:
    """Write a deterministic synthetic tenant in the raw formats auditor reads."""
    from auditor.sample import generate_tenant, write_tenant

    for path in write_tenant(generate_tenant(devices, seed, as_of.date()), out):
        click.echo(str(path))


@click.command("rules")
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


@click.group()
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
@click.option("--as-of", type=DATE, help="Date to judge staleness at.")
@click.option(
    "--config", "config_path", type=click.Path(path_type=Path), help="auditor.toml to use."
)
def refdata_show(as_of: dt.datetime | None, config_path: Path | None) -> None:
    """Show which catalogue a run would use and how old it is."""
    from auditor.pipeline import resolve_catalogue
    from auditor.refdata.catalogue import STALE_AFTER_DAYS

    catalogue = resolve_catalogue(load_config_file(config_path))
    day = as_of.date() if as_of else today()
    click.echo(f"catalogue as of {catalogue.as_of} ({catalogue.age_days(day)} days old at {day})")
    click.echo(f"source: {catalogue.source}")
    click.echo(f"supported majors at {day}: {', '.join(catalogue.supported_majors(day))}")
    if catalogue.is_stale(day):
        warning = f"WARNING: older than {STALE_AFTER_DAYS} days; run `auditor refdata import FEED`"
        click.echo(warning, err=True)


@click.command("notify")
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
