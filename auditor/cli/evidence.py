"""The commands over recorded evidence: `verify`, `history` and `keygen`.

Thin like every command: the work is in `auditor.evidence`, `auditor.pipeline.rerun` and
`auditor.history`; the text comes from `auditor.console`.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from auditor.cli.options import DEFAULT_HISTORY, history_path, load_config_file


@click.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Ed25519 public key (PEM) the manifest signature must verify with.",
)
@click.option(
    "--allow-unsigned",
    is_flag=True,
    help="Check the hashes of a signed folder without its public key (the signature is not "
    "checked).",
)
@click.option(
    "--rerun",
    is_flag=True,
    help="Also re-derive findings.json from the bundled inputs (run --bundle-inputs) and "
    "report any difference.",
)
def verify(directory: Path, key: Path | None, allow_unsigned: bool, rerun: bool) -> None:
    """Check every file in an evidence directory against its manifest (and signature)."""
    from auditor.evidence import verify as verify_dir

    result = verify_dir(directory, key=key, allow_unsigned=allow_unsigned)
    click.echo(result.summary())
    if rerun:
        from auditor.pipeline.rerun import rerun_findings

        click.echo(rerun_findings(directory).summary())


@click.command("history")
@click.argument("action", type=click.Choice(["list", "show", "diff", "prune"]), default="list")
@click.argument("periods", nargs=-1)
@click.option("--keep", type=click.IntRange(min=1), help="prune: how many newest periods to keep.")
@click.option(
    "--tenant",
    help="The tenant id (or a unique start of it) whose runs to use; needed when the history "
    "holds several tenants.",
)
@click.option("--history", help=f"History database (default {DEFAULT_HISTORY}).")
@click.option(
    "--config", "config_path", type=click.Path(path_type=Path), help="auditor.toml to use."
)
def history_command(
    action: str,
    periods: tuple[str, ...],
    keep: int | None,
    tenant: str | None,
    history: str | None,
    config_path: Path | None,
) -> None:
    """Recorded audits: list | show PERIOD | diff A B | prune --keep N (per tenant)."""
    from auditor.console import format_changes, format_runs
    from auditor.history import open_history

    config = load_config_file(config_path)
    path = history_path(history, False, config) or Path(DEFAULT_HISTORY).expanduser()
    expected = {"list": 0, "show": 1, "diff": 2, "prune": 0}[action]
    if len(periods) != expected:
        raise click.UsageError(f"history {action} takes {expected} period(s) (YYYY-MM)")
    if action == "prune" and keep is None:
        raise click.UsageError("history prune needs --keep N")
    with open_history(path, create=False) as store:
        if action == "list":
            click.echo(format_runs(store.list_runs(tenant)))
        elif action == "show":
            click.echo(json.dumps(store.show(periods[0], tenant), indent=2, default=str))
        elif action == "diff":
            click.echo(format_changes(store.diff(periods[0], periods[1], tenant)))
        else:
            click.echo(f"removed {store.prune(keep or 0, tenant)} period(s) from {path}")


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", default="auditor-signing", show_default=True, help="Key file stem.")
def keygen(directory: Path, name: str) -> None:
    """Create an Ed25519 key pair for signing manifests (keep the private key secret)."""
    from auditor.evidence import generate_keypair

    for path in generate_keypair(directory, name=name):
        click.echo(str(path))
