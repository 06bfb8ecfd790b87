"""The portfolio's renderers: one Portfolio model in, one file out per format.

Each writes through `auditor.render.report_path` (`fileops.atomic_path`): a reader sees the
old file or the new one, never half of one. Imports happen on use, so a JSON-only roll-up
never loads openpyxl or WeasyPrint.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.render import check_format_available

if TYPE_CHECKING:
    from auditor.portfolio.model import Portfolio

FORMATS = ("json", "xlsx", "pdf", "html")
OUTPUT_NAMES = {fmt: f"portfolio.{fmt}" for fmt in FORMATS}


def _json(portfolio: Portfolio, path: Path) -> None:
    from auditor.portfolio.render.json import render

    render(portfolio, path)


def _xlsx(portfolio: Portfolio, path: Path) -> None:
    from auditor.portfolio.render.xlsx import render

    render(portfolio, path)


def _pdf(portfolio: Portfolio, path: Path) -> None:
    from auditor.portfolio.render.pages import render_pdf

    render_pdf(portfolio, path)


def _html(portfolio: Portfolio, path: Path) -> None:
    from auditor.portfolio.render.pages import render_page

    render_page(portfolio, path)


RENDERERS: dict[str, Callable[[Portfolio, Path], None]] = {
    "json": _json,
    "xlsx": _xlsx,
    "pdf": _pdf,
    "html": _html,
}


def write_portfolio(portfolio: Portfolio, out_dir: Path, formats: Sequence[str]) -> list[Path]:
    """Write `formats` of the portfolio into `out_dir`; the paths written, in `formats` order.

    Every format is checked before the first is written (a missing WeasyPrint fails first).
    """
    for fmt in formats:
        check_format_available(fmt)
    written = []
    for fmt in formats:
        path = out_dir / OUTPUT_NAMES[fmt]
        RENDERERS[fmt](portfolio, path)
        written.append(path)
    return written
