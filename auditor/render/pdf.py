"""The PDF report: the model rendered through jinja2 templates (report_templates/) by WeasyPrint.

`render_html` gives the HTML that goes into WeasyPrint (golden tests compare it); `render`
writes the PDF. Templates hold no arithmetic: the formatting filters are registered here.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import shutil
import tempfile
from collections.abc import Callable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from auditor.clock import collector_paused
from auditor.errors import RenderError
from auditor.normalize.text import without_controls
from auditor.render import charts, report_path
from auditor.report import Report
from auditor.rules.display import OWN_MAPPING_MARK

DASH = "—"
ATTACHMENT_NAME = "findings.json"


def template_dir() -> Path:
    """report_templates/: inside the installed package (wheel), else at the repository top."""
    packaged = Path(__file__).resolve().parents[1] / "_report_templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "report_templates"


def _day(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return DASH
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC) if value.tzinfo else value
        return f"{value:%Y-%m-%d}"
    return f"{value:%Y-%m-%d}"


def _stamp(value: dt.datetime | None) -> str:
    """A timestamp to the minute in UTC: 2026-11-26 14:02 UTC."""
    if value is None:
        return DASH
    value = value.astimezone(dt.UTC) if value.tzinfo else value
    return f"{value:%Y-%m-%d %H:%M} UTC"


def _num(value: int | None) -> str:
    return DASH if value is None else f"{value:,}"


def _pct(value: float | None) -> str:
    return DASH if value is None else f"{value:.1f} %"


def _yesno(value: bool | None) -> str:
    return "not reported" if value is None else ("yes" if value else "no")


def _dash(value: object) -> object:
    return DASH if value is None or value == "" else value


def _days(value: int | None) -> str:
    if value is None:
        return DASH
    return f"{value:,} day" if abs(value) == 1 else f"{value:,} days"


def _signed(value: int) -> str:
    return f"{value:+,}"


def _points(value: float) -> str:
    """A change of the headline in percentage points: '+1.5 points', '−91.2 points'."""
    return f"{value:+.1f} points".replace("-", "\u2212")


_CAUSE_GROUP_WORDS = {
    "mac": "the Mac changed:",
    "bar": "the bar moved:",
    "new": "new Macs:",
    "undetermined": "cause undetermined:",
}
_RESOLUTION_WORDS = {"unknown": "now unknown", "relaxed": "relaxed (bar lowered)"}


def _cause_group(value: str) -> str:
    return _CAUSE_GROUP_WORDS.get(value, value)


def _resolution(value: str) -> str:
    return _RESOLUTION_WORDS.get(value, value)


def _words(value: str) -> str:
    """A model keyword as words: `not_collected` → 'not collected'."""
    return str(value).replace("_", " ")


def _days_left(value: int) -> str:
    """Days from the as-of date to an expiry: 'in 12 days', 'today', '3 days ago'."""
    if value == 0:
        return "expires on the as-of date"
    return f"in {_days(value)}" if value > 0 else f"{_days(-value)} ago"


def _svg_uri(svg: str) -> str:
    """An SVG as a data: URI for <img>: the markup never meets the HTML parser."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


@cache
def environment(directory: Path | None = None) -> jinja2.Environment:
    """The jinja2 environment: autoescape on, undefined names fail, filters registered."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(directory or template_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        day=_day,
        stamp=_stamp,
        num=_num,
        pct=_pct,
        yesno=_yesno,
        dash=_dash,
        days=_days,
        signed=_signed,
        points=_points,
        cause_group=_cause_group,
        resolution=_resolution,
        svg_uri=_svg_uri,
        words=_words,
        days_left=_days_left,
    )
    env.globals["own_mapping_mark"] = OWN_MAPPING_MARK
    return env


def chart_svgs(report: Report) -> dict[str, str]:
    """Every chart of the report, by name, as SVG text."""
    svgs = {
        "severity": charts.severity_chart(report),
        "os": charts.os_chart(report),
    }
    if report.changes is not None and len(report.changes.trend) > 1:
        svgs["trend"] = charts.trend_chart(report.changes.trend)
    return svgs


def render_html(report: Report, *, attachment: str = ATTACHMENT_NAME) -> str:
    """The report as the HTML WeasyPrint lays out (also what the golden test compares).

    `attachment` names the file the PDF carries findings.json as.
    """
    try:
        template = environment().get_template("report.html")
        return template.render(report=report, charts=chart_svgs(report), attachment=attachment)
    except jinja2.TemplateError as exc:
        raise RenderError(f"report template: {exc}") from exc


PDF_VARIANT = "pdf/a-3a"  # PDF/A-3: archival and tagged, and it may carry attachments
# Above this many findings, findings.json is attached gzipped (level 1): WeasyPrint compresses
# attachments at zlib's default level, 6 s for the 55 MB (108,000 findings, ~510 bytes each) of
# a 100,000-Mac tenant. Counted, not measured: the name is in the appendix, laid out before
# findings.json is written (by another process); 30,000 findings are about 15 MB.
ATTACH_AS_IS_MAX_FINDINGS = 30_000


def render(
    report: Report, path: Path, *, findings_json: Path | Callable[[], Path] | None = None
) -> None:
    """Write the PDF report to `path`: PDF/A-3a (tagged) with findings.json attached.

    The attachment is the same document `auditor run` writes as findings.json (rendered from
    the same model), so the filed PDF alone carries the machine-readable result; a large one
    is attached as findings.json.gz, and the appendix names the attachment. `findings_json`:
    that file as this run writes it (attached as it is, not rendered a second time), or what
    gives it once written — asked for after the pages are laid out, so another process can
    write it meanwhile.
    """
    from weasyprint import HTML, Attachment

    from auditor.render.json import render as render_json

    with tempfile.TemporaryDirectory(prefix="auditor-pdf-") as scratch:
        if findings_json is None:
            findings_json = Path(scratch) / ATTACHMENT_NAME
            render_json(report, findings_json)
        gzipped = len(report.findings) > ATTACH_AS_IS_MAX_FINDINGS
        name = ATTACHMENT_NAME + (".gz" if gzipped else "")  # the appendix names it
        # a safety net: normalize removed control characters already
        html = without_controls(render_html(report, attachment=name))
        with collector_paused():
            options = {"pdf_variant": PDF_VARIANT, "output_intent": _OUTPUT_INTENT}
            document = HTML(string=html, base_url=str(template_dir())).render(
                color_profiles={_OUTPUT_INTENT: _srgb_profile()}, **options
            )
        findings = findings_json if isinstance(findings_json, Path) else findings_json()
        if gzipped:
            findings = _gzipped(findings, Path(scratch) / name)
        attachment = Attachment(
            filename=str(findings),
            name=name,
            description="The machine-readable result of this audit (docs/findings-json.md)",
            relationship="Data",
        )
        finisher = _store_attachment_as_is if gzipped else None
        with report_path(path) as temporary, collector_paused():
            document.write_pdf(temporary, attachments=[attachment], finisher=finisher, **options)


def _store_attachment_as_is(document: Any, pdf: Any) -> None:
    """Store the gzipped attachment's bytes unfiltered: WeasyPrint would deflate them again.

    Deflating gzip's output (at pydyf's level 9) gains nothing and took ~4 s of the PDF's
    ~13 s for the 40 MB of a 500k-Mac run; the attached file's bytes are the same either way.
    """
    from pydyf import Stream

    for item in pdf.objects:
        if isinstance(item, Stream) and item.extra.get("Type") == "/EmbeddedFile":
            item.compress = False


def _gzipped(path: Path, target: Path) -> Path:
    """`path` compressed into `target` (fast level, no timestamp: deterministic)."""
    with path.open("rb") as raw, gzip.GzipFile(target, "wb", compresslevel=1, mtime=0) as packed:
        shutil.copyfileobj(raw, packed, 2**20)
    return target


_OUTPUT_INTENT = "auditor-srgb"


def _srgb_profile() -> Any:
    """WeasyPrint's own sRGB profile, read through a closed file.

    PDF/A needs an output intent; WeasyPrint's default ('srgb') opens its ICC file and never
    closes it, so the same profile is handed over under another name.
    """
    from weasyprint.css import ColorProfile

    with (resources.files("weasyprint.pdf") / "sRGB2014.icc").open("rb") as icc:
        return ColorProfile(icc, "sRGB2014.icc", "relative-colorimetric", (["r"], ["g"], ["b"]))
