"""report.html: the report model as one self-contained interactive page.

The page is `report_templates/interactive/` (a shell, one stylesheet, one script) with the
model embedded as data: JSON, gzip-compressed and base64-encoded when that pays, decoded in
the browser with DecompressionStream. Nothing is loaded from anywhere at view time: a
Content-Security-Policy meta allows only the page's own script and style (by their sha256)
and no connection, image or frame. The script builds every view from the data with text
nodes, so inventory text is never markup. Tables are sent column by column, values that
repeat as a list of distinct values plus codes (docs/html-report.md).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import gzip
import hashlib
import re
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import orjson
import pandas as pd

from auditor.errors import RenderError
from auditor.normalize.text import without_controls
from auditor.render import report_path
from auditor.render.pdf import template_dir
from auditor.report import Report
from auditor.report.model import TableView
from auditor.report.plain import plain
from auditor.rules.display import OWN_MAPPING_MARK

FORMAT_VERSION = 1
ASSETS = "interactive"
COMPRESS_OVER_BYTES = 64 * 1024  # smaller data is embedded as plain JSON: gzip would not pay
_JSON_ESCAPES = ((b"<", b"\\u003c"), (b">", b"\\u003e"), (b"&", b"\\u0026"),
                 ("\u2028".encode(), b"\\u2028"), ("\u2029".encode(), b"\\u2029"))  # fmt: skip


def _shown(values: pd.Series) -> pd.Series:
    """Timestamps as the UTC day the page shows (YYYY-MM-DD); other columns as they are."""
    if not pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values
    utc = values.dt.tz_convert("UTC") if values.dt.tz is not None else values
    days: pd.Series = utc.dt.strftime("%Y-%m-%d").astype("string")
    return days


def _cells(values: pd.Series) -> list[Any]:
    """A column's values as JSON cells: text, numbers, booleans or None."""
    as_object = values.astype(object)
    cells: list[Any] = as_object.where(values.notna(), None).tolist()
    if pd.api.types.is_integer_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        cast = bool if pd.api.types.is_bool_dtype(values.dtype) else int
        cells = [None if v is None else cast(v) for v in cells]
    return cells


def encode_column(values: pd.Series) -> dict[str, Any]:
    """One column for the page: distinct values plus codes (-1: missing) when values repeat."""
    values = _shown(values)
    repeats = isinstance(values.dtype, pd.CategoricalDtype) or (
        len(values) > 0 and values.nunique(dropna=True) <= len(values) // 2
    )
    if not repeats:
        return {"values": _cells(values)}
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return {"dict": _cells(pd.Series(uniques)), "codes": np.asarray(codes).tolist()}


def encode_table(
    frame: pd.DataFrame, view: TableView, device_rows: np.ndarray | None = None
) -> dict[str, Any]:
    """A table's column specs, with the data of its own columns (a finding's Mac's come by row)."""
    columns = []
    for spec in view.columns:
        column = plain(spec)
        if spec.source == "row":
            column["data"] = encode_column(frame[spec.key])
        columns.append(column)
    table: dict[str, Any] = {"name": view.name, "length": len(frame), "columns": columns}
    if device_rows is not None:
        table["device_rows"] = device_rows.tolist()
    return table


def payload(report: Report) -> dict[str, Any]:
    """Everything the page shows: the model's records as plain values, tables by column."""
    views = report.views
    meta = report.run.meta
    records = {
        f.name: plain(getattr(report, f.name))
        for f in dataclasses.fields(report)
        if f.name not in ("findings", "devices", "views", "changes")
    }
    changes = None
    if report.changes is not None:
        changes = {
            f.name: plain(getattr(report.changes, f.name))
            for f in dataclasses.fields(report.changes)
            if f.name != "items"
        }
    tables = {
        "findings": encode_table(report.findings, views.findings, views.finding_device_rows),
        "devices": encode_table(report.devices, views.devices),
    }
    if report.changes is not None and views.changes is not None:
        tables["changes"] = encode_table(report.changes.items, views.changes)
    return {
        "format_version": FORMAT_VERSION,
        **records,
        "period": meta.period,
        "changes": changes,
        "sections": [s.rule.rule_id for s in report.sections],
        "own_mapping_mark": OWN_MAPPING_MARK,
        "admin_center_url": views.admin_center_url,
        "device_links": encode_column(views.device_links),
        "tables": tables,
    }


def embedded(data: dict[str, Any], compress_over: int) -> tuple[str, str]:
    """(script type, text) of the data: JSON, or gzip + base64 when larger than `compress_over`.

    JSON is escaped so that no `</script>` (or `<!--`) can end the element early. Control
    characters are removed (a safety net: normalize removed them from the inventory).
    """
    try:
        raw = orjson.dumps(data)
        has_controls = _CONTROL_IN_JSON.search(raw) is not None
    except orjson.JSONEncodeError:  # a lone surrogate: text no UTF-8 can hold
        has_controls = True
    if has_controls:
        raw = orjson.dumps(_without_controls(data))
    if len(raw) > compress_over:
        packed = gzip.compress(raw, compresslevel=6, mtime=0)
        return "application/gzip+base64", base64.b64encode(packed).decode("ascii")
    for text, escape in _JSON_ESCAPES:
        raw = raw.replace(text, escape)
    return "application/json", raw.decode("utf-8")


# How orjson writes a control character (C0 as an escape, DEL and C1 as UTF-8); a match
# may be an escaped backslash followed by such letters, which only costs a clean pass.
_CONTROL_IN_JSON = re.compile(rb"\\u00[01][0-9a-f]|\\u007f|\\[bfr]|\x7f|\xc2[\x80-\x9f]")


def _without_controls(value: Any) -> Any:
    """`value` (the page's data) with every text stripped of control characters."""
    if isinstance(value, str):
        return without_controls(value)
    if isinstance(value, dict):
        return {without_controls(k): _without_controls(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_without_controls(v) for v in value]
    return value


@cache
def _asset(name: str) -> str:
    text = (template_dir() / ASSETS / name).read_text(encoding="utf-8")
    if "</script" in text.lower() or "</style" in text.lower():
        raise RenderError(f"{ASSETS}/{name} must not contain a closing script or style tag")
    return text


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def content_security_policy(script: str | None, style: str) -> str:
    """Only this page's own script and style run; nothing is fetched, framed or submitted.

    `script` None: a page without script (`script-src 'none'`).
    """
    scripts = "'none'" if script is None else _sha256(script)
    return (
        f"default-src 'none'; script-src {scripts}; style-src {_sha256(style)}; "
        "img-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'"
    )


def render_page(report: Report, *, compress_over: int = COMPRESS_OVER_BYTES) -> str:
    """The whole page as text."""
    script, style = _asset("app.js"), _asset("app.css")
    data_type, data = embedded(payload(report), compress_over)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir() / ASSETS)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    meta = report.run.meta
    try:
        page = env.get_template("shell.html").render(
            csp=content_security_policy(script, style),
            title=f"Intune Mac audit · {meta.organisation} · as of {meta.as_of:%Y-%m-%d}",
            meta=meta,
            generated=meta.generated_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            script=script,
            style=style,
            data_type=data_type,
            data=data,
        )
    except jinja2.TemplateError as exc:
        raise RenderError(f"interactive report template: {exc}") from exc
    return without_controls(page)  # the shell's own texts (organisation …), as a safety net


def render(report: Report, path: Path, *, compress_over: int = COMPRESS_OVER_BYTES) -> None:
    """Write report.html to `path`."""
    page = render_page(report, compress_over=compress_over)
    with report_path(path) as temporary:
        temporary.write_text(page, encoding="utf-8")


def asset_dir() -> Path:
    """Where the page's shell, script and stylesheet live."""
    return template_dir() / ASSETS
