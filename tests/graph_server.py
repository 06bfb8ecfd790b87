"""A Microsoft-Graph-shaped HTTP server on 127.0.0.1 that the real msgraph-sdk talks to in tests.

It serves seeded, generated Macs (plus a few Windows PCs that `$filter` must exclude) the way
Intune does: v1.0 lists paged through `@odata.nextLink` with `$select` checked against the v1.0
schema, beta single GETs that alone carry `bootstrapTokenEscrowed` / `hardwareInformation`, the
reports export job (notStarted → inProgress → completed → ZIP at a SAS-style URL), the APNs
certificate, ADE tokens with their enrollment profiles and imported device identities,
enrollment restrictions, VPP tokens and compliance policies (graph_population.py), role scope
tags and Entra users with their managers (graph_owners.py). Faults are
injected per test (429/503/403/404/401, malformed pages, nextLink loops, slow responses, devices
the list skips) and Intune's per-app rate limit can be emulated.

Use in tests::

    with serve(devices=30, page_size=7) as graph:
        settings = GraphSettings(graph_url=graph.url)

Run standalone (for end-to-end or benchmark runs); prints the v1.0 root URL on its first line:

    python tests/graph_server.py --devices 20000 --rate-limit 2000 --window 0.4
"""

from __future__ import annotations

import argparse
import base64
import csv
import http.client
import io
import json
import math
import random
import re
import sys
import threading
import time
import uuid
import zipfile
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import graph_owners
import graph_population
import orjson

# managedDevice properties of the v1.0 schema (msgraph-sdk 1.65 model); $select outside → 400.
V1_FIELDS = frozenset(
    [
        "id",
        "activationLockBypassCode",
        "androidSecurityPatchLevel",
        "azureADDeviceId",
        "azureADRegistered",
        "complianceGracePeriodExpirationDateTime",
        "complianceState",
        "deviceCategoryDisplayName",
        "deviceEnrollmentType",
        "deviceName",
        "deviceRegistrationState",
        "easActivated",
        "easDeviceId",
        "emailAddress",
        "enrolledDateTime",
        "enrollmentProfileName",
        "ethernetMacAddress",
        "exchangeAccessState",
        "freeStorageSpaceInBytes",
        "iccid",
        "imei",
        "isEncrypted",
        "isSupervised",
        "jailBroken",
        "lastSyncDateTime",
        "managedDeviceName",
        "managedDeviceOwnerType",
        "managementAgent",
        "managementCertificateExpirationDate",
        "managementState",
        "manufacturer",
        "meid",
        "model",
        "notes",
        "operatingSystem",
        "osVersion",
        "phoneNumber",
        "physicalMemoryInBytes",
        "requireUserEnrollmentApproval",
        "serialNumber",
        "subscriberCarrier",
        "totalStorageSpaceInBytes",
        "udid",
        "userDisplayName",
        "userId",
        "userPrincipalName",
        "wiFiMacAddress",
    ]
)
BETA_ONLY_FIELDS = frozenset(
    [
        "bootstrapTokenEscrowed",
        "hardwareInformation",
        "enrolledByUserPrincipalName",
        "roleScopeTagIds",
        "processorArchitecture",
        "securityPatchLevel",
        "ownerType",
        "deviceType",
        "chassisType",
        "joinType",
    ]
)
# Fields Intune returns as defaults in list calls; only a GET by id with $select has them.
SINGLE_GET_DEFAULTS: dict[str, Any] = {
    "udid": None,
    "ethernetMacAddress": None,
    "physicalMemoryInBytes": 0,
    "notes": None,
    "bootstrapTokenEscrowed": False,
    "hardwareInformation": {"serialNumber": None, "productName": None, "isSupervised": False},
}
EXPORT_COLUMNS = [
    "DeviceId",
    "DeviceName",
    "SerialNumber",
    "OS",
    "OSVersion",
    "DeviceType",
    "EnrollmentType",
    "OwnerType",
    "UserApprovedEnrollment",
    "SupervisedStatus",
    "SupervisedStatusString",
    "EnrolledByUser",
    "UPN",
    "CreatedDate",
    "LastContact",
    "ManagementAgents",
    "Model",
    "Manufacturer",
]

# The headers the export job answers with for requested columns ("display" headers): the
# DevicesWithInventory table of MicrosoftDocs/memdocs
# intune/intune-service/fundamentals/reports-export-graph-available-reports.md, and a real
# `Devices` export (MG-Cloudflow/MSGraph-Examples
# GraphApi-Reports/reports/13062024/Devices_3be707eb-9b44-4768-97f7-e2c89134750b.csv, requested
# by GraphApi-Reports/Reports-Demo.ps1) that received "Device name", "Ownership", "OS version",
# "Last check-in", "Primary user UPN", "Device ID". Columns without a documented display name
# keep their requested name.
DISPLAY_HEADERS = {
    "DeviceId": "Device ID", "DeviceName": "Device name", "SerialNumber": "Serial number",
    "OSVersion": "OS version", "OwnerType": "Ownership", "UPN": "Primary user UPN",
    "CreatedDate": "Enrollment date", "LastContact": "Last check-in",
}  # fmt: skip

_MODELS = (  # (model, productName, arch, share)
    ("MacBook Pro", "MacBookPro18,3", "arM64", 30),
    ("MacBook Air", "Mac14,2", "arM64", 30),
    ("MacBook Pro", "MacBookPro16,1", "x64", 10),
    ("iMac", "iMac21,1", "arM64", 8),
    ("Mac mini", "Mac14,3", "arM64", 8),
    ("Mac Studio", "Mac13,1", "arM64", 4),
    ("MacBook Air", "MacBookAir8,1", "x64", 6),
    ("VMware Virtual Platform", "VMware7,1", "x64", 2),
    ("Virtual Machine", "VirtualMac2,1", "arM64", 2),
)
_OS = ("15.6.1 (24G90)", "15.5 (24F74)", "14.7.8 (23H730)", "14.6.1 (23G93)", "13.7.8 (22H730)",
       "12.7.6 (21H1320)", "26.0 (25A354)")  # fmt: skip
_ENROLL = (  # (deviceEnrollmentType, profile, supervised, owner, share)
    ("appleBulkWithUser", "Corporate Macs ADE", True, "company", 55),
    ("appleBulkWithoutUser", "Shared Macs ADE", True, "company", 10),
    ("appleBulkWithoutUser", "", False, "company", 5),
    ("userEnrollment", "", False, "personal", 20),
    ("deviceEnrollmentManager", "", False, "company", 5),
    ("appleUserEnrollment", "", False, "personal", 5),
)


Answer = tuple[int, dict[str, str], "bytes | dict[str, Any]"]  # JSON bodies encoded at the edge


@dataclass
class Fault:
    """One injected response: requests whose `METHOD path?query` matches `pattern` get it.

    `times` is how many matching requests it answers (None: all). `delay_s` sleeps first, with
    status 0 meaning "then answer normally" (a slow response). `body` replaces the JSON error.
    `cut_body` answers normally but drops the connection halfway through the body (HTTP level
    only, not inside a $batch).
    """

    pattern: str
    status: int
    times: int | None = 1
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    delay_s: float = 0.0
    hits: int = 0
    cut_body: bool = False


_CUT_BODY = "x-test-cut-body"  # internal marker from GraphServer.handle to the handler


@dataclass(frozen=True)
class Wire:
    """One HTTP request as it arrived (a $batch is one), with every header."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    status: int


@dataclass(frozen=True)
class Seen:
    """A request the server received (for assertions)."""

    method: str
    path: str
    query: str
    authorization: str | None
    status: int


def make_devices(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """`count` realistic macOS managedDevice objects (beta superset of fields), deterministic."""
    rng = random.Random(seed)
    start = datetime(2026, 8, 31, 12, 0, tzinfo=UTC)
    devices = []
    for i in range(count):
        model, product, arch, _ = rng.choices(_MODELS, weights=[m[3] for m in _MODELS])[0]
        kind, profile, supervised, owner, _ = rng.choices(_ENROLL, weights=[e[4] for e in _ENROLL])[
            0
        ]
        serial = "".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", k=10))
        user = f"user{i:05d}@contoso.example"
        has_user = kind != "appleBulkWithoutUser"
        enrolled = start - timedelta(days=rng.randint(1, 900), seconds=rng.randint(0, 86399))
        synced = start - timedelta(hours=rng.randint(0, 24 * 60))
        total = rng.choice((256, 512, 1024)) * 1_000_000_000
        cert_expiry = enrolled + timedelta(days=365)
        devices.append(
            {
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "deviceName": f"{user.split('@')[0]}-mac" if has_user else f"MAC-{serial[-6:]}",
                "managedDeviceName": f"{user.split('@')[0]}_MacOS_{enrolled:%m/%d/%Y}",
                "serialNumber": serial,
                "model": model,
                "manufacturer": "Apple",
                "operatingSystem": "macOS",
                "osVersion": rng.choice(_OS),
                "enrolledDateTime": f"{enrolled:%Y-%m-%dT%H:%M:%SZ}",
                "lastSyncDateTime": f"{synced:%Y-%m-%dT%H:%M:%SZ}",
                "managedDeviceOwnerType": owner,
                "deviceEnrollmentType": kind,
                "managementAgent": "mdm",
                "managementState": "managed",
                "isSupervised": supervised,
                "isEncrypted": rng.random() < 0.9,
                "complianceState": rng.choice(
                    ("compliant", "compliant", "noncompliant", "inGracePeriod")
                ),
                "userPrincipalName": user if has_user else "",
                "userDisplayName": f"User {i}" if has_user else "",
                "userId": str(uuid.UUID(int=rng.getrandbits(128), version=4)) if has_user else "",
                "emailAddress": user if has_user else "",
                "azureADDeviceId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "enrollmentProfileName": profile,
                "deviceRegistrationState": "registered",
                "deviceCategoryDisplayName": "Unknown category",
                "totalStorageSpaceInBytes": total,
                "freeStorageSpaceInBytes": total // rng.randint(2, 9),
                "managementCertificateExpirationDate": f"{cert_expiry:%Y-%m-%dT%H:%M:%SZ}",
                "wiFiMacAddress": "".join(rng.choices("0123456789abcdef", k=12)),
                "requireUserEnrollmentApproval": None,
                "jailBroken": "Unknown",
                "udid": "".join(rng.choices("0123456789ABCDEF", k=25)),
                "ethernetMacAddress": None,
                "physicalMemoryInBytes": rng.choice((8, 16, 32)) * 1024**3,
                "notes": None,
                "bootstrapTokenEscrowed": supervised and rng.random() < 0.85,
                "enrolledByUserPrincipalName": user if kind == "deviceEnrollmentManager" else "",
                "roleScopeTagIds": graph_owners.scope_tag_ids(i),
                "processorArchitecture": arch,
                "securityPatchLevel": "",
                "ownerType": owner,
                "deviceType": "macMDM",
                "chassisType": "laptop" if "Book" in model else "desktop",
                "joinType": "unknown",
                "hardwareInformation": {
                    "serialNumber": serial,
                    "model": model,
                    "manufacturer": "Apple",
                    "productName": product,
                    "isSupervised": supervised,
                    "isEncrypted": True,
                    "totalStorageSpace": total,
                    "freeStorageSpace": total // 3,
                    "operatingSystemLanguage": "en_US",
                    "ipAddressV4": f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}",
                    "batteryHealthPercentage": rng.randint(70, 100) if "Book" in model else 0,
                },
                "_userApproved": rng.random() < 0.97,
            }
        )
    return devices


def make_windows(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """Windows PCs that share the tenant: `$filter=operatingSystem eq 'macOS'` must drop them."""
    rng = random.Random(seed + 1)
    return [
        {
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "deviceName": f"PC-{i:05d}",
            "serialNumber": f"PF{i:08d}",
            "model": "ThinkPad X1",
            "manufacturer": "Lenovo",
            "operatingSystem": "Windows",
            "osVersion": "10.0.22631.4037",
            "deviceEnrollmentType": "windowsAzureADJoin",
            "managedDeviceOwnerType": "company",
            "isSupervised": False,
            "deviceType": "windowsRT",
            "_userApproved": False,
        }
        for i in range(count)
    ]


def display_row(device: dict[str, Any]) -> dict[str, str]:
    """The row as the real display-header export writes it: text ownership, .NET times.

    The MG-Cloudflow export reads "Corporate" under Ownership and times such as
    `2024-06-13 17:03:05.9184364` (UTC, seven fraction digits).
    """
    row = export_row(device)
    row["OwnerType"] = {"company": "Corporate", "personal": "Personal"}.get(
        device["managedDeviceOwnerType"], "Unknown"
    )
    for column in ("CreatedDate", "LastContact"):
        if row[column]:
            row[column] = row[column].rstrip("Z").replace("T", " ") + ".0000000"
    return row


def export_row(device: dict[str, Any]) -> dict[str, str]:
    """The `Devices` export report row for one device (value encodings are assumptions [U])."""
    is_mac = device["operatingSystem"] == "macOS"
    return {
        "DeviceId": device["id"],
        "DeviceName": device["deviceName"],
        "SerialNumber": device["serialNumber"],
        "OS": "macOS" if is_mac else "Windows",
        "OSVersion": device["osVersion"].split(" ")[0],
        "DeviceType": "MacMDM" if is_mac else "WindowsRT",
        "EnrollmentType": device["deviceEnrollmentType"],
        "OwnerType": device["managedDeviceOwnerType"],
        "UserApprovedEnrollment": str(device["_userApproved"]),
        "SupervisedStatus": str(device["isSupervised"]),
        "SupervisedStatusString": "Supervised" if device["isSupervised"] else "Not supervised",
        "EnrolledByUser": device.get("userPrincipalName", ""),
        "UPN": device.get("userPrincipalName", ""),
        "CreatedDate": device.get("enrolledDateTime", ""),
        "LastContact": device.get("lastSyncDateTime", ""),
        "ManagementAgents": "mdm",
        "Model": device["model"],
        "Manufacturer": device["manufacturer"],
    }


TENANT_ID = "8d2c1b7e-5a4f-4c3b-9e1d-2f6a7b8c9d0e"
APNS = {
    "id": "5a7c8b0d-9d0c-4a3e-8b4f-0c1d2e3f4a5b",
    "appleIdentifier": "mdm-admin@contoso.example",
    "topicIdentifier": "com.apple.mgmt.External.0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    "lastModifiedDateTime": "2025-10-02T08:15:00Z",
    "expirationDateTime": "2026-10-02T08:14:59Z",
    "certificateUploadStatus": None,
    "certificateUploadFailureReason": None,
    "certificateSerialNumber": "6A0F3D2C1B0A9988",
}
ADE_TOKENS = [
    {
        "id": "c0a1b2c3-d4e5-4f60-8a1b-2c3d4e5f6071",
        "appleIdentifier": "abm-admin@contoso.example",
        "tokenExpirationDateTime": "2027-01-15T10:00:00Z",
        "lastModifiedDateTime": "2026-01-15T10:00:00Z",
        "lastSuccessfulSyncDateTime": "2026-08-31T03:00:00Z",
        "lastSyncTriggeredDateTime": "2026-08-31T03:00:00Z",
        "shareTokenWithSchoolDataSyncService": False,
        "lastSyncErrorCode": 0,
        "tokenType": "dep",
        "tokenName": "Contoso ABM",
        "syncedDeviceCount": 1200,
        "dataSharingConsentGranted": True,
        "roleScopeTagIds": ["0"],
    },
    {
        "id": "d1b2c3d4-e5f6-4071-9b2c-3d4e5f607182",
        "appleIdentifier": "asm-admin@contoso.example",
        "tokenExpirationDateTime": "2026-09-20T10:00:00Z",
        "lastModifiedDateTime": "2025-09-20T10:00:00Z",
        "lastSuccessfulSyncDateTime": "2026-07-01T03:00:00Z",
        "lastSyncTriggeredDateTime": "2026-08-31T03:00:00Z",
        "shareTokenWithSchoolDataSyncService": False,
        "lastSyncErrorCode": 11,
        "tokenType": "appleSchoolManager",
        "tokenName": "Lab ASM",
        "syncedDeviceCount": 40,
        "dataSharingConsentGranted": True,
        "roleScopeTagIds": ["0"],
    },
]
ADE_PROFILES = {
    ADE_TOKENS[0]["id"]: [
        {"@odata.type": "#microsoft.graph.depMacOSEnrollmentProfile",
         "id": f"{ADE_TOKENS[0]['id']}_a1", "displayName": "Corporate Macs ADE",
         "requiresUserAuthentication": True, "isDefault": True, "profileRemovalDisabled": True,
         "awaitDeviceConfiguredConfirmation": True, "enableAuthenticationViaCompanyPortal": False},
        {"@odata.type": "#microsoft.graph.depMacOSEnrollmentProfile",
         "id": f"{ADE_TOKENS[0]['id']}_a2", "displayName": "Shared Macs ADE",
         "requiresUserAuthentication": False, "isDefault": False, "profileRemovalDisabled": True},
    ],
    ADE_TOKENS[1]["id"]: [],
}  # fmt: skip
ENROLLMENT_CONFIGURATIONS = [
    {
        "@odata.type": "#microsoft.graph.deviceEnrollmentPlatformRestrictionsConfiguration",
        "id": "2e0f3b1c_DefaultPlatformRestrictions",
        "displayName": "All users and all devices",
        "priority": 0,
        "deviceEnrollmentConfigurationType": "defaultPlatformRestrictions",
        "macOSRestriction": {"platformBlocked": False, "personalDeviceEnrollmentBlocked": True,
                             "osMinimumVersion": None, "osMaximumVersion": None},
        "iosRestriction": {"platformBlocked": False, "personalDeviceEnrollmentBlocked": False},
    },
    {
        "@odata.type": "#microsoft.graph.deviceEnrollmentPlatformRestrictionConfiguration",
        "id": "7b1c2d3e_SinglePlatformRestriction",
        "displayName": "Macs for contractors",
        "priority": 1,
        "deviceEnrollmentConfigurationType": "singlePlatformRestriction",
        "platformType": "mac",
        "platformRestriction": {"platformBlocked": False, "personalDeviceEnrollmentBlocked": False,
                                "blockedManufacturers": [], "blockedSkus": []},
    },
    {
        "@odata.type": "#microsoft.graph.deviceEnrollmentLimitConfiguration",
        "id": "9c2d3e4f_DefaultLimit",
        "displayName": "All users and all devices",
        "priority": 0,
        "deviceEnrollmentConfigurationType": "limit",
        "limit": 15,
    },
]  # fmt: skip


class GraphServer:
    """The fake Graph service; `url` is the v1.0 root to give the client (`--graph-url`)."""

    def __init__(
        self,
        devices: int | list[dict[str, Any]] = 20,
        *,
        seed: int = 7,
        windows: int | None = None,
        page_size: int = 1000,
        faults: Iterable[Fault] = (),
        skip_in_list: Iterable[str] = (),
        vanish: Iterable[str] = (),
        malformed_page: int | None = None,
        loop_from_page: int | None = None,
        expire_token_after: int | None = None,
        accepted_tokens: Iterable[str] | None = None,
        export_polls: int = 2,
        export_outcome: str = "completed",
        export_headers: str = "requested",
        rate_limit: tuple[int, float] | None = None,
        deleted_users: Iterable[str] = (),
        tenant_id: str | None = None,
    ) -> None:
        # Intune names the built-in enrollment configurations `{tenantId}_Default…`: with
        # `tenant_id` this server's tenant is known from its data, as a real tenant's is.
        self.tenant_id = tenant_id
        self.enrollment_configurations = [
            {**c, "id": f"{tenant_id}_{c['id'].split('_', 1)[1]}"} if tenant_id else c
            for c in ENROLLMENT_CONFIGURATIONS
        ]
        self.macs = devices if isinstance(devices, list) else make_devices(devices, seed)
        self.users = graph_owners.users(self.macs)  # Entra users by id and by UPN
        self.deleted_users = set(deleted_users)  # user ids Entra answers 404 for
        self.pcs = make_windows(max(1, len(self.macs) // 10) if windows is None else windows, seed)
        self.by_id = {d["id"]: d for d in self.macs + self.pcs}
        token_ids = [t["id"] for t in ADE_TOKENS]
        self.imported_identities = graph_population.identities(self.macs, token_ids)
        self.page_size = page_size
        self.faults = list(faults)
        self.skip_in_list = set(skip_in_list)
        self.vanish = set(vanish)
        self.malformed_page = malformed_page
        self.loop_from_page = loop_from_page
        self.expire_token_after = expire_token_after
        self.accepted_tokens = None if accepted_tokens is None else set(accepted_tokens)
        self.export_polls = export_polls
        self.export_outcome = export_outcome
        self.export_headers = export_headers  # "requested" or "display" (as Intune may answer)
        self.rate_limit = rate_limit
        self.seen: list[Seen] = []
        self.wire: list[Wire] = []  # HTTP requests as received (self.seen splits $batches)
        self.blob_authorizations: list[str | None] = []
        self.throttled = 0
        self._jobs: dict[str, dict[str, Any]] = {}
        self._tokens_seen: dict[str, int] = {}
        self._expired: set[str] = set()
        self._window: deque[float] = deque()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._root = ""
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def root(self) -> str:
        """http://127.0.0.1:PORT (no trailing slash)."""
        assert self._root, "server not started"
        return self._root

    @property
    def url(self) -> str:
        """The v1.0 root, e.g. http://127.0.0.1:PORT/v1.0."""
        return f"{self.root}/v1.0"

    def start(self) -> GraphServer:
        """Listen on 127.0.0.1 (random port) in a daemon thread."""
        handler = type("Handler", (_Handler,), {"graph": self})
        self._httpd = _QuietServer(("127.0.0.1", 0), handler)
        self._root = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and join the thread."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> GraphServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def requests_to(self, fragment: str) -> list[Seen]:
        """Requests whose path contains `fragment`."""
        return [s for s in self.seen if fragment in s.path]

    # -- request handling --------------------------------------------------------------------
    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Answer:
        """Answer one request: (status, headers, body)."""
        parts = urlsplit(raw_path)
        path = re.sub("/{2,}", "/", parts.path)
        query = parts.query
        auth = headers.get("authorization")
        cut = self._cut(f"{method} {path}?{query}")
        status, out_headers, out_body = self._answer(method, path, query, auth, body)
        with self._lock:
            self.seen.append(Seen(method, path, query, auth, status))
            self.wire.append(Wire(method, path, query, dict(headers), status))
        return status, {**out_headers, **({_CUT_BODY: "1"} if cut else {})}, out_body

    def _cut(self, target: str) -> bool:
        for fault in self.faults:
            if (
                fault.cut_body
                and (fault.times is None or fault.hits < fault.times)
                and re.search(fault.pattern, target)
            ):
                with self._lock:
                    fault.hits += 1
                return True
        return False

    def _answer(self, method: str, path: str, query: str, auth: str | None, body: bytes) -> Answer:
        if path.startswith("/_blob/"):
            with self._lock:
                self.blob_authorizations.append(auth)
            return self._blob(path)
        if path == "/_stats":
            stats = {
                "requests": len(self.seen),
                "throttled": self.throttled,
                "cpu_s": time.process_time(),
            }
            return _json(200, stats)
        batch = re.fullmatch(r"/(v1\.0|beta)/\$batch", path)
        if batch and method == "POST":
            if (fault := self._fault(f"POST {path}?{query}")) is not None:
                return fault
            if (denied := self._authenticate(auth)) is not None:
                return denied
            return self._batch(batch.group(1), body, auth)
        return self._respond(method, path, query, auth, body, check_auth=True)

    def _respond(
        self, method: str, path: str, query: str, auth: str | None, body: bytes, *, check_auth: bool
    ) -> Answer:
        if (throttled := self._throttle()) is not None:
            return throttled
        if (fault := self._fault(f"{method} {path}?{query}")) is not None:
            return fault
        if check_auth and (denied := self._authenticate(auth)) is not None:
            return denied
        match = re.fullmatch(r"/(v1\.0|beta)(/.*)", path)
        if not match:
            return _json(404, _odata_error("ResourceNotFound", f"no route {path}"))
        version, rest = match.groups()
        params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        return self._route(method, version, rest, params, body)

    def _fault(self, target: str) -> Answer | None:
        for fault in self.faults:
            if (
                not fault.cut_body
                and (fault.times is None or fault.hits < fault.times)
                and re.search(fault.pattern, target)
            ):
                with self._lock:
                    fault.hits += 1
                if fault.delay_s:
                    time.sleep(fault.delay_s)
                if fault.status:
                    payload = fault.body if fault.body is not None else _error_body(fault.status)
                    return (
                        fault.status,
                        {"Content-Type": "application/json", **fault.headers},
                        payload,
                    )
                return None
        return None

    def _batch(self, version: str, body: bytes, auth: str | None) -> Answer:
        try:
            items = json.loads(body)["requests"]
        except (ValueError, KeyError, TypeError):
            return _json(400, _odata_error("BadRequest", "Invalid batch payload."))
        if not isinstance(items, list) or len(items) > 20:
            return _json(400, _odata_error("BadRequest", "A batch holds at most 20 requests."))
        answers = []
        for item in items:
            inner = urlsplit(item["url"])
            path = f"/{version}{inner.path}"
            status, headers, payload = self._respond(
                item.get("method", "GET"), path, inner.query, auth, b"", check_auth=False
            )
            with self._lock:
                self.seen.append(Seen(item.get("method", "GET"), path, inner.query, auth, status))
            try:
                parsed: Any = (
                    payload if isinstance(payload, dict) else orjson.loads(payload or b"null")
                )
            except orjson.JSONDecodeError:
                parsed = payload.decode("latin-1")  # a malformed body stays a string
            answers.append({"id": item["id"], "status": status, "headers": headers, "body": parsed})
        return _json(200, {"responses": answers})

    def _throttle(self) -> Answer | None:
        if self.rate_limit is None:
            return None
        limit, window = self.rate_limit
        now = time.monotonic()
        with self._lock:
            while self._window and self._window[0] <= now - window:
                self._window.popleft()
            if len(self._window) >= limit:
                self.throttled += 1
                wait = max(1, math.ceil(self._window[0] + window - now))
                status, headers, body = _json(
                    429, _odata_error("TooManyRequests", "Too many requests")
                )
                return status, {**headers, "Retry-After": str(wait)}, body
            self._window.append(now)
        return None

    def _authenticate(self, auth: str | None) -> Answer | None:
        if not auth or not auth.startswith("Bearer "):
            return _json(401, _odata_error("InvalidAuthenticationToken", "Access token is empty."))
        token = auth.removeprefix("Bearer ")
        with self._lock:
            count = self._tokens_seen[token] = self._tokens_seen.get(token, 0) + 1
            first = next(iter(self._tokens_seen))  # only the first token expires (mid-run)
            if (
                token == first
                and self.expire_token_after is not None
                and count > self.expire_token_after
            ):
                self._expired.add(token)
            expired = token in self._expired
        if expired or (self.accepted_tokens is not None and token not in self.accepted_tokens):
            status, headers, body = _json(
                401,
                _odata_error(
                    "InvalidAuthenticationToken",
                    "Lifetime validation failed, the token is expired.",
                ),
            )
            return status, {**headers, "WWW-Authenticate": 'Bearer error="invalid_token"'}, body
        return None

    def _route(
        self, method: str, version: str, rest: str, params: dict[str, str], body: bytes
    ) -> Answer:
        if method == "GET" and rest == "/deviceManagement/managedDevices":
            return self._list_devices(version, params)
        if method == "GET" and (
            m := re.fullmatch(r"/deviceManagement/managedDevices/([^/]+)", rest)
        ):
            return self._get_device(version, m.group(1), params)
        if method == "GET" and rest == "/deviceManagement/applePushNotificationCertificate":
            context = f"{self.root}/{version}/$metadata#applePushNotificationCertificate"
            return _json(200, {"@odata.context": context, **APNS})
        if (
            method == "GET"
            and rest == "/deviceManagement/depOnboardingSettings"
            and version == "beta"
        ):
            return _json(200, {"value": ADE_TOKENS})
        if method == "GET" and (
            m := re.fullmatch(
                r"/deviceManagement/depOnboardingSettings/([^/]+)/enrollmentProfiles", rest
            )
        ):
            if version != "beta" or m.group(1) not in ADE_PROFILES:
                return _json(404, _odata_error("ResourceNotFound", "not found"))
            return _json(200, {"value": ADE_PROFILES[m.group(1)]})
        if method == "GET" and rest == "/deviceManagement/deviceEnrollmentConfigurations":
            return _json(200, {"value": self.enrollment_configurations})
        if method == "POST" and rest == "/deviceManagement/reports/exportJobs":
            return self._create_job(version, body)
        if method == "GET" and (
            m := re.fullmatch(r"/deviceManagement/reports/exportJobs(?:/|\(')([^/']+)'?\)?", rest)
        ):
            return self._poll_job(m.group(1))
        if (answer := graph_population.route(self, method, version, rest, params)) is not None:
            return _json(*answer)
        if (answer := graph_owners.route(self, method, version, rest, params)) is not None:
            return _json(*answer)
        return _json(404, _odata_error("ResourceNotFound", f"no route {method} /{version}{rest}"))

    def _select(
        self, version: str, params: dict[str, str]
    ) -> tuple[list[str] | None, Answer | None]:
        if "$select" not in params:
            return None, None
        wanted = [f.strip() for f in params["$select"].split(",") if f.strip()]
        known = V1_FIELDS | (BETA_ONLY_FIELDS if version == "beta" else frozenset())
        unknown = [f for f in wanted if f not in known]
        if unknown:
            kind = "microsoft.graph.managedDevice"
            msg = f"Could not find a property named '{unknown[0]}' on type '{kind}'."
            return None, _json(400, _odata_error("BadRequest", msg))
        return wanted, None

    def _shape(
        self, device: dict[str, Any], version: str, select: list[str] | None, listed: bool
    ) -> dict[str, Any]:
        known = V1_FIELDS | (BETA_ONLY_FIELDS if version == "beta" else frozenset())
        names = select if select is not None else [k for k in device if k in known]
        out = {}
        for name in names:
            value = device.get(name)
            if listed and name in SINGLE_GET_DEFAULTS:
                value = SINGLE_GET_DEFAULTS[name]
            if (
                listed
                and name == "enrollmentProfileName"
                and value
                and device["serialNumber"][0] in "AB"
            ):
                value = None  # known list quirk: profile name missing for some devices
            out[name] = value
        return out

    def _list_devices(self, version: str, params: dict[str, str]) -> Answer:
        select, error = self._select(version, params)
        if error:
            return error
        devices = self.macs + self.pcs
        flt = params.get("$filter")
        if flt:
            m = re.fullmatch(r"operatingSystem eq '([^']*)'", flt.strip())
            if not m:
                return _json(400, _odata_error("BadRequest", f"unsupported filter {flt!r}"))
            devices = [d for d in devices if d["operatingSystem"].lower() == m.group(1).lower()]
        devices = [d for d in devices if d["id"] not in self.skip_in_list]
        size = min(self.page_size, int(params.get("$top") or self.page_size))
        page = int(params.get("$skiptoken", "0").removeprefix("page") or 0)
        if self.malformed_page is not None and page == self.malformed_page:
            return 200, {"Content-Type": "application/json"}, b'{"value": [{"id": "trunc'
        chunk = devices[page * size : (page + 1) * size]
        body: dict[str, Any] = {
            "@odata.context": f"{self.root}/{version}/$metadata#deviceManagement/managedDevices",
            "value": [self._shape(d, version, select, listed=True) for d in chunk],
        }
        if (page + 1) * size < len(devices):
            following = page + 1
            if self.loop_from_page is not None and page >= self.loop_from_page:
                following = self.loop_from_page  # nextLink points back to a page already served
            keep = {k: v for k, v in params.items() if k in ("$filter", "$select", "$top")}
            query = "&".join(f"{k}={quote(v, safe=',')}" for k, v in keep.items())
            body["@odata.nextLink"] = (
                f"{self.root}/{version}/deviceManagement/managedDevices?{query}&$skiptoken=page{following}"
            )
        return _json(200, body)

    def _get_device(self, version: str, device_id: str, params: dict[str, str]) -> Answer:
        select, error = self._select(version, params)
        if error:
            return error
        device = self.by_id.get(device_id)
        if device is None or device_id in self.vanish:
            return _json(
                404, _odata_error("ResourceNotFound", f"managedDevice {device_id} not found")
            )
        shaped = self._shape(device, version, select, listed=False)
        if version == "beta" and select is None:
            shaped.pop("hardwareInformation", None)  # beta returns it only when selected
        return _json(
            200,
            {
                "@odata.context": f"{self.root}/{version}/$metadata#managedDevices/$entity",
                **shaped,
            },
        )

    def _create_job(self, version: str, body: bytes) -> Answer:
        request = json.loads(body or b"{}")
        if request.get("reportName") != "Devices":
            return _json(
                400, _odata_error("BadRequest", f"unknown report {request.get('reportName')!r}")
            )
        columns = request.get("select") or list(EXPORT_COLUMNS)
        unknown = [c for c in columns if c not in EXPORT_COLUMNS]
        if unknown:
            return _json(400, _odata_error("BadRequest", f"unknown column {unknown[0]}"))
        job_id = f"Devices_{uuid.uuid4()}"
        job = {"id": job_id, "reportName": "Devices", "filter": request.get("filter", ""),
               "select": columns, "format": request.get("format", "csv"), "snapshotId": None,
               "localizationType": "localizedValuesAsAdditionalColumn", "status": "notStarted",
               "url": None, "requestDateTime": "2026-08-31T12:00:00Z",
               "expirationDateTime": "0001-01-01T00:00:00Z", "_polls": 0}  # fmt: skip
        with self._lock:
            self._jobs[job_id] = job
        if self.export_polls == 0:  # done at once (keeps end-to-end CLI tests quick)
            self._finish(job)
        return _json(201, {k: v for k, v in job.items() if not k.startswith("_")})

    def _poll_job(self, job_id: str) -> Answer:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return _json(
                    404, _odata_error("ResourceNotFound", f"export job {job_id} not found")
                )
            job["_polls"] += 1
            if job["_polls"] == 1:
                job["status"] = "inProgress"
            elif job["_polls"] > self.export_polls:
                self._finish(job)
            return _json(200, {k: v for k, v in job.items() if not k.startswith("_")})

    def _finish(self, job: dict[str, Any]) -> None:
        job["status"] = self.export_outcome
        if self.export_outcome == "completed":
            sas = "sv=2024-08-04&se=2026-09-01&sig=SAS-SIGNATURE-SECRET"
            job["url"] = f"{self.root}/_blob/{job['id']}.zip?{sas}"
            job["expirationDateTime"] = "2026-09-01T12:00:00Z"

    def _blob(self, path: str) -> Answer:
        job_id = path.removeprefix("/_blob/").removesuffix(".zip")
        job = self._jobs.get(job_id)
        if job is None:
            return (
                404,
                {"Content-Type": "application/xml"},
                b"<Error><Code>BlobNotFound</Code></Error>",
            )
        text = io.StringIO()
        if self.export_headers == "display":  # every field quoted, LF, as the real file
            writer = csv.writer(text, quoting=csv.QUOTE_ALL, lineterminator="\n")
            writer.writerow([DISPLAY_HEADERS.get(c, c) for c in job["select"]])
            for device in self.macs + self.pcs:
                row = display_row(device)
                writer.writerow([row.get(c, "") for c in job["select"]])
        else:
            writer = csv.DictWriter(
                text, fieldnames=job["select"], extrasaction="ignore", lineterminator="\r\n"
            )
            writer.writeheader()
            for device in self.macs + self.pcs:  # the export does not skip what the list skips
                writer.writerow(export_row(device))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(f"{job_id}.csv", "\ufeff" + text.getvalue())
        return 200, {"Content-Type": "application/octet-stream"}, buffer.getvalue()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    # The Graph client opens several connections at once; socketserver's default backlog of 5
    # drops the extra SYNs and each such connection waits out the 1 s SYN retransmission.
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # clients time out on purpose
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    graph: GraphServer

    def _answer(self, headers: dict[str, str], body: bytes) -> Answer:
        return self.graph.handle(self.command, self.path, headers, body)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, out_headers, answer = self._answer(headers, body)
        payload = orjson.dumps(answer) if isinstance(answer, dict) else answer
        cut = out_headers.pop(_CUT_BODY, None) is not None
        self.send_response(status)
        for key, value in out_headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if cut:  # half the body, then the connection drops: the client sees a short read
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(payload)

    do_GET = do_POST = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _odata_error(code: str, message: str) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {"date": "2026-08-31T12:00:00", "request-id": str(uuid.uuid4())},
        }
    }


def _error_body(status: int) -> bytes:
    codes = {400: "BadRequest", 401: "InvalidAuthenticationToken", 403: "Forbidden",
             404: "ResourceNotFound", 429: "TooManyRequests", 500: "InternalServerError",
             503: "ServiceUnavailable", 504: "GatewayTimeout"}  # fmt: skip
    message = (
        "Application is not authorized to perform this operation." if status == 403 else "fault"
    )
    return json.dumps(_odata_error(codes.get(status, "Error"), message)).encode()


def _json(status: int, payload: dict[str, Any]) -> Answer:
    return status, {"Content-Type": "application/json"}, payload  # encoded once, at the edge


@contextmanager
def serve(devices: int | list[dict[str, Any]] = 20, **options: Any) -> Iterator[GraphServer]:
    """Run a GraphServer for the duration of a `with` block (see GraphServer for options)."""
    server = GraphServer(devices, **options)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class Proxied:
    """One request the forward proxy received."""

    method: str
    url: str
    proxy_authorization: str | None
    authorization: str | None
    status: int


class ForwardProxy:
    """An HTTP forward proxy on 127.0.0.1 (absolute-form requests to http:// targets, no CONNECT).

    With `user` and `password` it answers 407 unless `Proxy-Authorization` carries them (Basic);
    it never forwards `Proxy-Authorization`. Every request is logged in `seen`.
    """

    _HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authorization", "proxy-connection",
                             "te", "trailer", "transfer-encoding", "upgrade"})  # fmt: skip

    def __init__(self, user: str | None = None, password: str | None = None) -> None:
        credentials = f"{user}:{password}".encode()
        self.expected = None if user is None else "Basic " + base64.b64encode(credentials).decode()
        self.seen: list[Proxied] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT (no credentials)."""
        assert self._httpd is not None, "proxy not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> ForwardProxy:
        handler = type("ProxyHandler", (_ProxyHandler,), {"proxy": self})
        self._httpd = _QuietServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def forward(self, method: str, url: str, headers: dict[str, str], body: bytes) -> Answer:
        """Check the proxy credentials, then relay the request to its target."""
        given = headers.get("proxy-authorization")
        if self.expected is not None and given != self.expected:
            status, out = 407, {"Proxy-Authenticate": 'Basic realm="test proxy"'}
            payload = b"proxy authentication required"
        else:
            target = urlsplit(url)
            connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
            relayed = {k: v for k, v in headers.items() if k not in self._HOP_BY_HOP}
            path = target.path + (f"?{target.query}" if target.query else "")
            try:
                connection.request(method, path, body=body or None, headers=relayed)
                answer = connection.getresponse()
                payload = answer.read()
                status = answer.status
                out = {k: v for k, v in answer.getheaders() if k.lower() not in self._HOP_BY_HOP}
            finally:
                connection.close()
        out.pop("Content-Length", None)
        with self._lock:
            self.seen.append(Proxied(method, url, given, headers.get("authorization"), status))
        return status, out, payload


class _ProxyHandler(_Handler):
    proxy: ForwardProxy

    def _answer(self, headers: dict[str, str], body: bytes) -> Answer:
        return self.proxy.forward(self.command, self.path, headers, body)


def main(argv: list[str] | None = None) -> None:
    """Serve until stdin closes or the process is terminated; print the v1.0 URL first."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument(
        "--rate-limit", type=int, default=None, help="requests per window (Intune: 2000)"
    )
    parser.add_argument("--window", type=float, default=20.0, help="rate-limit window in seconds")
    parser.add_argument("--export-polls", type=int, default=1, help="polls before the job is done")
    args = parser.parse_args(argv)
    rate = (args.rate_limit, args.window) if args.rate_limit else None
    options = {"seed": args.seed, "page_size": args.page_size, "rate_limit": rate,
               "export_polls": args.export_polls}  # fmt: skip
    with serve(args.devices, **options) as server:
        print(server.url, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
