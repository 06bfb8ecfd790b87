"""findings.json: the public, scriptable form of the report (shape in docs/findings-json.md).

Keys keep the documented order; findings are streamed in chunks so a tenant of any size is
written with bounded memory, byte-for-byte as one `orjson.dumps` of the whole document would:
compact by default (a 500k-Mac document is a third of its indented size), indented by two
spaces with `indent=True` (`--json-indent`). Only whitespace differs between the two.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from auditor.render import report_path
from auditor.render.json_changes import attribution_fields, summary_fields
from auditor.render.json_population import compliance_block, population_block, vpp_token_list
from auditor.render.json_population import stamp as _stamp
from auditor.report import Report

SCHEMA_VERSION = 1
CHUNK_ROWS = 50_000
FINDING_KEYS = (
    "rule_id",
    "severity",
    "status",
    "entity_type",
    "entity_id",
    "device_id",
    "serial_number",
    "device_name",
    "upn",
    "os_version",
    "last_sync_at",
    "title",
    "detail",
    "waiver_id",
    "first_seen",
    "months_failing",
    "entity_name",  # added after the first release: last, so existing keys keep their places
)
_OPTIONS = orjson.OPT_NON_STR_KEYS


def _dumps(value: Any, depth: int, indent: bool) -> bytes:
    """The orjson text of `value`; indented as if nested `depth` levels deep with `indent`."""
    if not indent:
        return orjson.dumps(value, option=_OPTIONS)
    text = orjson.dumps(value, option=_OPTIONS | orjson.OPT_INDENT_2)
    return text.replace(b"\n", b"\n" + b"  " * depth)


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def run_block(report: Report) -> dict[str, Any]:
    """The `run` object: what, when, from which inputs, how complete."""
    run, meta = report.run, report.run.meta
    return {
        "as_of": meta.as_of.isoformat(),
        "generated_at": meta.generated_at.replace(microsecond=0).isoformat(),
        "tool_version": meta.tool_version,
        "organisation": meta.organisation,
        "classification": meta.classification,
        "tenant_id": meta.tenant_id,
        "source": meta.source,
        "inputs": [
            {"path": i.path, "kind": i.kind, "sha256": i.sha256, "records": i.records}
            for i in run.inputs
        ],
        "catalogue": {
            "as_of": meta.catalogue_as_of.isoformat(),
            "source": meta.catalogue_source,
            "age_days": meta.catalogue_age_days,
            "stale": meta.catalogue_is_stale,
        },
        "complete": run.is_complete,
        "gaps": [
            {
                "part": g.part,
                "reason": g.reason,
                "fields": list(g.fields),
                "is_core": g.is_core,
                "state": g.state.value,
                "status": g.status or None,
            }
            for g in run.gaps
        ],
        "parts": [
            {
                "part": p.part,
                "label": p.label,
                "state": p.state,
                "reason": p.reason or None,
                "silenced_rules": list(p.silenced_rule_ids),
            }
            for p in run.parts
        ],
        "warnings": [{"code": w.code, "message": w.message} for w in run.warnings],
        "scope": {
            "devices": run.scope.devices,
            "virtual_devices": run.scope.virtual_devices,
            "excluded": [dataclasses.asdict(e) for e in run.scope.excluded],
        },
        "sign_off": {
            "prepared_by": run.sign_off.prepared_by or None,
            "reviewed_by": run.sign_off.reviewed_by or None,
        },
        "tenant_name": meta.tenant_name,  # added in issue 20: last, so the others keep places
        "tenant_groups": list(meta.tenant_groups),
    }


def summary_block(report: Report) -> dict[str, Any]:
    """The `summary` object: device count, posture, counts per status and severity, per rule."""
    summary, waivers = report.summary, report.summary.waivers
    return {
        "devices": summary.devices,
        "posture": {"devices": summary.posture.count, "pct": summary.posture.pct},
        "status": dict(summary.status_counts),
        "fail_by_severity": {s.severity: s.results for s in summary.failing_by_severity},
        "failing_devices_by_severity": {s.severity: s.devices for s in summary.failing_by_severity},
        "kpis": {
            k.key: {"devices": k.count, "pct": k.pct, "unknown": k.unknown, "state": k.state}
            for k in summary.kpis
        },
        "rules": [
            {
                "rule_id": r.rule_id,
                "title": r.title,
                "problem": r.problem,
                "severity": r.severity,
                "entity_type": r.entity_type,
                "pass": r.passed,
                "fail": r.failed,
                "unknown": r.unknown,
                "not_applicable": r.not_applicable,
                "waived": r.waived,
                "params": dict(r.params),
            }
            for r in report.rules
        ],
        "posture_without_waivers": {
            "devices": summary.posture_without_waivers.count,
            "pct": summary.posture_without_waivers.pct,
        },
        "serious_unknown_devices": summary.serious_unknown_devices,
        "waived_by_severity": {s.severity: s.waived for s in summary.failing_by_severity},
        "waivers": {
            "applied": waivers.applied,
            "waived_results": waivers.waived_results,
            "expired": [w.waiver_id for w in waivers.expired],
            "unmatched": [w.waiver_id for w in waivers.unmatched],
            "expiring_soon": [w.waiver_id for w in waivers.expiring_soon],
            "soon_days": waivers.soon_days,
        },
        **summary_fields(summary),
    }


def finding_records(report: Report, chunk_rows: int) -> Iterator[list[dict[str, Any]]]:
    """Chunks of finding objects in the documented key order."""
    has_history = report.changes is not None
    keys = [k for k in FINDING_KEYS if has_history or k not in ("first_seen", "months_failing")]
    plain_keys = [k for k in keys if k != "waiver_id"]
    findings = report.findings
    for start in range(0, len(findings), chunk_rows):
        chunk = findings.iloc[start : start + chunk_rows]
        columns: dict[str, list[Any]] = {}
        for key in keys:
            values = chunk[key]
            if key == "last_sync_at":
                values = values.dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
            as_object = values.astype(object)
            columns[key] = as_object.where(values.notna(), None).tolist()
        if has_history:
            columns["months_failing"] = [
                None if v is None else int(v) for v in columns["months_failing"]
            ]
        # plain dicts from zipped column lists: far cheaper than DataFrame.to_dict
        rows = zip(*(columns[k] for k in plain_keys), strict=True)
        records = [dict(zip(plain_keys, row, strict=True)) for row in rows]
        for i, waiver_id in enumerate(columns["waiver_id"]):
            if waiver_id is not None:  # rare: rebuild that record with the key in its place
                record = {**records[i], "waiver_id": waiver_id}
                records[i] = {k: record[k] for k in keys}
        yield records


def _findings_bytes(report: Report, chunk_rows: int, indent: bool) -> Iterator[bytes]:
    """The findings array's items, each chunk serialized by one orjson call."""
    written = False
    # '[{...},{...}]', or '[\n    {...},\n    {...}\n  ]' at depth 1: keep only the items
    end = -4 if indent else -1
    for records in finding_records(report, chunk_rows):
        if not records:
            continue
        yield (b"," if written else b"") + _dumps(records, 1, indent)[1:end]
        written = True
    yield b"\n  ]" if written and indent else b"]"


def quality_block(report: Report) -> dict[str, Any]:
    """The `data_quality` object: gaps, normalization notes, unknowns per rule."""
    quality = report.quality
    return {
        "never_synced_devices": quality.never_synced,
        "notes": [{**dataclasses.asdict(n), "examples": list(n.examples)} for n in quality.notes],
        "unknown_by_rule": [
            {
                "rule_id": u.rule_id,
                "unknown": u.count,
                "top_reason": u.top_reason,
                "top_reason_count": u.top_reason_count,
            }
            for u in quality.unknowns
        ],
    }


def waivers_block(report: Report) -> list[dict[str, Any]]:
    """The `waivers` list: every waiver with its state (applied, expired, unmatched)."""
    return [
        {
            "waiver_id": w.waiver_id,
            "rule_id": w.rule_id,
            "selector": w.selector,
            "reason": w.reason,
            "approver": w.approver,
            "ticket": w.ticket,
            "expires": w.expires.isoformat(),
            "state": w.state,
            "matched": w.matched,
            "severity": w.severity or None,
            "days_left": w.days_left,
            "origin": w.origin,
        }
        for w in report.waivers
    ]


def changes_block(report: Report, *, items: bool = True) -> dict[str, Any] | None:
    """The `changes` object, or None without history; without `items` when `items` is False."""
    changes = report.changes
    if changes is None:
        return None
    block: dict[str, Any] = {
        "current_period": changes.current_period,
        "previous_period": changes.previous_period,
        "new": changes.new,
        "resolved": changes.resolved,
        "persisting": changes.persisting,
        "new_by_severity": dict(changes.new_by_severity),
        "per_rule": [
            {
                "rule_id": d.rule_id,
                "previous_fail": d.previous_fail,
                "current_fail": d.current_fail,
                "new": d.new,
                "resolved": d.resolved,
                "persisting": d.persisting,
            }
            for d in changes.per_rule
        ],
        "trend": [
            {
                "period": t.period,
                "devices": t.devices,
                "failing_devices": t.failing_devices,
                "posture_pct": t.posture_pct,
                "fail_by_severity": dict(t.fail_by_severity),
            }
            for t in changes.trend
        ],
    }
    if items:  # every failing result of both periods: the one part as long as the findings
        rows = changes.items.astype(object)
        block["items"] = [
            {
                k: (None if v is None else (int(v) if k == "months_failing" else str(v)))
                for k, v in r.items()
            }
            for r in rows.where(rows.notna(), None).to_dict("records")
        ]
    return block | attribution_fields(changes)


def tenant_block(report: Report) -> dict[str, Any]:
    """The `tenant` object: the expiry dates of the APNs certificate and the ADE tokens."""
    tenant = report.tenant
    apns = None
    if tenant.apns_expires_at is not None:
        apns = {"expires_at": _stamp(tenant.apns_expires_at), "apple_id": tenant.apns_apple_id}
    return {
        "apns_certificate": apns,
        "ade_tokens": [
            {
                "token_id": t.token_id,
                "name": t.token_name,
                "apple_id": t.apple_id,
                "expires_at": _stamp(t.expires_at),
                "last_sync_at": _stamp(t.last_sync_at),
            }
            for t in tenant.tokens
        ],
        # added with the population and policy parts: after the keys above
        "vpp_tokens": vpp_token_list(report),
        "compliance": compliance_block(report),
    }


def document_bytes(
    report: Report, *, chunk_rows: int = CHUNK_ROWS, indent: bool = False
) -> Iterator[bytes]:
    """findings.json as byte chunks (findings serialized `chunk_rows` at a time).

    Compact, or indented by two spaces with `indent`.
    """
    blocks: list[tuple[str, Any]] = [
        ("schema_version", SCHEMA_VERSION),
        ("run", run_block(report)),
        ("summary", summary_block(report)),
        ("findings", None),
        ("data_quality", quality_block(report)),
        ("waivers", waivers_block(report)),
        ("changes", changes_block(report)),
        ("tenant", tenant_block(report)),  # added after the first release: last
        ("population", population_block(report)),  # added later still: after tenant
    ]
    opening, separator, colon = (b"{\n  ", b",\n  ", b": ") if indent else (b"{", b",", b":")
    for i, (key, value) in enumerate(blocks):
        yield (separator if i else opening) + _dumps(key, 1, indent) + colon
        if key == "findings":
            yield b"["
            yield from _findings_bytes(report, chunk_rows, indent)
        else:
            yield _dumps(value, 1, indent)
    yield b"\n}\n" if indent else b"}\n"


def render(report: Report, path: Path, *, indent: bool = False) -> None:
    """Write findings.json to `path`: compact, or indented by two spaces with `indent`."""
    with report_path(path) as temporary, temporary.open("wb") as out:
        for chunk in document_bytes(report, indent=indent):
            out.write(chunk)
