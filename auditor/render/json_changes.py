"""findings.json's change attribution, exposure clocks and needs-attention list (added fields).

Kept beside `render.json` so that module stays the shape of the original contract; every field
here is added to an existing object (`changes`, `summary`), none renamed or removed.
"""

from __future__ import annotations

from typing import Any

from auditor.report.model import CauseCount, ChangesView, Summary


def _counts(rows: tuple[CauseCount, ...]) -> dict[str, dict[str, int]]:
    return {r.kind: {"results": r.results, "macs": r.macs} for r in rows}


def attribution_fields(changes: ChangesView) -> dict[str, Any]:
    """Why the failures changed: per cause group, cause and resolution; the sentences; the bar."""
    return {
        "previous_as_of": changes.previous_as_of.isoformat() if changes.previous_as_of else None,
        "previous_posture_pct": changes.previous_posture_pct,
        "posture_delta_pts": changes.posture_delta_pts,
        "new_by_cause_group": _counts(changes.new_by_group),
        "new_by_cause": _counts(changes.new_by_cause),
        "resolved_by_resolution": _counts(changes.resolved_by_kind),
        "causes": [
            {
                "cause": c.cause,
                "cause_group": c.group,
                "rule_id": c.rule_id,
                "severity": c.severity,
                "entity_type": c.entity_type,
                "entities": c.entities,
                "results": c.results,
                "sentence": c.sentence,
            }
            for c in changes.causes
        ],
        "catalogue_changes": [
            {
                "kind": c.kind,
                "versions": c.versions,
                "released": c.released.isoformat() if c.released else None,
                "exploited_cves": list(c.exploited_cves),
            }
            for c in changes.catalogue_changes
        ],
        "param_changes": [
            {"rule_id": rule_id, "name": name, "before": before, "after": after}
            for rule_id, name, before, after in changes.param_changes
        ],
    }


def summary_fields(summary: Summary) -> dict[str, Any]:
    """Page one's exposure clocks and needs-attention problems."""
    return {
        "exposure": [
            {
                "cve": c.cve,
                "fixed_in": c.fixed_in,
                "fixed_on": c.fixed_on.isoformat(),
                "days_since_fix": c.days_since_fix,
                "exposed_devices": c.exposed,
                "not_reported_devices": c.not_reported,
            }
            for c in summary.exposure
        ],
        "overdue_by_severity": {
            o.severity: {"results": o.results, "devices": o.devices}
            for o in summary.overdue_by_severity
        },
        "needs_attention": [
            {
                "rule_id": a.rule_id,
                "severity": a.severity,
                "problem": a.problem,
                "entity_type": a.entity_type,
                "entities": a.entities,
                "devices": a.macs,
                "names": list(a.names),
            }
            for a in summary.needs_attention
        ],
    }
