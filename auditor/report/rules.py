"""Per-rule summaries (metadata, effective parameters, counts) and the failing-rule sections."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from auditor.models import Entity, Param, Severity, Status
from auditor.report.frames import count_codes, equals, pct, sort_codes
from auditor.report.model import ControlRef, FailingRow, RuleSection, RuleSummary
from auditor.report.plain import scalar, text
from auditor.rules.base import Rule
from auditor.rules.display import controls_text, param_text, params_text


def rule_summaries(
    results: pd.DataFrame,
    rules: Sequence[Rule],
    params: Mapping[str, Mapping[str, Param]] | None = None,
) -> tuple[RuleSummary, ...]:
    """Every rule's metadata with its status counts, in rule-id order.

    `params` holds the run's per-rule overrides; each summary shows the effective values
    (the rule's defaults with the overrides laid over them).
    """
    overrides = params or {}
    counts = _status_counts(results)
    empty = np.zeros(len(Status), dtype=np.int64)
    summaries = []
    for rule in sorted(rules, key=lambda r: r.id):
        row = counts.get(rule.id, empty)

        def n(status: Status, row: Any = row) -> int:
            return int(row[status.code])

        changed = overrides.get(rule.id, {})
        effective = tuple((k, param_text(v)) for k, v in sorted({**rule.params, **changed}.items()))
        defaults = tuple(
            (k, param_text(rule.params[k]))
            for k, v in sorted(changed.items())
            if k in rule.params and param_text(v) != param_text(rule.params[k])
        )
        judged = n(Status.PASS) + n(Status.FAIL) + n(Status.WAIVED)
        summaries.append(
            RuleSummary(
                rule_id=rule.id,
                title=rule.stated_title(changed),
                severity=rule.severity.value,
                entity_type=rule.entity.value,
                scope_text=rule.scope_text,
                fails_when=rule.fails_when,
                rationale=rule.rationale,
                remediation=rule.remediation,
                references=tuple(rule.references),
                controls=tuple(
                    ControlRef(framework, tuple(ids), framework in rule.own_mappings)
                    for framework, ids in rule.controls.items()
                ),
                controls_text=controls_text(rule.controls, rule.own_mappings),
                params=effective,
                param_defaults=defaults,
                params_text=params_text(effective, dict(defaults)),
                passed=n(Status.PASS),
                failed=n(Status.FAIL),
                unknown=n(Status.UNKNOWN),
                not_applicable=n(Status.NOT_APPLICABLE),
                waived=n(Status.WAIVED),
                fail_pct=pct(n(Status.FAIL), judged),
                outcome=rule_outcome(row),
                problem=rule.stated_problem(changed),
            )
        )
    return tuple(summaries)


def rule_outcome(counts: np.ndarray) -> str:
    """A rule's verdict over all its entities, from its count per status code."""
    if counts[Status.FAIL.code]:
        return "failing"
    if counts[Status.UNKNOWN.code]:
        return "not_assessed"
    if not counts[Status.PASS.code] and not counts[Status.WAIVED.code]:
        return "not_applicable"
    return "passing"


def _status_counts(results: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per rule id, its result count per status code (one bincount over all results)."""
    rule_ids = results["rule_id"].astype("category")
    known = [str(c) for c in rule_ids.cat.categories]
    width = len(Status)
    # int32 cells, not int64: one result is 4 bytes here, and there are millions at 500k Macs.
    cells = rule_ids.cat.codes.to_numpy().astype(np.int32) * width
    cells += results["status"].cat.codes.to_numpy()
    table = count_codes(cells, len(known) * width).reshape(-1, width)
    return {rule_id: table[i] for i, rule_id in enumerate(known)}


def rule_sections(
    findings: pd.DataFrame, summaries: Sequence[RuleSummary], cap: int
) -> tuple[RuleSection, ...]:
    """One section per rule with failures, most severe first; at most `cap` entities each.

    Each section lists its rule's first failing findings by Mac name, then entity id.
    """
    heads, counts = _failing_heads(findings, cap)
    by_rule = {rule_id: group for rule_id, group in heads.groupby("rule_id", sort=False)}
    sections = []
    failing = [s for s in summaries if s.failed]
    for summary in sorted(failing, key=lambda s: (Severity(s.severity).rank, s.rule_id)):
        head = by_rule.get(summary.rule_id, heads.iloc[:0])
        rows = tuple(
            FailingRow(
                entity_id=str(entity),
                entity_name=text(entity_name),
                device_name=text(name),
                serial_number=text(serial),
                os_version=text(version),
                last_sync_at=scalar(synced),
                detail=text(detail),
                owner=text(owner),
            )
            for entity, entity_name, name, serial, version, synced, detail, owner in zip(
                head["entity_id"],
                head["entity_name"],
                head["device_name"],
                head["serial_number"],
                head["os_version"],
                head["last_sync_at"],
                head["detail"],
                head["owner"] if "owner" in head else [None] * len(head),
                strict=True,
            )
        )
        sections.append(
            RuleSection(
                rule=summary,
                rows=rows,
                more=counts.get(summary.rule_id, 0) - len(head),
                is_device=summary.entity_type == Entity.DEVICE.value,
            )
        )
    return tuple(sections)


def _failing_heads(findings: pd.DataFrame, cap: int) -> tuple[pd.DataFrame, dict[str, int]]:
    """Each rule's first `cap` failing findings (by rule, Mac name, entity id), and its count.

    Only the rows the PDF lists are copied: at 500k Macs the failing findings are millions.
    """
    positions = np.flatnonzero(equals(findings["status"], Status.FAIL.value))

    def key(name: str) -> np.ndarray:
        return sort_codes(findings[name].iloc[positions])

    rules = key("rule_id")
    order = np.lexsort((key("entity_id"), key("device_name"), rules))
    per_rule = np.bincount(rules, minlength=1)
    first = np.cumsum(per_rule) - per_rule  # where each rule's rows start once sorted
    keep = np.arange(len(order)) - first[rules[order]] < cap
    counts = findings["rule_id"].iloc[positions].astype("string").value_counts()
    return findings.iloc[positions[order[keep]]], {str(k): int(n) for k, n in counts.items()}


def own_mappings(rules: Sequence[Rule]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Per framework, the rules whose mapping to it is this project's own."""
    owned: dict[str, list[str]] = {}
    for rule in rules:
        for framework in rule.own_mappings:
            owned.setdefault(framework, []).append(rule.id)
    return tuple((f, tuple(sorted(ids))) for f, ids in sorted(owned.items()))
