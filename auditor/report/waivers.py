"""The waivers section, and page one's account of them: every waiver with what became of it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from auditor.report.model import WaiverOverview, WaiverRow
from auditor.waivers import WaiverState, WaiverUse

EXPIRING_SOON_DAYS = 30  # page one lists waivers that expire within this many days


def waiver_rows(
    uses: Sequence[WaiverUse], severities: Mapping[str, str], as_of: dt.date
) -> tuple[WaiverRow, ...]:
    """Every waiver with its fate: applied first, then expired, then unmatched.

    `severities` holds each evaluated rule's severity in this run.
    """
    order = {state: i for i, state in enumerate(WaiverState)}
    return tuple(
        WaiverRow(
            waiver_id=u.waiver.id,
            rule_id=u.waiver.rule_id,
            severity=severities.get(u.waiver.rule_id, ""),
            selector=u.waiver.describe(),
            reason=u.waiver.reason,
            approver=u.waiver.approver,
            ticket=u.waiver.ticket,
            expires=u.waiver.expires,
            state=u.state.value,
            matched=u.matched,
            origin=u.waiver.origin,
            days_left=(u.waiver.expires - as_of).days,
        )
        for u in sorted(uses, key=lambda u: (order[u.state], u.waiver.rule_id, u.waiver.id))
    )


def waiver_overview(rows: Sequence[WaiverRow]) -> WaiverOverview:
    """What page one says about waivers: applied, waived results, expired, unmatched, expiring."""
    return WaiverOverview(
        applied=sum(r.state == WaiverState.APPLIED for r in rows),
        waived_results=sum(r.matched for r in rows if r.state == WaiverState.APPLIED),
        expired=tuple(r for r in rows if r.state == WaiverState.EXPIRED),
        unmatched=tuple(r for r in rows if r.state == WaiverState.UNMATCHED),
        expiring_soon=tuple(
            sorted(
                (
                    r
                    for r in rows
                    if r.state != WaiverState.EXPIRED and r.days_left <= EXPIRING_SOON_DAYS
                ),
                key=lambda r: (r.expires, r.waiver_id),
            )
        ),
        soon_days=EXPIRING_SOON_DAYS,
    )
