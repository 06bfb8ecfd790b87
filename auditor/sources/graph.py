"""Pull the macOS inventory and tenant enrollment objects from Microsoft Graph into a snapshot dict.

Parts (see the snapshot format in snapshot.py): `managed_devices` (core: v1.0 list, `$filter` +
`$select`, every nextLink), `device_details` (beta GET by id in JSON `$batch`es for
bootstrapTokenEscrowed / hardwareInformation), `export_devices` (reports export job `Devices`),
`apns`, `ade_tokens`, `ade_profiles`, `enrollment_configurations`. A denied or failed optional part
becomes a gap; a failed core part raises PartialSourceError unless partial data is allowed.
Everything runs inside one `asyncio.run()`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from kiota_abstractions.api_error import APIError
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.device_management.managed_devices.managed_devices_request_builder import (
    ManagedDevicesRequestBuilder,
)

from auditor import __version__
from auditor.errors import ConfigError, PartialSourceError
from auditor.sources.graph_auth import (
    CLOUDS,
    GraphFault,
    TokenCredentialLike,
    TokenSource,
    make_credential,
)
from auditor.sources.graph_export import export_devices, is_mac_row
from auditor.sources.graph_parts import (
    DETAIL_FIELDS,
    LIST_FIELDS,
    Part,
    Progress,
    fetch_all_by_id,
    fetch_by_id,
    pages,
    tenant_parts,
)
from auditor.sources.graph_transport import GraphSession, RateLimiter, RetryPolicy


@dataclass(frozen=True, slots=True)
class GraphSettings:
    """How to pull from Graph; built by config/CLI from explicit values (secrets stay in env)."""

    cloud: str = "global"  # global | usgov | usgov-dod | china
    graph_url: str | None = None  # v1.0 root override (proxy, test server); beta is derived
    tenant_id: str | None = None
    client_id: str | None = None
    allow_partial: bool = False
    max_concurrency: int = 8  # HTTP requests in flight for device details
    rate_limit_requests: int = 1900  # Intune: 2,000 per 20 s per app per tenant; keep a margin
    rate_limit_window_s: float = 20.0
    request_timeout_s: float = 60.0
    max_retries: int = 5
    backoff_base_s: float = 1.0
    max_retry_after_s: float = 300.0  # a longer Retry-After fails the request instead
    export_poll_s: float = 5.0
    export_timeout_s: float = 1800.0
    device_filter: str = "operatingSystem eq 'macOS'"
    include_details: bool = True
    include_export: bool = True
    progress: bool = True

    def __post_init__(self) -> None:
        problems = []
        if self.cloud not in CLOUDS:
            problems.append(f"cloud '{self.cloud}' is not one of {', '.join(CLOUDS)}")
        if self.graph_url is not None:
            parts = urlsplit(self.graph_url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                problems.append(f"graph_url '{self.graph_url}' is not an http(s) URL")
            elif not parts.path.rstrip("/").endswith("/v1.0") or parts.query:
                problems.append(f"graph_url '{self.graph_url}' must be the v1.0 root (…/v1.0)")
        positive = {
            "max_concurrency": self.max_concurrency, "rate_limit_requests": self.rate_limit_requests,
            "rate_limit_window_s": self.rate_limit_window_s, "request_timeout_s": self.request_timeout_s,
            "export_poll_s": self.export_poll_s, "export_timeout_s": self.export_timeout_s,
        }  # fmt: skip
        problems += [f"{name} must be > 0 (got {value})" for name, value in positive.items() if value <= 0]
        if self.max_retries < 0 or self.backoff_base_s < 0:
            problems.append("max_retries and backoff_base_s must be >= 0")
        if problems:
            raise ConfigError("Graph settings: " + "; ".join(problems))

    @property
    def v1_root(self) -> str:
        """The v1.0 root the pull talks to (no trailing slash)."""
        if self.graph_url:
            return self.graph_url.rstrip("/")
        return f"{CLOUDS[self.cloud].graph_root}/v1.0"


def fetch_snapshot(
    settings: GraphSettings,
    *,
    credential: TokenCredentialLike | None = None,
    fetched_at: datetime | None = None,
) -> dict[str, Any]:
    """Pull everything the audit needs from Graph and return the snapshot as a JSON-able dict.

    Args:
        settings: Where and how to pull.
        credential: A token credential to use instead of the one the environment selects
            (AUDITOR_GRAPH_TOKEN, AZURE_CLIENT_SECRET / _CERTIFICATE_PATH, DefaultAzureCredential).
        fetched_at: Timestamp to record (the CLI reads the clock); now when None.

    Returns:
        The snapshot dict (see snapshot.py), `complete` False only with `allow_partial`.

    Raises:
        PartialSourceError: The core part (managed_devices) failed and partial data is not allowed.
        SourceError: No token could be acquired.
        ConfigError: The environment's credential settings are inconsistent.
    """
    if credential is None:
        credential, description = make_credential(settings.cloud, settings.tenant_id, settings.client_id)
    else:
        description = f"the supplied credential ({type(credential).__name__})"
    when = fetched_at or datetime.now(UTC)
    return asyncio.run(_pull(settings, credential, description, when))


async def _pull(
    settings: GraphSettings, credential: TokenCredentialLike, description: str, when: datetime
) -> dict[str, Any]:
    started = time.monotonic()
    cloud = CLOUDS[settings.cloud]
    tokens = TokenSource(credential, cloud.scope, description)
    hosts = frozenset(h for h in (urlsplit(settings.v1_root).hostname, urlsplit(cloud.graph_root).hostname) if h)
    policy = RetryPolicy(settings.max_retries, settings.backoff_base_s, settings.max_retry_after_s)
    limiter = RateLimiter(settings.rate_limit_requests, settings.rate_limit_window_s)
    session = GraphSession(
        settings.v1_root, cloud.graph_root, tokens, hosts, limiter, policy, settings.request_timeout_s,
        max_connections=settings.max_concurrency + 4,
    )  # fmt: skip
    notes: list[str] = []
    try:
        await tokens.token()  # a credential problem surfaces once, before any part runs
        with Progress(settings.progress, session.stats) as progress:
            export = Part("export_devices", f"{session.v1}/deviceManagement/reports/exportJobs")
            side = [asyncio.create_task(tenant_parts(session))]
            if settings.include_export:
                side.append(asyncio.create_task(_export(session, settings, export, progress)))
            else:
                export.skip("not requested")
            try:
                listing, details = await _devices(session, settings, progress, notes)
                if listing.status != "ok" and not settings.allow_partial:
                    raise PartialSourceError(
                        f"{listing.reason} [credential: {tokens.description}]. The device list is incomplete, so no snapshot was written;"
                        " fix the cause and rerun, or allow partial data (--allow-partial)"
                    )
                others = await asyncio.gather(*side)
            finally:
                for task in side:
                    task.cancel()
                await asyncio.gather(*side, return_exceptions=True)
            reconciliation = await _reconcile(
                session, (listing, details, export), notes, progress, settings.max_concurrency
            )
    finally:
        await session.aclose()
    parts = [listing, details, export, *others[0]]
    stats = session.stats
    return {
        "auditor_snapshot": 1,
        "tool_version": __version__,
        "fetched_at": when.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "graph_url": _public_url(settings.v1_root),
        "cloud": settings.cloud,
        "tenant_id": settings.tenant_id,
        "complete": listing.status == "ok",
        "parts": {part.name: part.to_json() for part in parts},
        "reconciliation": reconciliation,
        "gaps": [gap for part in parts if (gap := part.gap()) is not None],
        "notes": notes,
        "stats": {
            "requests": stats.requests, "throttled": stats.throttled, "retries": stats.retries,
            "token_renewals": stats.token_renewals, "elapsed_s": round(time.monotonic() - started, 3),
        },  # fmt: skip
    }


async def _devices(
    session: GraphSession, settings: GraphSettings, progress: Progress, notes: list[str]
) -> tuple[Part, Part]:
    """List the Macs page by page while a pool of workers fetches their details in $batches."""
    listing = Part("managed_devices", f"{session.v1}/deviceManagement/managedDevices")
    details = Part("device_details", f"{session.beta}/deviceManagement/managedDevices/{{id}}")
    queue: asyncio.Queue[list[str] | None] = asyncio.Queue()

    async def worker() -> None:
        while (ids := await queue.get()) is not None:
            if details.status != "denied":
                await fetch_by_id(session, session.beta, DETAIL_FIELDS, ids, details, progress.detailed)

    workers = [asyncio.create_task(worker()) for _ in range(settings.max_concurrency)]
    if not settings.include_details:
        details.skip("not requested")
    query = ManagedDevicesRequestBuilder.ManagedDevicesRequestBuilderGetQueryParameters(
        filter=settings.device_filter, select=list(LIST_FIELDS)
    )
    first = session.client.device_management.managed_devices.to_get_request_information(
        RequestConfiguration(query_parameters=query)
    )
    seen: set[str] = set()
    duplicates: list[str] = []
    try:
        async for page in pages(session, first, listing.endpoint):
            ids = [r["id"] for r in page if r["id"] not in seen]
            if page and not ids:
                raise GraphFault(f"GET {listing.endpoint}: a page repeated only devices already listed (paging loop)")
            duplicates += [r["id"] for r in page if r["id"] in seen or ids.count(r["id"]) > 1]
            for record in page:
                if record["id"] not in seen:
                    seen.add(record["id"])
                    listing.records.append(record)
            progress.listed(len(listing.records))
            if settings.include_details:
                for start in range(0, len(ids), session.batch_size):
                    queue.put_nowait(list(dict.fromkeys(ids[start : start + session.batch_size])))
    except (APIError, httpx.HTTPError, GraphFault) as exc:
        listing.fail(exc, f"GET {listing.endpoint} (after {len(listing.records)} devices)")
    finally:
        for _ in workers:
            queue.put_nowait(None)
        await asyncio.gather(*workers)
    if duplicates:
        notes.append(f"managed_devices: {len(duplicates)} duplicate record(s) in the list, first kept: {_some(duplicates)}")
    details.settle(requested=len(listing.records))
    return listing, details


async def _export(session: GraphSession, settings: GraphSettings, export: Part, progress: Progress) -> None:
    try:
        export.records = await export_devices(session, settings.export_poll_s, settings.export_timeout_s, progress.export)
    except (APIError, httpx.HTTPError, GraphFault) as exc:
        export.fail(exc, f"POST {export.endpoint} (report Devices)")


async def _reconcile(
    session: GraphSession,
    parts: tuple[Part, Part, Part],
    notes: list[str],
    progress: Progress,
    concurrency: int,
) -> dict[str, Any]:
    """Compare the list with the export; fetch by id the Macs the list skipped."""
    listing, details, export = parts
    listed = {r["id"] for r in listing.records}
    result: dict[str, Any] = {"listed": len(listed), "exported": None, "only_in_list": [], "only_in_export": [], "recovered": []}  # fmt: skip
    if export.status != "ok":
        notes.append("device count not reconciled: the export report is unavailable (see gaps)")
        return result
    rows = [r for r in export.records if is_mac_row(r) or r.get("DeviceId") in listed]
    if len(rows) < len(export.records):
        notes.append(f"export_devices: {len(export.records) - len(rows)} row(s) of other platforms left out")
    export.records = rows
    exported = {r["DeviceId"] for r in rows if r.get("DeviceId")}
    only_list, only_export = sorted(listed - exported), sorted(exported - listed)
    result.update(exported=len(exported), only_in_list=only_list, only_in_export=only_export)
    if only_list:
        notes.append(f"{len(only_list)} listed Mac(s) are not in the export report (enrolled after it was built?): {_some(only_list)}")
    if not only_export or listing.status != "ok":
        return result
    recovery = Part("managed_devices", listing.endpoint)
    await fetch_all_by_id(session, session.v1, LIST_FIELDS, only_export, recovery, progress.detailed, concurrency)
    recovered = [r["id"] for r in recovery.records]
    listing.records += recovery.records
    result["recovered"] = recovered
    notes.append(f"the managedDevices list skipped {len(only_export)} Mac(s) that the export report has; {len(recovered)} fetched by id: {_some(only_export)}")
    gone = [f for f in recovery.failures if f.get("status") == 404]
    if gone:
        notes.append(f"{len(gone)} Mac(s) in the export report no longer exist (404 by id): {_some([f['id'] for f in gone])}")
    if recovery.status == "denied" or len(gone) < len(recovery.failures):
        listing.status = "partial"
        listing.reason = recovery.reason or f"{len(recovery.failures) - len(gone)} Mac(s) skipped by the list could not be fetched by id"
    if recovered and details.status in ("ok", "partial"):
        await fetch_all_by_id(session, session.beta, DETAIL_FIELDS, recovered, details, progress.detailed, concurrency)
        details.settle(requested=len(listing.records))
    return result


def _some(ids: list[str], limit: int = 5) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" … (+{len(ids) - limit})" if len(ids) > limit else "")


def _public_url(url: str) -> str:
    """The URL without user info (a proxy URL may carry credentials)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"
