"""The parts of a Graph pull: status bookkeeping, paging, GETs by id in $batches, tenant objects.

Each part ends "ok", "partial", "denied", "failed" or "skipped" with a reason; nothing it could
not collect is dropped silently (failed ids are kept in `failures`).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx
from kiota_abstractions.api_error import APIError
from kiota_abstractions.request_information import RequestInformation
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeRemainingColumn
from rich.progress import Progress as RichProgress

from auditor.models import CORE_PARTS, OWNER_PART_FEEDS, PART_FEEDS
from auditor.sources.graph_auth import GraphFault
from auditor.sources.graph_network import public_url, scrub_userinfo
from auditor.sources.graph_throttle import Stats
from auditor.sources.graph_transport import GraphSession, describe_error

LIST_FIELDS = (  # v1.0 managedDevice properties; a $select outside the v1.0 schema is a 400
    "id", "deviceName", "managedDeviceName", "serialNumber", "model", "manufacturer",
    "operatingSystem", "osVersion", "enrolledDateTime", "lastSyncDateTime",
    "managedDeviceOwnerType", "deviceEnrollmentType", "managementAgent", "managementState",
    "isSupervised", "isEncrypted", "complianceState", "complianceGracePeriodExpirationDateTime",
    "userPrincipalName", "userDisplayName", "userId", "emailAddress", "azureADDeviceId",
    "enrollmentProfileName", "deviceRegistrationState", "deviceCategoryDisplayName",
    "totalStorageSpaceInBytes", "freeStorageSpaceInBytes", "managementCertificateExpirationDate",
    "wiFiMacAddress", "requireUserEnrollmentApproval",
)  # fmt: skip
DETAIL_FIELDS = (  # beta; list calls return defaults for the first two (and udid, profile name)
    "id", "bootstrapTokenEscrowed", "hardwareInformation", "udid", "enrollmentProfileName",
    "enrolledByUserPrincipalName", "processorArchitecture", "securityPatchLevel", "ownerType",
    "deviceType", "chassisType", "physicalMemoryInBytes", "roleScopeTagIds",
)  # fmt: skip
_APNS = "DeviceManagementManagedDevices.Read.All (or DeviceManagementServiceConfig.ReadWrite.All)"
PERMISSIONS = {
    "managed_devices": "DeviceManagementManagedDevices.Read.All",
    "device_details": "DeviceManagementManagedDevices.Read.All",
    "export_devices": "DeviceManagementManagedDevices.ReadWrite.All (export jobs are a write)",
    "apns": _APNS,
    "ade_tokens": "DeviceManagementServiceConfig.Read.All",
    "ade_profiles": "DeviceManagementServiceConfig.Read.All",
    "enrollment_configurations": "DeviceManagementServiceConfig.Read.All",
    "ade_identities": "DeviceManagementServiceConfig.Read.All",
    "vpp_tokens": "DeviceManagementServiceConfig.Read.All",
    "compliance_settings": "DeviceManagementConfiguration.Read.All",
    "compliance_policies": "DeviceManagementConfiguration.Read.All",
    "compliance_assignments": "DeviceManagementConfiguration.Read.All",
    "role_scope_tags": "DeviceManagementRBAC.Read.All",
    "entra_users": "User.Read.All",
}
_GraphError = (APIError, httpx.HTTPError, GraphFault)
_VOLATILE = frozenset({"@odata.context", "@odata.etag", "@odata.id"})


@dataclass
class Part:
    """One part of the snapshot while it is being collected."""

    name: str
    endpoint: str
    status: str = "ok"  # ok | partial | denied | failed | skipped
    records: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""
    note: str = ""
    failures: list[dict[str, Any]] = field(default_factory=list)
    _summarised: bool = False

    def fail(self, exc: APIError | httpx.HTTPError | GraphFault, what: str) -> None:
        """Record why the part stopped; what was collected before stays (status partial)."""
        status, _, self.reason = describe_error(exc, what, PERMISSIONS[self.name])
        self.status = "partial" if status == "failed" and self.records else status

    def skip(self, reason: str) -> None:
        """Mark the part as not collected on purpose."""
        self.status, self.reason = "skipped", reason

    def settle(self, requested: int) -> None:
        """Turn per-id failures into status partial with a summary reason."""
        if not self.failures or not (self.status == "ok" or self._summarised):
            return
        counts = Counter(str(f.get("status") or "error") for f in self.failures)
        summary = ", ".join(f"{n}× {code}" for code, n in sorted(counts.items()))
        self.status, self._summarised = "partial", True
        self.reason = (
            f"{len(self.failures)} of {requested} GETs by id failed ({summary}), e.g. "
            f"{self.failures[0]['id']}: {self.failures[0]['reason']}"
        )

    def to_json(self) -> dict[str, Any]:
        """The part as written into the snapshot."""
        out: dict[str, Any] = {
            "status": self.status,
            "endpoint": public_url(self.endpoint),
            "records": self.records,
        }
        for key, value in (
            ("error", scrub_userinfo(self.reason)),
            ("note", self.note),
            ("failures", self.failures),
        ):
            if value:
                out[key] = value
        return out

    def gap(self) -> dict[str, Any] | None:
        """The gap this part leaves, or None when it is complete."""
        if self.status == "ok":
            return None
        return {
            "part": self.name,
            "status": self.status,
            "reason": scrub_userinfo(self.reason or self.status),
            "fields": list(PART_FEEDS.get(self.name) or OWNER_PART_FEEDS[self.name]),
            "is_core": self.name in CORE_PARTS,
        }


def clean(record: dict[str, Any]) -> dict[str, Any]:
    """The record, freshly parsed, without per-response OData annotations (keeps @odata.type)."""
    for key in _VOLATILE.intersection(record):
        del record[key]
    return record


async def pages(
    session: GraphSession, first: RequestInformation | str, endpoint: str
) -> AsyncIterator[list[dict[str, Any]]]:
    """Each page's records, following @odata.nextLink verbatim (never $skip) until there is none.

    Raises:
        GraphFault: A page without a `value` list of objects with ids, or a nextLink loop.
    """
    request: RequestInformation | str = first
    links = {str(first.url) if isinstance(first, RequestInformation) else first}
    number = 0
    while True:
        number += 1
        body = await session.call_json(request)
        value = body.get("value")
        if not isinstance(value, list) or not all(
            isinstance(r, dict) and isinstance(r.get("id"), str) for r in value
        ):
            raise GraphFault(
                f"GET {endpoint}: page {number} is not a 'value' list of objects with ids"
            )
        yield [clean(r) for r in value]
        link = body.get("@odata.nextLink")
        if not link:
            return
        if not isinstance(link, str):
            raise GraphFault(f"GET {endpoint}: page {number} has a nextLink that is not a string")
        link = session.reroute(link)
        if link in links:
            raise GraphFault(
                f"GET {endpoint}: nextLink loop, page {number} links back to a page already read"
            )
        links.add(link)
        request = link


async def collect(session: GraphSession, part: Part, url: str, extra: dict[str, Any]) -> None:
    """Every page of a list into `part` (each record with `extra`); a failure stops the part."""
    try:
        async for page in pages(session, url, part.endpoint):
            part.records += [{**record, **extra} for record in page]
    except _GraphError as exc:
        part.fail(exc, f"GET {url}")


async def get_object(session: GraphSession, part: Part) -> None:
    """A single object (no `value` list) as the part's one record."""
    try:
        part.records = [clean(await session.call_json(part.endpoint))]
    except _GraphError as exc:
        part.fail(exc, f"GET {part.endpoint}")


def not_collected(what: str, part: Part) -> str:
    """Why a part that hangs off `part` was skipped, with `part`'s own reason."""
    return f"{what} were not collected ({part.reason or part.status})"


async def tenant_parts(session: GraphSession) -> list[Part]:
    """APNs certificate, ADE tokens (+ profiles, imported identities), enrollment restrictions."""
    apns = Part("apns", f"{session.v1}/deviceManagement/applePushNotificationCertificate")
    tokens = Part("ade_tokens", f"{session.beta}/deviceManagement/depOnboardingSettings")
    profiles = Part("ade_profiles", f"{tokens.endpoint}/{{id}}/enrollmentProfiles")
    identities = Part("ade_identities", f"{tokens.endpoint}/{{id}}/importedAppleDeviceIdentities")
    configs = Part(
        "enrollment_configurations",
        f"{session.beta}/deviceManagement/deviceEnrollmentConfigurations",
    )

    async def get_apns() -> None:
        try:
            apns.records = [clean(await session.call_json(apns.endpoint))]
        except APIError as exc:
            if exc.response_status_code != 404:
                apns.fail(exc, f"GET {apns.endpoint}")
            else:  # the singleton is absent when no certificate was ever uploaded
                apns.note = "no APNs certificate is configured (404)"
        except (httpx.HTTPError, GraphFault) as exc:
            apns.fail(exc, f"GET {apns.endpoint}")

    async def get_ade() -> None:
        await collect(session, tokens, tokens.endpoint, {})
        if tokens.status != "ok":
            profiles.skip("ADE tokens were not collected")
            identities.skip(not_collected("ADE tokens", tokens))
            return
        for token in tokens.records:
            url = f"{tokens.endpoint}/{quote(token['id'], safe='')}"
            parent = {"tokenId": token["id"]}
            await collect(session, profiles, f"{url}/enrollmentProfiles", parent)
            await collect(session, identities, f"{url}/importedAppleDeviceIdentities", parent)

    configured = collect(session, configs, configs.endpoint, {})
    await asyncio.gather(get_apns(), get_ade(), configured)
    return [apns, tokens, profiles, identities, configs]


class Progress:
    """Devices listed / detailed, throttling and ETA on stderr; silent when it is not a terminal."""

    def __init__(self, enabled: bool, stats: Stats) -> None:
        console = Console(stderr=True)
        self._stats = stats
        self._bar = RichProgress(
            TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[note]}"), TimeRemainingColumn(),
            console=console, disable=not (enabled and console.is_terminal),
        )  # fmt: skip
        self._listed: TaskID | None = None
        self._details: TaskID | None = None
        self._export: TaskID | None = None
        self._done = 0

    def __enter__(self) -> Progress:
        self._bar.start()
        self._listed = self._bar.add_task("Macs listed", total=None, note="")
        self._details = self._bar.add_task("Device details", total=0, note="")
        self._export = self._bar.add_task("Export report", total=None, note="")
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._bar.stop()

    def listed(self, count: int) -> None:
        """`count` Macs listed so far."""
        if self._listed is not None and self._details is not None:
            self._bar.update(self._listed, completed=count)
            self._bar.update(self._details, total=count)

    def detailed(self, count: int) -> None:
        """`count` more devices have their details (or a recorded failure)."""
        self._done += count
        if self._details is not None:
            note = f"throttled {self._stats.throttled}" if self._stats.throttled else ""
            self._bar.update(self._details, completed=self._done, note=note)

    def export(self, status: str) -> None:
        """The export job's latest status."""
        if self._export is not None:
            self._bar.update(self._export, note=status)
