"""The loopback Graph server's population and policy endpoints (used by tests/graph_server.py).

Shapes follow Microsoft's Graph reference pages (microsoftgraph/microsoft-graph-docs-contrib):
`api-reference/beta/api/intune-enrollment-importedappledeviceidentity-list.md`,
`api-reference/v1.0/api/intune-onboarding-vpptoken-list.md`,
`api-reference/v1.0/api/intune-deviceconfig-devicemanagement-get.md`,
`api-reference/v1.0/api/intune-deviceconfig-macoscompliancepolicy-list.md` and
`api-reference/v1.0/api/intune-deviceconfig-devicecompliancepolicyassignment-list.md`.
Every list pages through `@odata.nextLink` (`$skiptoken=pageN`) at the server's page size.

The identities follow the server's Macs: every ADE-enrolled Mac's serial, plus the serials of
the first Macs enrolled another way (`ESCAPED`), serials no Mac carries (`NEVER_ENROLLED`,
imported long ago; `RECENT`, inside the 14-day grace), one deleted in ABM and iPhones.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

ESCAPED = 2  # Macs enrolled outside ADE whose serials ABM assigns to the tenant
NEVER_ENROLLED = ("C02NEVER0001", "C02NEVER0002", "C02NEVER0003")
RECENT = "C02RECENT001"
DELETED = "C02DELETED01"
IPHONES = ("F2LPHONE0001", "F2LPHONE0002")
VPP_SECRET = "eyJ2cHAtdG9rZW4iOiJTRUNSRVQtVlBQLUxPQ0FUSU9OLVRPS0VOIn0="
VPP_TOKENS = [
    {
        "@odata.type": "#microsoft.graph.vppToken",
        "id": "5e1f0a2b-7c3d-4e5f-8a9b-0c1d2e3f4a5b",
        "organizationName": "Contoso Ltd",
        "vppTokenAccountType": "business",
        "appleId": "apps@contoso.example",
        "expirationDateTime": "2027-03-01T10:00:00Z",
        "lastSyncDateTime": "2026-08-31T21:04:00Z",
        "token": VPP_SECRET,
        "lastModifiedDateTime": "2026-03-01T10:00:00Z",
        "state": "valid",
        "lastSyncStatus": "completed",
        "automaticallyUpdateApps": True,
        "countryOrRegion": "us",
    },
    {
        "@odata.type": "#microsoft.graph.vppToken",
        "id": "6f2a1b3c-8d4e-4f60-9bac-1d2e3f4a5b6c",
        "organizationName": "Contoso Labs",
        "vppTokenAccountType": "education",
        "appleId": "lab-apps@contoso.example",
        "expirationDateTime": "2026-09-20T10:00:00Z",
        "lastSyncDateTime": "2026-08-10T09:00:00Z",
        "token": VPP_SECRET,
        "lastModifiedDateTime": "2025-09-20T10:00:00Z",
        "state": "valid",
        "lastSyncStatus": "failed",
        "automaticallyUpdateApps": False,
        "countryOrRegion": "us",
    },
]
DEVICE_MANAGEMENT = {
    "@odata.type": "#microsoft.graph.deviceManagement",
    "id": "0b283420-3420-0b28-2034-280b2034280b",
    "settings": {
        "@odata.type": "microsoft.graph.deviceManagementSettings",
        "deviceComplianceCheckinThresholdDays": 30,
        "isScheduledActionEnabled": True,
        "secureByDefault": False,
    },
    "intuneAccountId": "cf1549a1-49a1-cf15-a149-15cfa14915cf",
    "subscriptionState": "active",
}
_MAC_POLICY = "#microsoft.graph.macOSCompliancePolicy"


def _policy(policy_id: str, name: str, **settings: Any) -> dict[str, Any]:
    defaults = {
        "passwordRequired": True, "passwordBlockSimple": True, "passwordMinimumLength": 8,
        "passwordRequiredType": "alphanumeric", "osMinimumVersion": None,
        "osMaximumVersion": None, "systemIntegrityProtectionEnabled": True,
        "deviceThreatProtectionEnabled": False,
        "deviceThreatProtectionRequiredSecurityLevel": "unavailable",
        "storageRequireEncryption": False, "firewallEnabled": True,
        "firewallBlockAllIncoming": False, "firewallEnableStealthMode": False,
    }  # fmt: skip
    return {
        "@odata.type": _MAC_POLICY,
        "id": policy_id,
        "createdDateTime": "2025-11-03T09:12:44Z",
        "description": "",
        "lastModifiedDateTime": "2026-05-20T14:02:10Z",
        "displayName": name,
        "version": 3,
        **defaults,
        **settings,
    }


POLICIES = [
    _policy("a1b2c3d4-0001-4e5f-8a9b-0c1d2e3f4a51", "macOS baseline",
            storageRequireEncryption=True, osMinimumVersion="14.0"),
    _policy("a1b2c3d4-0002-4e5f-8a9b-0c1d2e3f4a52", "macOS legacy lab",
            osMinimumVersion="13.0"),
    _policy("a1b2c3d4-0003-4e5f-8a9b-0c1d2e3f4a53", "macOS draft (unassigned)",
            storageRequireEncryption=True),
    {"@odata.type": "#microsoft.graph.windows10CompliancePolicy",
     "id": "a1b2c3d4-0004-4e5f-8a9b-0c1d2e3f4a54", "displayName": "Windows baseline",
     "createdDateTime": "2025-11-03T09:12:44Z", "lastModifiedDateTime": "2026-05-20T14:02:10Z",
     "version": 1, "bitLockerEnabled": True},
]  # fmt: skip
ASSIGNMENTS = {
    POLICIES[0]["id"]: [
        {"@odata.type": "#microsoft.graph.deviceCompliancePolicyAssignment",
         "id": f"{POLICIES[0]['id']}_0c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f",
         "target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget",
                    "groupId": "0c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f"}},
        {"@odata.type": "#microsoft.graph.deviceCompliancePolicyAssignment",
         "id": f"{POLICIES[0]['id']}_1d2e3f4a-5b6c-7d8e-9f0a-1b2c3d4e5f60",
         "target": {"@odata.type": "#microsoft.graph.exclusionGroupAssignmentTarget",
                    "groupId": "1d2e3f4a-5b6c-7d8e-9f0a-1b2c3d4e5f60"}},
    ],
    POLICIES[1]["id"]: [
        {"@odata.type": "#microsoft.graph.deviceCompliancePolicyAssignment",
         "id": f"{POLICIES[1]['id']}_adadadad-808e-44e2-905a-0b7873a8a531",
         "target": {"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget"}},
    ],
    POLICIES[2]["id"]: [],
    POLICIES[3]["id"]: [
        {"@odata.type": "#microsoft.graph.deviceCompliancePolicyAssignment",
         "id": f"{POLICIES[3]['id']}_acacacac-9df4-4c7d-9d50-4ef0226f57a9",
         "target": {"@odata.type": "#microsoft.graph.allLicensedUsersAssignmentTarget"}},
    ],
}  # fmt: skip


def _identity(serial: str, number: int, created: str, **values: Any) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.importedAppleDeviceIdentity",
        "id": f"{number:08x}-3c2f-352e-2f3c-2e352f3c2e35",
        "serialNumber": serial,
        "requestedEnrollmentProfileId": None,
        "requestedEnrollmentProfileAssignmentDateTime": None,
        "isSupervised": False,
        "discoverySource": "deviceEnrollmentProgram",
        "isDeleted": False,
        "createdDateTime": created,
        "lastContactedDateTime": "0001-01-01T00:00:00Z",
        "description": None,
        "enrollmentState": "notContacted",
        "platform": "macOS",
        **values,
    }


def identities(macs: list[dict[str, Any]], token_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Per ADE token id, its imported Apple device identities (all on the first token)."""
    ade = [m for m in macs if m["deviceEnrollmentType"].startswith("appleBulk")]
    escaped = [m for m in macs if not m["deviceEnrollmentType"].startswith("appleBulk")]
    main = [
        _identity(m["serialNumber"], i, "2025-06-01T08:00:00Z", enrollmentState="enrolled",
                  isSupervised=True, lastContactedDateTime=m["lastSyncDateTime"])
        for i, m in enumerate([*ade, *escaped[:ESCAPED]])
    ]  # fmt: skip
    n = len(main)
    main += [_identity(s, n + i, "2026-02-10T08:00:00Z") for i, s in enumerate(NEVER_ENROLLED)]
    main.append(_identity(RECENT, n + 10, "2026-08-28T08:00:00Z"))
    main.append(_identity(DELETED, n + 11, "2025-03-01T08:00:00Z", isDeleted=True))
    main += [
        _identity(s, n + 20 + i, "2026-01-05T08:00:00Z", platform="ios")
        for i, s in enumerate(IPHONES)
    ]
    return {token_id: main if i == 0 else [] for i, token_id in enumerate(token_ids)}


def route(
    server: Any, method: str, version: str, rest: str, params: dict[str, str]
) -> tuple[int, dict[str, Any]] | None:
    """(status, JSON body) for a population or policy request, or None for another route."""
    if method != "GET":
        return None
    base = f"{server.root}/{version}"
    path = rest.rstrip("/")
    if path.startswith("/deviceManagement/depOnboardingSettings/") and path.endswith(
        "/importedAppleDeviceIdentities"
    ):
        token_id = path.split("/")[3]
        known = server.imported_identities
        if version != "beta" or token_id not in known:
            return 404, _not_found(rest)
        context = (
            f"deviceManagement/depOnboardingSettings('{token_id}')/importedAppleDeviceIdentities"
        )
        return _page(server, known[token_id], base, path, context, params)
    if path == "/deviceAppManagement/vppTokens":
        return _page(server, VPP_TOKENS, base, path, "deviceAppManagement/vppTokens", params)
    if path == "/deviceManagement":
        return 200, {"@odata.context": f"{base}/$metadata#deviceManagement", **DEVICE_MANAGEMENT}
    if path == "/deviceManagement/deviceCompliancePolicies":
        context = "deviceManagement/deviceCompliancePolicies"
        return _page(server, POLICIES, base, path, context, params)
    if path.startswith("/deviceManagement/deviceCompliancePolicies/") and path.endswith(
        "/assignments"
    ):
        policy_id = path.split("/")[3]
        if policy_id not in ASSIGNMENTS:
            return 404, _not_found(rest)
        context = f"deviceManagement/deviceCompliancePolicies('{policy_id}')/assignments"
        return _page(server, ASSIGNMENTS[policy_id], base, path, context, params)
    return None


def _page(
    server: Any,
    records: list[dict[str, Any]],
    base: str,
    path: str,
    context: str,
    params: dict[str, str],
) -> tuple[int, dict[str, Any]]:
    size = server.page_size
    page = int(params.get("$skiptoken", "page0").removeprefix("page") or 0)
    body: dict[str, Any] = {
        "@odata.context": f"{base}/$metadata#{context}",
        "value": records[page * size : (page + 1) * size],
    }
    if (page + 1) * size < len(records):
        body["@odata.nextLink"] = f"{base}{quote(path)}?$skiptoken=page{page + 1}"
    return 200, body


def _not_found(rest: str) -> dict[str, Any]:
    return {"error": {"code": "ResourceNotFound", "message": f"not found: {rest}"}}
