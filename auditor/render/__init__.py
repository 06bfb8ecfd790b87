"""The renderers: one report model in, one file out per format.

json, xlsx and pdf are the default reports; html is the interactive report; csv, ndjson,
ocsf, junit and parquet are the machine formats (docs/formats.md).

`RENDERERS[fmt](report, path)` writes the file through `report_path` (`fileops.atomic_path`),
so a failed render never leaves a half-written report.
`check_format_available(fmt)` fails fast, before any work, when a format cannot be produced.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.errors import RenderError
from auditor.fileops import atomic_path

if TYPE_CHECKING:
    from auditor.report import Report

Renderer = Callable[["Report", Path], None]

OUTPUT_NAMES = {
    "json": "findings.json",
    "xlsx": "report.xlsx",
    "pdf": "report.pdf",
    "html": "report.html",
    "csv": "findings.csv",
    "ndjson": "findings.ndjson",
    "ocsf": "findings.ocsf.json",
    "junit": "junit.xml",
    "parquet": "devices.parquet",
}
# Debian packages WeasyPrint needs (the Makefile installs these); fonts-droid-fallback covers
# CJK device and user names (7 MB; Noto CJK is 90 MB).
WEASYPRINT_DEBS = (
    "libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core fonts-droid-fallback"
)


def _render_json(report: Report, path: Path) -> None:
    from auditor.render.json import render

    render(report, path)


def _render_xlsx(report: Report, path: Path) -> None:
    from auditor.render.xlsx import render

    render(report, path)


def _render_pdf(report: Report, path: Path) -> None:
    from auditor.render.pdf import render

    render(report, path)


def _render_html(report: Report, path: Path) -> None:
    from auditor.render.html import render

    render(report, path)


def _render_csv(report: Report, path: Path) -> None:
    from auditor.render.flat import render_csv

    render_csv(report, path)


def _render_ndjson(report: Report, path: Path) -> None:
    from auditor.render.flat import render_ndjson

    render_ndjson(report, path)


def _render_ocsf(report: Report, path: Path) -> None:
    from auditor.render.ocsf import render

    render(report, path)


def _render_junit(report: Report, path: Path) -> None:
    from auditor.render.junit import render

    render(report, path)


def _render_parquet(report: Report, path: Path) -> None:
    from auditor.render.parquet import render

    render(report, path)


# Imports happen on use: a JSON-only run never loads openpyxl or WeasyPrint.
RENDERERS: dict[str, Renderer] = {
    "json": _render_json,
    "xlsx": _render_xlsx,
    "pdf": _render_pdf,
    "html": _render_html,
    "csv": _render_csv,
    "ndjson": _render_ndjson,
    "ocsf": _render_ocsf,
    "junit": _render_junit,
    "parquet": _render_parquet,
}


def check_format_available(fmt: str) -> None:
    """Raise RenderError now if `fmt` cannot be produced on this machine.

    For PDF this loads WeasyPrint, whose system libraries (Pango, HarfBuzz, fontconfig) are
    the usual thing missing on a fresh machine.
    """
    if fmt not in RENDERERS:
        known = ", ".join(sorted(RENDERERS))
        raise RenderError(f"unknown report format '{fmt}' (known: {known})")
    if fmt == "pdf":
        try:
            import weasyprint  # noqa: F401
        except (OSError, ImportError) as exc:
            raise RenderError(
                f"PDF output needs WeasyPrint and its system libraries ({exc}); on Debian/Ubuntu "
                f"run: sudo apt-get install -y {WEASYPRINT_DEBS}, or choose other formats "
                "(--format json,xlsx)"
            ) from exc
    elif fmt == "xlsx":
        try:
            import openpyxl  # noqa: F401
        except ImportError as exc:
            raise RenderError(f"Excel output needs openpyxl ({exc})") from exc
    elif fmt == "ocsf":
        try:
            import py_ocsf_models  # noqa: F401
        except ImportError as exc:
            raise RenderError(
                f"OCSF output needs py-ocsf-models ({exc}); reinstall auditor with its "
                "dependencies, or choose other formats"
            ) from exc
    elif fmt == "parquet":
        try:
            import pyarrow.parquet  # noqa: F401
        except ImportError as exc:
            raise RenderError(f"Parquet output needs pyarrow with Parquet ({exc})") from exc


@contextmanager
def report_path(path: Path) -> Iterator[Path]:
    """`fileops.atomic_path` for a report: an I/O failure is a RenderError naming the file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as temporary:
            yield temporary
    except OSError as exc:
        raise RenderError(f"{path}: cannot write report: {exc}") from exc
