"""The portfolio checked against a tenants file: who should be there and is not, and who is extra.

The folders alone can only show what they hold: a tenant whose run never wrote anything is
absent, not failed. Given the tenants the file lists, a listed tenant without any evidence
becomes a NOT AUDITED row (no numbers, sorted with the failed ones), and a tenant found in the
folders that the file does not list is kept but flagged (`in_tenants_file`, a warning code).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from auditor.portfolio.model import OUTCOME_WORDS, Portfolio, TenantRow, sort_key, without_numbers
from auditor.portfolio.totals import group_rows, totals_of

NOT_AUDITED = (
    "Not audited: the tenants file lists this tenant, but no findings.json or failure.json of "
    "it (dated on or before the portfolio's as-of date) is in the folder rolled up: its run did "
    "not happen or did not finish, or its folder was not copied in"
)
NOT_IN_TENANTS_FILE = "not_in_tenants_file"  # the warning code of a tenant the file does not list


@dataclass(frozen=True, slots=True)
class ExpectedTenant:
    """A tenant the tenants file lists: the portfolio expects evidence of it."""

    name: str
    tenant_id: str
    display_name: str
    groups: tuple[str, ...]


def _key(tenant_id: str) -> str:
    return tenant_id.strip().lower()  # as collect.tenant_key compares tenant ids


def not_audited_row(tenant: ExpectedTenant) -> TenantRow:
    """A listed tenant without any evidence: who it is (from the file), and no numbers at all."""
    return TenantRow(
        name=tenant.name,
        display_name=tenant.display_name or tenant.name,
        tenant_id=tenant.tenant_id,
        groups=tenant.groups,
        outcome="not_audited",
        outcome_label=OUTCOME_WORDS["not_audited"],
        period=None,
        as_of=None,
        is_stale=False,  # counted as not audited, not as behind
        last_successful_audit=None,
        last_complete_audit=None,
        folder=None,
        links=(),
        error=NOT_AUDITED,
        error_type=None,
        exit_code=None,
        failed_at=None,
        in_tenants_file=True,
        **without_numbers("not audited"),
    )


def with_tenants_file(portfolio: Portfolio, expected: Sequence[ExpectedTenant]) -> Portfolio:
    """`portfolio` with every listed tenant in it (NOT AUDITED when absent), unlisted ones flagged.

    Rows, groups and totals are made again from the checked rows, in the portfolio's order.
    """
    listed = {_key(t.tenant_id) for t in expected}
    rows = []
    for row in portfolio.rows:
        is_listed = _key(row.tenant_id) in listed
        warnings = row.warnings if is_listed else (*row.warnings, NOT_IN_TENANTS_FILE)
        rows.append(replace(row, in_tenants_file=is_listed, warnings=warnings))
    found = {_key(row.tenant_id) for row in portfolio.rows}
    rows += [not_audited_row(t) for t in expected if _key(t.tenant_id) not in found]
    ordered = tuple(sorted(rows, key=sort_key))
    return replace(
        portfolio,
        rows=ordered,
        groups=group_rows(ordered),
        totals=totals_of(ordered),
        expected_tenants=len(expected),
    )
