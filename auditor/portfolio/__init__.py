"""The portfolio roll-up: many tenants' evidence folders in, one row per tenant out.

    DIR/**/findings.json, failure.json ─ collect.collect ──> Evidence per folder
                                       ─ collect.by_tenant > folders per tenant, newest first
                                       ─ model.build_portfolio > Portfolio (rows, groups, totals)
    tenants.toml (given: `--tenants`)   ─ expected.with_tenants_file > + NOT AUDITED rows, flags
                                       ─ render.write_portfolio > portfolio.json/.xlsx/.pdf/.html

Built from the folders' findings.json (and failure.json) alone, so shards audited on different
machines and copied together roll up exactly as one machine's run would (docs/portfolio.md).
Only a tenants file says who is missing: the folders alone show what they hold.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from pathlib import Path

from auditor import __version__
from auditor.errors import SourceError
from auditor.portfolio.collect import by_tenant, collect
from auditor.portfolio.expected import ExpectedTenant, with_tenants_file
from auditor.portfolio.model import Portfolio, build_portfolio

__all__ = ["ExpectedTenant", "Portfolio", "read_portfolio"]


def read_portfolio(
    root: Path,
    out_dir: Path,
    *,
    as_of: dt.date,
    generated_at: dt.datetime,
    expected: Sequence[ExpectedTenant] | None = None,
) -> Portfolio:
    """The portfolio of the evidence folders under `root`, its links relative to `out_dir`.

    `expected`: the tenants of a tenants file, when given: each one without evidence is a
    NOT AUDITED row, and evidence of a tenant not among them is flagged.

    Raises:
        SourceError: `root` holds no tenant (no findings.json or failure.json dated on or
            before `as_of`), or a file is unreadable, malformed or of an unknown version.
    """
    tenants = by_tenant(collect(root), as_of)
    if not tenants:
        raise SourceError(
            f"{root}: no tenant to roll up (no findings.json or failure.json with an as-of "
            f"date on or before {as_of} in it or its folders)"
        )
    prefix = Path(os.path.relpath(root.resolve(), out_dir.resolve())).as_posix()
    portfolio = build_portfolio(
        tenants, as_of=as_of, generated_at=generated_at, tool_version=__version__,
        link_prefix=prefix,
    )  # fmt: skip
    return portfolio if expected is None else with_tenants_file(portfolio, expected)
