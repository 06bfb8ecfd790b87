"""portfolio.pdf and portfolio.html: the portfolio through one jinja2 template.

Both use the PDF report's environment (`render.pdf.environment`: autoescape, StrictUndefined,
the formatting filters) and `report_templates/portfolio.html` (its tables in
`portfolio_tables.html`). The PDF is laid out by WeasyPrint; the HTML page is self-contained
with no script at all, its stylesheet inline and a Content-Security-Policy
(`render.html.content_security_policy`) allowing nothing else. Links to tenants' reports stay
relative (no base URL), so the folder can be moved whole.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from auditor.errors import RenderError
from auditor.normalize.text import without_controls
from auditor.portfolio.model import Portfolio
from auditor.render import report_path
from auditor.render.html import content_security_policy
from auditor.render.pdf import environment, template_dir

STYLESHEET = "portfolio.css"
TEMPLATE = "portfolio.html"


def _render(portfolio: Portfolio, *, is_page: bool) -> str:
    style = (template_dir() / STYLESHEET).read_text(encoding="utf-8")
    csp = content_security_policy(None, style) if is_page else None
    try:
        page = (
            environment().get_template(TEMPLATE).render(portfolio=portfolio, style=style, csp=csp)
        )
    except jinja2.TemplateError as exc:
        raise RenderError(f"portfolio template {TEMPLATE}: {exc}") from exc
    return without_controls(page)  # a safety net: findings.json text is untrusted


def pdf_html(portfolio: Portfolio) -> str:
    """The HTML WeasyPrint lays out for portfolio.pdf."""
    return _render(portfolio, is_page=False)


def page_html(portfolio: Portfolio) -> str:
    """portfolio.html as text."""
    return _render(portfolio, is_page=True)


def render_pdf(portfolio: Portfolio, path: Path) -> None:
    """Write portfolio.pdf to `path`."""
    from weasyprint import HTML

    document = HTML(string=pdf_html(portfolio), base_url=None)
    with report_path(path) as temporary:
        document.write_pdf(temporary)


def render_page(portfolio: Portfolio, path: Path) -> None:
    """Write portfolio.html to `path`."""
    page = page_html(portfolio)
    with report_path(path) as temporary:
        temporary.write_text(page, encoding="utf-8")
