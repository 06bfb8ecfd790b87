"""Needs attention: one entry per underlying problem, ranked by severity weight × Macs affected.

A problem is a failing critical or high rule, whatever entity it judges: the Macs missing an
exploited fix are one entry counting Macs, an expired ADE token is one entry naming the token
and the Macs it enrolled. Results are never counted as Macs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from auditor.models import Entity, Status
from auditor.posture import is_serious
from auditor.report.attribution import SEVERITY_WEIGHT, severity_rank
from auditor.report.model import AttentionItem, EntityResult, RuleSummary, TokenRow

NAMES_SHOWN = 3  # entity names page one lists per problem


def needs_attention(
    results: pd.DataFrame,
    summaries: Sequence[RuleSummary],
    entity_results: Sequence[EntityResult],
    tokens: Sequence[TokenRow],
    devices: pd.DataFrame,
) -> tuple[AttentionItem, ...]:
    """Every failing critical or high rule once, by severity weight × Macs affected."""
    rules = {s.rule_id: s for s in summaries}
    items = [_device_item(rules[r], results, devices) for r in _failing_device_rules(summaries)]
    enrolled = {t.token_id: t.synced_device_count for t in tokens}
    by_rule: dict[str, list[EntityResult]] = {}
    for result in entity_results:
        if result.status == Status.FAIL.value and is_serious(result.severity):
            by_rule.setdefault(result.rule_id, []).append(result)
    for rule_id, failing in by_rule.items():
        failing.sort(key=lambda r: r.entity_name)
        summary = rules.get(rule_id)
        items.append(
            AttentionItem(
                rule_id=rule_id,
                severity=failing[0].severity,
                problem=summary.problem if summary and summary.problem else failing[0].title,
                entity_type=failing[0].entity_type,
                entities=len(failing),
                macs=_enrolled(failing, enrolled),
                names=tuple(r.entity_name for r in failing[:NAMES_SHOWN]),
                detail=failing[0].detail,
            )
        )
    return tuple(sorted(items, key=_rank))


def _rank(item: AttentionItem) -> tuple[float, int, str]:
    weight = SEVERITY_WEIGHT.get(item.severity, 0) * max(item.macs or 0, 1)
    return (-weight, severity_rank(item.severity), item.rule_id)


def _failing_device_rules(summaries: Sequence[RuleSummary]) -> list[str]:
    return [
        s.rule_id
        for s in summaries
        if s.entity_type == Entity.DEVICE.value and s.failed and is_serious(s.severity)
    ]


def _device_item(rule: RuleSummary, results: pd.DataFrame, devices: pd.DataFrame) -> AttentionItem:
    """A device rule's entry: its failing Macs, counted once each."""
    failing = (results["rule_id"] == rule.rule_id).to_numpy(dtype=bool) & (
        results["status"] == Status.FAIL.value
    ).to_numpy(dtype=bool)
    rows = np.unique(results["row"].to_numpy()[failing])
    names = devices["device_name"] if "device_name" in devices else pd.Series(dtype="string")
    shown = [str(n) for n in names.iloc[rows[:NAMES_SHOWN]].tolist() if not pd.isna(n)]
    return AttentionItem(
        rule_id=rule.rule_id,
        severity=rule.severity,
        problem=rule.problem or rule.title,
        entity_type=Entity.DEVICE.value,
        entities=len(rows),
        macs=len(rows),
        names=tuple(shown),
        detail=None,
    )


def _enrolled(failing: Sequence[EntityResult], enrolled: Mapping[str, int | None]) -> int | None:
    """Macs enrolled through the failing ADE tokens, when each token says; else None."""
    if failing[0].entity_type != Entity.ADE_TOKEN.value:
        return None
    counts = [enrolled.get(r.entity_id) for r in failing]
    return None if any(c is None for c in counts) else sum(c for c in counts if c is not None)
