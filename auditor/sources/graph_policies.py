"""The policy parts of a Graph pull: VPP tokens, compliance settings, policies and assignments.

All v1.0 (`deviceAppManagement/vppTokens`, `deviceManagement` for its `settings`,
`deviceManagement/deviceCompliancePolicies` and each macOS policy's `assignments`). The VPP
token string (`token`) is a secret: it is dropped from every record before the snapshot holds it.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from auditor.sources.graph_parts import Part, collect, get_object, not_collected
from auditor.sources.graph_transport import GraphSession

MACOS_POLICY = "#microsoft.graph.macOSCompliancePolicy"
_SECRETS = frozenset({"token"})  # vppToken.token: the location token itself


def without_secrets(record: dict[str, Any]) -> dict[str, Any]:
    """The record without members that hold a credential."""
    return {k: v for k, v in record.items() if k not in _SECRETS}


async def policy_parts(session: GraphSession) -> list[Part]:
    """VPP tokens, compliance settings, compliance policies and the macOS ones' assignments."""
    vpp = Part("vpp_tokens", f"{session.v1}/deviceAppManagement/vppTokens")
    settings = Part("compliance_settings", f"{session.v1}/deviceManagement")
    policies = Part(
        "compliance_policies", f"{session.v1}/deviceManagement/deviceCompliancePolicies"
    )
    assignments = Part("compliance_assignments", f"{policies.endpoint}/{{id}}/assignments")

    async def get_vpp() -> None:
        await collect(session, vpp, vpp.endpoint, {})
        vpp.records = [without_secrets(r) for r in vpp.records]

    async def get_policies() -> None:
        await collect(session, policies, policies.endpoint, {})
        if policies.status != "ok" and not policies.records:
            assignments.skip(not_collected("compliance policies", policies))
            return
        for policy in policies.records:
            if policy.get("@odata.type") != MACOS_POLICY:
                continue
            url = f"{policies.endpoint}/{quote(policy['id'], safe='')}/assignments"
            await collect(session, assignments, url, {"policyId": policy["id"]})

    await asyncio.gather(get_vpp(), get_object(session, settings), get_policies())
    return [vpp, settings, policies, assignments]
