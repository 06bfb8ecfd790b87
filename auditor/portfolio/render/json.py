"""portfolio.json: the portfolio model as JSON (shape in docs/portfolio.md, schema_version 1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from auditor.portfolio.model import Portfolio
from auditor.render import report_path
from auditor.report.plain import plain

SCHEMA_VERSION = 1


def document(portfolio: Portfolio) -> dict[str, Any]:
    """The document, keys in the documented order."""
    return {
        "schema_version": SCHEMA_VERSION,
        "portfolio": {
            "as_of": portfolio.as_of.isoformat(),
            "generated_at": portfolio.generated_at.isoformat(timespec="seconds"),
            "tool_version": portfolio.tool_version,
            "newest_period": portfolio.newest_period or None,
            "order": portfolio.order,
        },
        "expected_tenants": portfolio.expected_tenants,
        "totals": plain(portfolio.totals),
        "groups": [
            {"name": g.name, "tenant_ids": list(g.tenant_ids), "totals": plain(g.totals)}
            for g in portfolio.groups
        ],
        "tenants": [plain(row) for row in portfolio.rows],
    }


def render(portfolio: Portfolio, path: Path) -> None:
    """Write portfolio.json (indented by two spaces: it is small, and read by people too)."""
    data = orjson.dumps(document(portfolio), option=orjson.OPT_INDENT_2) + b"\n"
    with report_path(path) as temporary:
        temporary.write_bytes(data)
