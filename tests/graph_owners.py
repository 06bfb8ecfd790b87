"""The loopback Graph server's owner endpoints: role scope tags and Entra users (with manager).

Shapes follow Microsoft's Graph reference pages:
- "List roleScopeTags" (beta only):
  https://learn.microsoft.com/graph/api/intune-rbac-rolescopetag-list?view=graph-rest-beta
  (microsoftgraph/microsoft-graph-docs-contrib
  `api-reference/beta/api/intune-rbac-rolescopetag-list.md`):
  `{"value": [{"@odata.type": "#microsoft.graph.roleScopeTag", "id", "displayName",
  "description", "isBuiltIn"}]}`; the built-in tag is `Default` with id `0`.
- "Get user": https://learn.microsoft.com/graph/api/user-get?view=graph-rest-1.0
  (`api-reference/v1.0/api/user-get.md`): `GET /users/{id | userPrincipalName}` with
  `$select` answers only the selected members and an `@odata.context` of
  `$metadata#users(<members>)/$entity`; an unknown user is 404 `Request_ResourceNotFound`.
- "List manager": https://learn.microsoft.com/graph/api/user-list-manager?view=graph-rest-1.0
  (`api-reference/v1.0/api/user-list-manager.md`): `$expand=manager($select=id,displayName)`
  embeds the manager as an object; a user without one has no `manager` member.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

SCOPE_TAGS = [
    {"@odata.type": "#microsoft.graph.roleScopeTag", "id": "0", "displayName": "Default",
     "description": "Default scope tag", "isBuiltIn": True},
    {"@odata.type": "#microsoft.graph.roleScopeTag", "id": "1", "displayName": "Finance Macs",
     "description": "Macs the finance IT team manages", "isBuiltIn": False},
    {"@odata.type": "#microsoft.graph.roleScopeTag", "id": "2", "displayName": "Lab Macs",
     "description": "Engineering lab", "isBuiltIn": False},
]  # fmt: skip
DEPARTMENTS = ("Finance", "Engineering", "Sales", "")  # "" : a user with no department
OFFICES = ("18/2111", "Building 4", "Remote")


def scope_tag_ids(index: int) -> list[str]:
    """The tags a generated Mac carries: Default, plus Finance or Lab for some."""
    return [["0"], ["0", "1"], ["2"]][index % 3]


def users(macs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """One Entra user per Mac's primary user (by id and by UPN), managed by the first user."""
    people: dict[str, dict[str, Any]] = {}
    boss: dict[str, Any] | None = None
    for i, mac in enumerate(m for m in macs if m.get("userId")):
        person = {
            "id": mac["userId"],
            "displayName": mac["userDisplayName"],
            "userPrincipalName": mac["userPrincipalName"],
            "department": DEPARTMENTS[i % len(DEPARTMENTS)] or None,
            "officeLocation": OFFICES[i % len(OFFICES)],
            "jobTitle": "Analyst",
        }
        if boss is None:
            boss = person
        else:
            person["manager"] = {
                "@odata.type": "#microsoft.graph.user",
                "id": boss["id"],
                "displayName": boss["displayName"],
                "userPrincipalName": boss["userPrincipalName"],
            }
        people[person["id"]] = person
        people[person["userPrincipalName"].casefold()] = person
    return people


def route(
    server: Any, method: str, version: str, rest: str, params: dict[str, str]
) -> tuple[int, dict[str, Any]] | None:
    """The answer for an owner endpoint, or None when `rest` is not one."""
    if method == "GET" and rest == "/deviceManagement/roleScopeTags":
        if version != "beta":  # not in v1.0
            return 400, _error("BadRequest", "Resource not found for the segment 'roleScopeTags'.")
        context = f"{server.root}/beta/$metadata#deviceManagement/roleScopeTags"
        return 200, {"@odata.context": context, "value": SCOPE_TAGS}
    match = re.fullmatch(r"/users/([^/]+)", rest)
    if method != "GET" or match is None:
        return None
    key = unquote(match.group(1))
    person = server.users.get(key) or server.users.get(key.casefold())
    if person is None or person["id"] in server.deleted_users:
        message = f"Resource '{key}' does not exist or one of its queried reference-property "
        return 404, _error("Request_ResourceNotFound", message + "objects are not present.")
    selected = [f for f in params.get("$select", "").split(",") if f] or list(person)
    body = {k: person.get(k) for k in selected if k != "manager"}
    expand = params.get("$expand", "")
    if expand.startswith("manager") and "manager" in person:
        inner = re.search(r"\$select=([^;)]*)", expand)
        fields = inner.group(1).split(",") if inner else list(person["manager"])
        body["manager"] = {k: person["manager"].get(k) for k in ["@odata.type", *fields]}
    members = ",".join(selected)
    return 200, {"@odata.context": f"{server.root}/v1.0/$metadata#users({members})/$entity", **body}


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "innerError": {}}}
