"""The population, policy and owner shapes: ADE identities, VPP tokens, compliance, owners.

Owners: role scope tags (`deviceManagement/roleScopeTags`) and Entra users (`GET /users/{id}`
with `$select`/`$expand=manager`, one by one, as a list page, or as the answers of a JSON
`$batch` — `{"responses": [{"id", "status", "body"}]}`, as `auditor fetch` sends them).

Each is a Graph response as saved: a list page (`value`, `@odata.nextLink`), pages one after
another, or a single object (`GET /deviceManagement`, `GET /deviceManagement/settings`).
Identities and assignments belong to a parent (an ADE token, a policy) that only the page's
`@odata.context` names, unless the records carry it (`tokenId`, `policyId`, as the tool's
snapshot writes them). Policies saved with `$expand=assignments` carry their assignments.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from auditor.errors import SourceError
from auditor.models import BatchKind
from auditor.sources.files.records import Collector

IDENTITIES, VPP_TOKENS = BatchKind.ADE_IDENTITIES, BatchKind.VPP_TOKENS
SETTINGS, POLICIES, ASSIGNMENTS = (
    BatchKind.COMPLIANCE_SETTINGS, BatchKind.COMPLIANCE_POLICIES, BatchKind.COMPLIANCE_ASSIGNMENTS
)  # fmt: skip
SCOPE_TAGS, USERS = BatchKind.ROLE_SCOPE_TAGS, BatchKind.ENTRA_USERS
INPUT_KINDS = {
    SCOPE_TAGS: "graph-role-scope-tags",
    USERS: "graph-entra-users",
    IDENTITIES: "graph-ade-identities",
    VPP_TOKENS: "graph-vpp-tokens",
    SETTINGS: "graph-compliance-settings",
    POLICIES: "graph-compliance-policies",
    ASSIGNMENTS: "graph-compliance-assignments",
}
CONTEXT_KINDS = {  # (collection, navigation) of a deviceManagement @odata.context → kind
    ("depOnboardingSettings", "importedAppleDeviceIdentities"): IDENTITIES,
    ("deviceCompliancePolicies", ""): POLICIES,
    ("deviceCompliancePolicies", "assignments"): ASSIGNMENTS,
    ("settings", ""): SETTINGS,
    ("roleScopeTags", ""): SCOPE_TAGS,
}
PARENTS = {IDENTITIES: "tokenId", ASSIGNMENTS: "policyId"}  # the parent id a record needs
_APP_CONTEXT = re.compile(r"#deviceAppManagement/vppTokens\b")
_USERS_CONTEXT = re.compile(r"#users\b")
_USER_KEYS = frozenset({"department", "officelocation", "jobtitle", "manager", "givenname",
                        "surname", "businessphones", "manager.displayname"})  # fmt: skip
_IDENTITY_KEYS = frozenset({"discoverysource", "enrollmentstate", "requestedenrollmentprofileid"})
_POLICY_KEYS = frozenset({"storagerequireencryption", "systemintegrityprotectionenabled"})
_MANAGEMENT_KEYS = frozenset({"intuneaccountid", "subscriptionstate"})


def app_context_kind(context: str) -> BatchKind | None:
    """The kind a context outside `deviceManagement` names: VPP tokens or Entra users."""
    if _USERS_CONTEXT.search(context):
        return USERS
    return VPP_TOKENS if _APP_CONTEXT.search(context) else None


def population_kind(keys: Iterable[str], odata_type: str) -> BatchKind | None:
    """The kind of records with these members (any case) and @odata.type, or None.

    Asked before the device shapes: an identity carries `serialNumber` and `isSupervised`
    like a managed device does.
    """
    folded = {k.casefold() for k in keys}
    type_name = odata_type.rsplit(".", 1)[-1].casefold()
    if type_name == "user" or ("userprincipalname" in folded and folded & _USER_KEYS):
        return USERS
    if type_name == "rolescopetag" or {"isbuiltin", "displayname"} <= folded:
        return SCOPE_TAGS
    if type_name == "importedappledeviceidentity" or len(folded & _IDENTITY_KEYS) >= 2:
        return IDENTITIES
    if type_name == "vpptoken" or "vpptokenaccounttype" in folded:
        return VPP_TOKENS
    if type_name == "devicecompliancepolicyassignment":
        return ASSIGNMENTS
    if type_name.endswith("compliancepolicy") or folded & _POLICY_KEYS:
        return POLICIES
    if type_name == "devicemanagementsettings" or "securebydefault" in folded:
        return SETTINGS
    if type_name == "devicemanagement" or ("settings" in folded and folded & _MANAGEMENT_KEYS):
        return SETTINGS
    return None


def parent_extra(
    kind: BatchKind, parent_id: str | None, records: list[Any], where: str
) -> dict[str, str]:
    """`{"tokenId": …}` / `{"policyId": …}` for records of a child collection.

    Raises:
        SourceError: child records whose parent neither the records nor the page name.
    """
    key = PARENTS.get(kind)
    if key is None:
        return {}
    if parent_id:
        return {key: parent_id}
    if all(isinstance(r, dict) and any(k.casefold() == key.casefold() for k in r) for r in records):
        return {}
    parent = "ADE token" if kind == IDENTITIES else "compliance policy"
    raise SourceError(
        f"{where}: {kind.replace('_', ' ')} without their {parent}: save the list response "
        f"with its @odata.context (it names the {parent}), or give each record `{key}`"
        + (", or save the policies with $expand=assignments" if kind == ASSIGNMENTS else "")
    )


def add_embedded_assignments(collector: Collector, records: list[Any], where: str) -> None:
    """The assignments compliance policies carry ($expand=assignments), as their own batch.

    Only when the records carry the member: policies listed without it leave the
    assignments uncollected (a gap), never "unassigned".
    """
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            continue
        members = {k.casefold(): k for k in record}
        if "assignments" not in members or "id" not in members:
            continue
        assignments = record[members["assignments"]]
        if not isinstance(assignments, list):
            continue
        policy = {"policyId": str(record[members["id"]])}
        collector.add(ASSIGNMENTS, list(assignments), f"{where}[{i}].assignments", policy)


def batch_answers(answers: list[Any], name: str, where: str) -> list[tuple[dict[str, Any], str]]:
    """The bodies of a saved JSON `$batch`'s successful answers, each with its location.

    A 404 (the object no longer exists) carries no record; any other failed answer means
    the batch does not hold what it asked for, so it is refused rather than read in part.

    Raises:
        SourceError: An answer that is not an object, or failed other than with 404.
    """
    bodies = []
    for i, answer in enumerate(answers):
        place = f"{where}responses[{i}]"
        located = f"{name}:{place}"
        if not isinstance(answer, dict):
            raise SourceError(f"{located}: a $batch answer is not an object")
        status = answer.get("status")
        if status == 404:
            continue
        if status != 200 or not isinstance(answer.get("body"), dict):
            raise SourceError(
                f"{located}: the $batch answer has status {status} (id {answer.get('id')!r}); "
                "save a batch whose answers succeeded (a 403 means a permission is missing)"
            )
        bodies.append((answer["body"], f"{place}.body"))
    return bodies
