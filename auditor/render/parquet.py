"""devices.parquet: the report's device table, one row per Mac with a status column per rule.

The columns are `DEVICE_TABLE_SCHEMA`'s (the canonical device fields, failing rule count and
worst severity) then one column per device rule, named by its id, holding the Mac's status.
Each column carries its meaning as Parquet field metadata (`description`), and the file the
run's facts (`auditor` key of the schema metadata), for Power BI and data lakes.
Field mapping: docs/formats.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from auditor.render import report_path
from auditor.report import DEVICE_TABLE_SCHEMA, Report

FORMAT_VERSION = 1


def table(report: Report) -> pa.Table:
    """The device table as an Arrow table with per-column descriptions and the run's facts."""
    meta = report.run.meta
    titles = {r.rule_id: r.title for r in report.rules}
    arrow = pa.Table.from_pandas(report.devices, preserve_index=False)
    descriptions = {name: meaning for name, (_, meaning) in DEVICE_TABLE_SCHEMA.items()}
    descriptions.update(
        {
            rule_id: f"Status of rule {rule_id}: {titles[rule_id]}"
            for rule_id in report.device_rule_ids
        }
    )
    fields = [
        field.with_metadata({"description": descriptions.get(field.name, "")})
        for field in arrow.schema
    ]
    facts = {
        "format_version": FORMAT_VERSION,
        "as_of": meta.as_of.isoformat(),
        "generated_at": meta.generated_at.replace(microsecond=0).isoformat(),
        "tenant_id": meta.tenant_id,
        "tool_version": meta.tool_version,
        "complete": report.run.is_complete,
        "rule_columns": list(report.device_rule_ids),
    }
    metadata = {**(arrow.schema.metadata or {}), b"auditor": json.dumps(facts).encode()}
    return arrow.cast(pa.schema(fields, metadata=metadata))


def render(report: Report, path: Path) -> None:
    """Write devices.parquet (Snappy-compressed, which Power BI and every lake engine read)."""
    arrow = table(report)
    with report_path(path) as temporary:
        pq.write_table(arrow, temporary, compression="snappy")
