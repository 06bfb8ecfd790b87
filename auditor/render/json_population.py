"""findings.json's blocks for `population`, `tenant.vpp_tokens` and `tenant.compliance`.

Shapes in docs/findings-json.md; timestamps as `stamp` writes them, like the rest of the file.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from auditor.report import Report


def stamp(value: Any) -> str | None:
    """A timestamp as `YYYY-MM-DDTHH:MM:SSZ` (UTC), or None."""
    if value is None:
        return None
    return f"{value.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}"


def vpp_token_list(report: Report) -> list[dict[str, Any]]:
    """`tenant.vpp_tokens`: one object per VPP (Apps and Books) token."""
    tenant = report.tenant
    return [
        {
            "token_id": t.token_id,
            "name": t.name,
            "apple_id": t.apple_id,
            "expires_at": stamp(t.expires_at),
            "last_sync_at": stamp(t.last_sync_at),
            "last_sync_status": t.last_sync_status,
            "state": t.state,
        }
        for t in tenant.vpp_tokens
    ]


def compliance_block(report: Report) -> dict[str, Any] | None:
    """`tenant.compliance`: the compliance settings and the macOS compliance policies."""
    coverage = report.tenant.compliance
    if coverage is None:
        return None
    return {
        "secure_by_default": coverage.secure_by_default,
        "validity_days": coverage.validity_days,
        "macos_policies": coverage.policies,
        "macos_policies_assigned": coverage.assigned,
        "filevault_policies": coverage.filevault_policies,
        "filevault_policy_assigned": coverage.filevault_assigned,
        "policies": [
            {
                "policy_id": p.policy_id,
                "name": p.name,
                "is_assigned": p.is_assigned,
                "targets": p.targets,
                "requires_filevault": p.requires_filevault,
                "os_minimum_version": p.os_minimum_version,
                "os_minimum_build": p.os_minimum_build,
            }
            for p in coverage.rows
        ],
        "gaps": list(coverage.gaps),
    }


def population_block(report: Report) -> dict[str, Any]:
    """The `population` object: the Macs ABM assigns, enrolled or not (they reconcile)."""
    population = report.population
    return {
        "collected": population.is_collected,
        "complete": population.is_complete,
        "assigned": population.assigned,
        "enrolled": population.enrolled,
        "enrolled_via_ade": population.enrolled_via_ade,
        "enrolled_otherwise": population.enrolled_otherwise,
        "enrolled_method_unknown": population.enrolled_method_unknown,
        "not_enrolled": population.not_enrolled,
        "never_enrolled": population.never_enrolled,
        "deleted_in_abm": population.deleted_in_abm,
        "platform_not_reported": population.platform_not_reported,
        "managed_not_in_abm": population.managed_not_in_abm,
        "devices_without_serial": population.devices_without_serial,
        "tokens": [
            {
                "token_name": t.token_name,
                "assigned": t.assigned,
                "enrolled_via_ade": t.enrolled_via_ade,
                "enrolled_otherwise": t.enrolled_otherwise,
                "not_enrolled": t.not_enrolled,
            }
            for t in population.tokens
        ],
        "gaps": list(population.gaps),
    }
