"""The `portfolio` command: roll many tenants' evidence folders up into one report."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import click

from auditor.cli.options import DATE, check_as_of, parse_formats, today

if TYPE_CHECKING:
    from auditor.portfolio import ExpectedTenant

PORTFOLIO_FORMATS = ("json", "xlsx", "pdf", "html")


def _formats(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    """`--format json,pdf` as the portfolio formats asked for, each once."""
    return tuple(dict.fromkeys(parse_formats(value, PORTFOLIO_FORMATS)))


def _expected(path: Path) -> list[ExpectedTenant]:
    """The tenants of a tenants file: who they are, not how to audit them.

    Read by the tenants file's own reader, without the base auditor.toml and without checking
    that the files it names (waivers, certificates) exist here: a roll-up needs neither.
    """
    from auditor.config import Config
    from auditor.portfolio import ExpectedTenant
    from auditor.tenants.file import read_tenants

    tenants = read_tenants(path, lambda _base: Config(), check_files=False).tenants
    return [ExpectedTenant(t.name, t.tenant_id, t.display_name, t.groups) for t in tenants]


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
@click.option(
    "--tenants",
    "tenants_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The tenants.toml the tenants were audited from: a tenant it lists without a folder "
    "is NOT AUDITED, one it does not list is flagged.",
)
def portfolio(
    from_dir: Path,
    out_dir: Path | None,
    formats: tuple[str, ...],
    as_of: dt.datetime | None,
    tenants_file: Path | None,
) -> None:
    """Roll the tenants' findings.json (and failure.json) under --from into one portfolio.

    One row per tenant, worst first, grouped by tenant group (docs/portfolio.md). Without
    --tenants it shows only the tenants it finds. Exits 2 for a bad tenants file, 4 when the
    folder holds no tenant.
    """
    from auditor.portfolio import read_portfolio
    from auditor.portfolio.render import write_portfolio

    day = as_of.date() if as_of else today()
    check_as_of(day, "--as-of")
    expected = _expected(tenants_file) if tenants_file is not None else None
    out = out_dir or from_dir
    generated_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    result = read_portfolio(from_dir, out, as_of=day, generated_at=generated_at, expected=expected)
    for path in write_portfolio(result, out, formats):
        click.echo(str(path))
    t = result.totals
    click.echo(
        f"{t.tenants} tenant(s): "
        + (f"{t.not_audited} NOT AUDITED, " if t.not_audited else "")
        + f"{t.failed} failed, {t.partial} PARTIAL, {t.ok} ok"
        + (f", {t.sample} sample data" if t.sample else "")
        + (f"; {t.not_in_tenants_file} not in {tenants_file}" if t.not_in_tenants_file else ""),
        err=True,
    )
