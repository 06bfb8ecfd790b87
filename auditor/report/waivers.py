"""The waivers section: every waiver with what became of it in this run."""

from __future__ import annotations

from collections.abc import Sequence

from auditor.report.model import WaiverRow
from auditor.waivers import WaiverState, WaiverUse


def waiver_rows(uses: Sequence[WaiverUse]) -> tuple[WaiverRow, ...]:
    """Every waiver with its fate: applied first, then expired, then unmatched."""
    order = {state: i for i, state in enumerate(WaiverState)}
    return tuple(
        WaiverRow(
            waiver_id=u.waiver.id,
            rule_id=u.waiver.rule_id,
            selector=u.waiver.describe(),
            reason=u.waiver.reason,
            approver=u.waiver.approver,
            ticket=u.waiver.ticket,
            expires=u.waiver.expires,
            state=u.state.value,
            matched=u.matched,
            origin=u.waiver.origin,
        )
        for u in sorted(uses, key=lambda u: (order[u.state], u.waiver.rule_id, u.waiver.id))
    )
