"""The owner parts of a Graph pull: role scope tag names and the primary users in Entra.

`role_scope_tags` lists `deviceManagement/roleScopeTags` (beta only, DeviceManagementRBAC.Read.All)
so the `roleScopeTagIds` each Mac carries (beta, per-device details) read as names.
`entra_users` (only when `[owners] entra_lookup = true`) GETs each primary user by id in JSON
`$batch`es with `$select=department,officeLocation,…&$expand=manager(…)` (User.Read.All).
A denied or failed part is a gap, never an error; a user Entra no longer has (404) is left out
of the records and named in the part's note (normalize notes the Macs whose owner is gone).
"""

from __future__ import annotations

from typing import Any

from auditor.sources.graph_devices import fetch_all_by_id
from auditor.sources.graph_parts import Part, collect, not_collected
from auditor.sources.graph_transport import GraphSession

USER_FIELDS = ("id", "displayName", "userPrincipalName", "department", "officeLocation")
MANAGER_EXPAND = "manager($select=id,displayName,userPrincipalName)"
_NO_USER = frozenset({"", "00000000-0000-0000-0000-000000000000"})


async def role_scope_tags(session: GraphSession) -> Part:
    """Every role scope tag (id, displayName), to name the tags each Mac carries."""
    tags = Part("role_scope_tags", f"{session.beta}/deviceManagement/roleScopeTags")
    await collect(session, tags, tags.endpoint, {})
    return tags


def user_keys(devices: list[dict[str, Any]]) -> list[str]:
    """The distinct primary users of the listed Macs: `userId`, else the UPN; sorted."""
    keys = set()
    for device in devices:
        user_id = str(device.get("userId") or "").strip()
        upn = str(device.get("userPrincipalName") or "").strip()
        if user_id not in _NO_USER:
            keys.add(user_id)
        elif upn:
            keys.add(upn)
    return sorted(keys)


async def entra_users(session: GraphSession, listing: Part, concurrency: int) -> Part:
    """The listed Macs' primary users in Entra: department, office and manager."""
    users = Part("entra_users", f"{session.v1}/users/{{id}}")
    if listing.status not in ("ok", "partial"):
        users.skip(not_collected("the Macs", listing))
        return users
    keys = user_keys(listing.records)
    await fetch_all_by_id(
        session, session.v1, USER_FIELDS, keys, users, lambda _: None, concurrency,
        collection="/users", expand=MANAGER_EXPAND,
        not_found="not found in Entra (the user was deleted?)",
    )  # fmt: skip
    gone = sorted(f["id"] for f in users.failures if f.get("status") == 404)
    users.failures = [f for f in users.failures if f.get("status") != 404]
    if gone:
        users.note = (
            f"{len(gone)} primary user(s) not found in Entra (deleted?): "
            + ", ".join(gone[:5])
            + (f" … (+{len(gone) - 5})" if len(gone) > 5 else "")
        )
    users.settle(requested=len(keys))
    return users
