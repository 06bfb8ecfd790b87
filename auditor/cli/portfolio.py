"""The `portfolio` command: roll many tenants' evidence folders up into one report."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from auditor.cli.options import DATE, check_as_of, today

PORTFOLIO_FORMATS = ("json", "xlsx", "pdf", "html")


def _formats(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    """`--format json,pdf` as the portfolio formats asked for, each once."""
    formats = tuple(dict.fromkeys(f.strip().lower() for f in value.split(",") if f.strip()))
    unknown = [f for f in formats if f not in PORTFOLIO_FORMATS]
    if unknown or not formats:
        raise click.BadParameter(f"choose from {', '.join(PORTFOLIO_FORMATS)} (comma-separated)")
    return formats


@click.command("portfolio")
@click.option(
    "--from",
    "from_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    required=True,
    help="Folder holding the tenants' evidence folders (searched recursively).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write portfolio.* (default: the --from folder).",
)
@click.option(
    "--format",
    "formats",
    default=",".join(PORTFOLIO_FORMATS),
    callback=_formats,
    show_default=True,
    help="Comma-separated, from json,xlsx,pdf,html.",
)
@click.option(
    "--as-of",
    type=DATE,
    help="Portfolio date (default: today, UTC): later audits are left out; expiries count to it.",
)
def portfolio(
    from_dir: Path, out_dir: Path | None, formats: tuple[str, ...], as_of: dt.datetime | None
) -> None:
    """Roll the tenants' findings.json (and failure.json) under --from into one portfolio.

    One row per tenant, worst first, grouped by tenant group (docs/portfolio.md). Exits 4 when
    the folder holds no tenant.
    """
    from auditor.portfolio import read_portfolio
    from auditor.portfolio.render import write_portfolio

    day = as_of.date() if as_of else today()
    check_as_of(day, "--as-of")
    out = out_dir or from_dir
    generated_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    result = read_portfolio(from_dir, out, as_of=day, generated_at=generated_at)
    for path in write_portfolio(result, out, formats):
        click.echo(str(path))
    t = result.totals
    click.echo(
        f"{t.tenants} tenant(s): {t.failed} failed, {t.partial} PARTIAL, {t.ok} ok"
        + (f", {t.sample} sample data" if t.sample else ""),
        err=True,
    )
