"""The Changes sheet's attribution: new failures and resolutions by why, one line per cause."""

from __future__ import annotations

from openpyxl.worksheet.worksheet import Worksheet

from auditor.render.xlsx.cells import Column, facts, table
from auditor.report.model import CauseCount, CauseLine, ChangesView

_GROUP_WORDS = {
    "mac": "New: the Mac changed",
    "bar": "New: the bar moved",
    "new": "New: new Macs",
    "undetermined": "New: cause undetermined",
}
CAUSES: tuple[Column[CauseLine], ...] = (
    Column("cause", lambda c: c.cause, 14),
    Column("cause group", lambda c: c.group, 12),
    Column("rule", lambda c: c.rule_id, 14),
    Column("severity", lambda c: c.severity, 10),
    Column("entities", lambda c: c.entities, 10),
    Column("results", lambda c: c.results, 10),
    Column("why", lambda c: c.sentence, 100),
)


def _counted(count: CauseCount) -> str:
    return f"{count.results} results on {count.macs} Macs"


def attribution_block(sheet: Worksheet, top: int, changes: ChangesView) -> int:
    """Cause-group and resolution counts as facts, then the Causes table; the next free row."""
    if changes.previous_period is None:
        return top
    pairs: list[tuple[str, object]] = [
        ("Previous posture %", changes.previous_posture_pct),
        ("Posture change (points)", changes.posture_delta_pts),
    ]
    pairs += [(_GROUP_WORDS[g.kind], _counted(g)) for g in changes.new_by_group]
    pairs += [(f"Resolved: {r.kind}", _counted(r)) for r in changes.resolved_by_kind]
    row = facts(sheet, top, pairs)
    return table(sheet, "Causes", row + 1, CAUSES, changes.causes)
