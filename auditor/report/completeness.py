"""Completeness: every part of the inventory with how it ended, and the rules each gap silences."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from auditor.models import PART_FEEDS, PART_LABELS, PartState, SourceGap, Status
from auditor.report.frames import codes, count_codes
from auditor.report.run_model import PartStatus
from auditor.rules.base import Rule


def part_statuses(
    gaps: Sequence[SourceGap], rules: Sequence[Rule], results: pd.DataFrame
) -> tuple[PartStatus, ...]:
    """Each part of `PART_FEEDS`: collected, or its gap with the rules that gap silences.

    A gap silences an evaluated rule that reads a field no collected part feeds, when the
    rule had an `unknown` result or no result at all (its entities were not collected).
    """
    by_part = {g.part: g for g in gaps}
    collected_fields = {f for part, feeds in PART_FEEDS.items() if part not in by_part
                        for f in feeds}  # fmt: skip
    undecided = _rules_with_unknowns_or_nothing(rules, results)
    statuses = []
    for part in (*PART_FEEDS, *sorted(set(by_part) - set(PART_FEEDS))):
        gap = by_part.get(part)
        if gap is None:
            statuses.append(PartStatus(part, PART_LABELS[part], PartState.COLLECTED.value, "", ()))
            continue
        only_here = set(gap.fields or PART_FEEDS.get(part, ())) - collected_fields
        silenced = tuple(
            sorted(r.id for r in rules if r.id in undecided and only_here & set(r.requires))
        )
        label = PART_LABELS.get(part, part.replace("_", " "))
        statuses.append(PartStatus(part, label, gap.state.value, gap.reason, silenced))
    return tuple(statuses)


def _rules_with_unknowns_or_nothing(rules: Sequence[Rule], results: pd.DataFrame) -> set[str]:
    """Ids of the rules that left something undecided: an unknown result, or no result."""
    rule_ids = results["rule_id"].astype("category")
    labels = [str(c) for c in rule_ids.cat.categories]
    rule_codes = rule_ids.cat.codes.to_numpy()
    unknown = codes(results["status"]) == Status.UNKNOWN.code
    counts = count_codes(rule_codes, len(labels))
    unknowns = count_codes(rule_codes[unknown], len(labels))
    with_unknown = {labels[i] for i in np.flatnonzero(unknowns)}
    with_results = {labels[i] for i in np.flatnonzero(counts)}
    return {r.id for r in rules if r.id in with_unknown or r.id not in with_results}


def gap_fields(gaps: Sequence[SourceGap]) -> frozenset[str]:
    """Fields that only parts not collected would feed (a KPI over them is 'not collected')."""
    missing = {g.part for g in gaps}
    collected = {f for part, feeds in PART_FEEDS.items() if part not in missing for f in feeds}
    return frozenset(f for g in gaps for f in (g.fields or PART_FEEDS.get(g.part, ()))) - collected
