"""The portfolio's totals and its tenant groups: sums that never make the portfolio look better.

A failed or not-audited tenant has no numbers, so every sum covers only the tenants that were
audited, and says so (`is_lower_bound`: a failed, not-audited or PARTIAL tenant may hide more);
they are counted and shown, never left out. Sample-data tenants are counted but their
fictional Macs are not added in. No portfolio-wide posture percentage is made: the lowest
tenant posture is given instead, beside the number of tenants without one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from auditor.portfolio.model import TenantRow

NO_GROUP = "(no group)"
EXPIRY_SOON_DAYS = 30  # as `auditor notify`'s default horizon ([notify] expiry_days)


@dataclass(frozen=True, slots=True)
class Totals:
    """Counts over a set of tenant rows (docs/portfolio.md)."""

    tenants: int
    ok: int
    partial: int
    failed: int
    not_audited: int  # listed in the tenants file, no evidence found
    sample: int
    stale: int
    not_in_tenants_file: int  # found, but not listed in the tenants file that was given
    audited: int  # tenants with reports, sample data left out: what the sums below cover
    devices: int
    critical_failing_devices: int
    high_failing_devices: int
    overdue_critical_results: int
    overdue_high_results: int
    lowest_posture_pct: float | None
    without_posture: int  # failed and not-audited tenants, audited ones whose posture is unknown
    expiring_soon: int  # nearest expiry within EXPIRY_SOON_DAYS of the as-of date, or past
    expiry_not_collected: int  # tenants with a part of the expiry horizon not collected
    # (sample-data tenants are left out of both)
    is_lower_bound: bool  # a failed, not-audited or PARTIAL tenant: the sums may be higher


@dataclass(frozen=True, slots=True)
class Group:
    """A tenant group and its tenants (worst first); a tenant in two groups is in both."""

    name: str
    tenant_ids: tuple[str, ...]
    rows: tuple[TenantRow, ...]
    totals: Totals

    @property
    def tenants_text(self) -> str:
        """The heading's count: 1 tenant, 3 tenants."""
        count = self.totals.tenants
        return f"{count:,} tenant" + ("" if count == 1 else "s")


def _sum(values: Sequence[int | None]) -> int:
    return sum(v for v in values if v is not None)


def totals_of(rows: Sequence[TenantRow]) -> Totals:
    """The totals of `rows`."""
    audited = [r for r in rows if r.outcome in ("ok", "partial")]
    postures = [r.posture_pct for r in audited if r.posture_pct is not None]
    outcomes = [r.outcome for r in rows]
    real = [r for r in rows if r.outcome != "sample"]
    return Totals(
        tenants=len(rows),
        ok=outcomes.count("ok"),
        partial=outcomes.count("partial"),
        failed=outcomes.count("failed"),
        not_audited=outcomes.count("not_audited"),
        sample=outcomes.count("sample"),
        stale=sum(r.is_stale for r in rows),
        not_in_tenants_file=sum(r.in_tenants_file is False for r in rows),
        audited=len(audited),
        devices=_sum([r.devices for r in audited]),
        critical_failing_devices=_sum([r.critical_failing_devices for r in audited]),
        high_failing_devices=_sum([r.high_failing_devices for r in audited]),
        overdue_critical_results=_sum([r.overdue_critical_results for r in audited]),
        overdue_high_results=_sum([r.overdue_high_results for r in audited]),
        lowest_posture_pct=min(postures) if postures else None,
        without_posture=outcomes.count("failed")
        + outcomes.count("not_audited")
        + len(audited)
        - len(postures),
        expiring_soon=sum(
            r.nearest_expiry is not None and r.nearest_expiry.days_left <= EXPIRY_SOON_DAYS
            for r in real
        ),
        expiry_not_collected=sum(bool(r.expiry_not_collected) for r in real),
        is_lower_bound=any(r.outcome in ("failed", "not_audited", "partial") for r in rows),
    )


def group_rows(rows: Sequence[TenantRow]) -> tuple[Group, ...]:
    """One group per tenant group, rows in the portfolio's order (worst first).

    Groups come worst first too: by their worst tenant's place in `rows`, then by name, so
    a failed tenant heads the first group whichever group it is in. Tenants without a
    group are in NO_GROUP.
    """
    first: dict[str, int] = {}
    for position, row in enumerate(rows):
        for name in row.groups or (NO_GROUP,):
            first.setdefault(name, position)
    groups = []
    for name in sorted(first, key=lambda n: (first[n], n.casefold(), n)):
        members = tuple(r for r in rows if name in (r.groups or (NO_GROUP,)))
        groups.append(Group(name, tuple(r.tenant_id for r in members), members, totals_of(members)))
    return tuple(groups)
