"""findings.csv and findings.ndjson: findings.json's findings, flat, for SIEMs and log shippers.

Both hold the same rows as findings.json's `findings` (one per fail, unknown or waived result,
in its order) with its keys and values, plus the run's context on every row, so that each line
stands alone once ingested. Field mapping: docs/formats.md.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from auditor.render import report_path
from auditor.render.cell_text import FORMULA_TRIGGERS
from auditor.render.json import CHUNK_ROWS, FINDING_KEYS, finding_records
from auditor.report import Report

RUN_COLUMNS = ("as_of", "tenant_id", "run_complete")


def run_context(report: Report) -> dict[str, Any]:
    """What every flat row repeats about its run: date, tenant, tool and completeness."""
    meta = report.run.meta
    return {
        "as_of": meta.as_of.isoformat(),
        "generated_at": meta.generated_at.replace(microsecond=0).isoformat(),
        "tenant_id": meta.tenant_id,
        "tool_version": meta.tool_version,
        "complete": report.run.is_complete,
    }


def excel_safe(value: Any) -> str:
    """A value as CSV text: empty for missing, lower-case booleans, formulas made inert."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_TRIGGERS) else value
    return str(value)


def csv_chunks(report: Report, chunk_rows: int = CHUNK_ROWS) -> Iterator[str]:
    """findings.csv as text chunks: a header, then one row per finding (RFC 4180, CRLF)."""
    run = run_context(report)
    context = [excel_safe(run["as_of"]), excel_safe(run["tenant_id"]), excel_safe(run["complete"])]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*FINDING_KEYS, *RUN_COLUMNS])
    for records in finding_records(report, chunk_rows):
        writer.writerows(
            [*(excel_safe(record.get(key)) for key in FINDING_KEYS), *context] for record in records
        )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def render_csv(report: Report, path: Path) -> None:
    """Write findings.csv (UTF-8 with a byte-order mark, so Excel reads names rightly)."""
    with (
        report_path(path) as temporary,
        temporary.open("w", encoding="utf-8-sig", newline="") as out,
    ):
        for chunk in csv_chunks(report):
            out.write(chunk)


def ndjson_lines(report: Report, chunk_rows: int = CHUNK_ROWS) -> Iterator[bytes]:
    """findings.ndjson as byte chunks: one JSON object per finding, each ending in a newline."""
    run = run_context(report)
    for records in finding_records(report, chunk_rows):
        yield b"".join(orjson.dumps({**record, "run": run}) + b"\n" for record in records)


def render_ndjson(report: Report, path: Path) -> None:
    """Write findings.ndjson."""
    with report_path(path) as temporary, temporary.open("wb") as out:
        for chunk in ndjson_lines(report):
            out.write(chunk)
