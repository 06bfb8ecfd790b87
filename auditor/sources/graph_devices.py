"""The device parts of a Graph pull: the paged managedDevices list, details by id, reconciliation.

The list is read page by page while a pool of workers fetches each page's devices from beta in
JSON `$batch`es (20 GETs with `$select` each). The export report then tells which Macs the list
skipped; those are fetched by id, so a known device is never silently missing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
from kiota_abstractions.api_error import APIError
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.device_management.managed_devices.managed_devices_request_builder import (
    ManagedDevicesRequestBuilder,
)

from auditor.sources.graph_auth import GraphFault
from auditor.sources.graph_export import export_value, is_mac_row
from auditor.sources.graph_parts import (
    DETAIL_FIELDS,
    LIST_FIELDS,
    PERMISSIONS,
    Part,
    Progress,
    clean,
    pages,
)
from auditor.sources.graph_throttle import RETRY_STATUSES, retry_after_s
from auditor.sources.graph_transport import GraphSession, describe_error

_GraphError = (APIError, httpx.HTTPError, GraphFault)


async def collect_devices(
    session: GraphSession,
    device_filter: str,
    include_details: bool,
    concurrency: int,
    progress: Progress,
    notes: list[str],
) -> tuple[Part, Part]:
    """List the Macs page by page while a pool of workers fetches their details in $batches."""
    listing = Part("managed_devices", f"{session.v1}/deviceManagement/managedDevices")
    details = Part("device_details", f"{session.beta}/deviceManagement/managedDevices/{{id}}")
    queue: asyncio.Queue[list[str] | None] = asyncio.Queue()

    async def worker() -> None:
        while (ids := await queue.get()) is not None:
            if details.status != "denied":
                await fetch_by_id(
                    session, session.beta, DETAIL_FIELDS, ids, details, progress.detailed
                )

    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    if not include_details:
        details.skip("not requested")
    query = ManagedDevicesRequestBuilder.ManagedDevicesRequestBuilderGetQueryParameters(
        filter=device_filter, select=list(LIST_FIELDS)
    )
    first = session.client.device_management.managed_devices.to_get_request_information(
        RequestConfiguration(query_parameters=query)
    )
    seen: set[str] = set()
    duplicates: list[str] = []
    try:
        async for page in pages(session, first, listing.endpoint):
            fresh = []
            for record in page:
                if record["id"] in seen:
                    duplicates.append(record["id"])
                else:
                    seen.add(record["id"])
                    fresh.append(record["id"])
                    listing.records.append(record)
            if page and not fresh:
                raise GraphFault(
                    f"GET {listing.endpoint}: a page repeated listed devices only (loop)"
                )
            progress.listed(len(listing.records))
            if include_details:
                size = session.batch_size
                for start in range(0, len(fresh), size):
                    queue.put_nowait(fresh[start : start + size])
    except (APIError, httpx.HTTPError, GraphFault) as exc:
        listing.fail(exc, f"GET {listing.endpoint} (after {len(listing.records)} devices)")
    finally:
        for _ in workers:
            queue.put_nowait(None)
        await asyncio.gather(*workers)
    if duplicates:
        notes.append(
            f"managed_devices: {len(duplicates)} duplicate record(s) in the list, the first "
            f"kept: {_some(duplicates)}"
        )
    details.settle(requested=len(listing.records))
    return listing, details


async def reconcile(
    session: GraphSession,
    parts: tuple[Part, Part, Part],
    notes: list[str],
    progress: Progress,
    concurrency: int,
) -> dict[str, Any]:
    """Compare the list with the export; fetch by id the Macs the list skipped."""
    listing, details, export = parts
    listed = {r["id"] for r in listing.records}
    result: dict[str, Any] = {"listed": len(listed), "exported": None, "only_in_list": [],
                              "only_in_export": [], "recovered": []}  # fmt: skip
    if export.status != "ok":
        notes.append("device count not reconciled: the export report is unavailable (see gaps)")
        return result
    # joined on the device id, whatever header the job used for it ("DeviceId", "Device ID")
    listed_keys = {i.casefold() for i in listed}
    rows = [
        r
        for r in export.records
        if is_mac_row(r) or export_value(r, "device_id").casefold() in listed_keys
    ]
    if len(rows) < len(export.records):
        notes.append(
            f"export_devices: {len(export.records) - len(rows)} other-platform row(s) dropped"
        )
    export.records = rows
    by_key = {i.casefold(): i for i in listed}
    exported_ids = [export_value(r, "device_id") for r in rows]
    if rows and not any(exported_ids):
        notes.append(
            "device count not reconciled: the export report has no device id column "
            f"(columns: {', '.join(list(rows[0])[:12])})"
        )
        result["exported"] = None
        return result
    exported = {by_key.get(i.casefold(), i) for i in exported_ids if i}
    only_list, only_export = sorted(listed - exported), sorted(exported - listed)
    result.update(exported=len(exported), only_in_list=only_list, only_in_export=only_export)
    if only_list:
        notes.append(
            f"{len(only_list)} listed Mac(s) are not in the export report (enrolled after it was "
            f"built?): {_some(only_list)}"
        )
    if not only_export or listing.status != "ok":
        return result
    recovery = Part("managed_devices", listing.endpoint)
    await fetch_all_by_id(
        session, session.v1, LIST_FIELDS, only_export, recovery, progress.detailed, concurrency
    )
    recovered = [r["id"] for r in recovery.records]
    listing.records += recovery.records
    result["recovered"] = recovered
    notes.append(
        f"the managedDevices list skipped {len(only_export)} Mac(s) that the export report has; "
        f"{len(recovered)} fetched by id: {_some(only_export)}"
    )
    gone = [f["id"] for f in recovery.failures if f.get("status") == 404]
    if gone:
        notes.append(f"{len(gone)} exported Mac(s) no longer exist (404 by id): {_some(gone)}")
    unreached = len(recovery.failures) - len(gone)
    if recovery.status == "denied" or unreached:
        listing.status = "partial"
        listing.reason = recovery.reason or (
            f"{unreached} Mac(s) the list skipped could not be fetched by id: "
            f"{recovery.failures[0]['reason']}"
        )
    if recovered and details.status in ("ok", "partial"):
        await fetch_all_by_id(
            session, session.beta, DETAIL_FIELDS, recovered, details, progress.detailed, concurrency
        )
        details.settle(requested=len(listing.records))
    return result


def _some(ids: list[str], limit: int = 5) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" … (+{len(ids) - limit})" if len(ids) > limit else "")


async def fetch_by_id(
    session: GraphSession,
    root: str,
    fields: tuple[str, ...],
    ids: list[str],
    part: Part,
    on_done: Callable[[int], None],
    *,
    collection: str = "/deviceManagement/managedDevices",
    expand: str = "",
    not_found: str = "not found (removed from Intune after it was listed?)",
) -> None:
    """GET objects of `collection` by id (one $batch of ≤ 20) with `$select` (and `$expand`).

    Records and failures go to `part`. Throttled (429) and unavailable (503/504) items are
    retried with Retry-After; 404s (`not_found`) and other errors are kept in `part.failures`;
    a 401/403 marks the part denied.
    """
    query = f"$select={','.join(fields)}" + (f"&$expand={expand}" if expand else "")
    pending = {i: f"{collection}/{quote(i, safe='@')}?{query}" for i in ids}
    attempt = 0
    while pending:
        try:
            answers = await session.batch(root, list(pending.items()))
        except _GraphError as exc:
            status, code, reason = describe_error(
                exc, f"POST {root}/$batch for {part.endpoint}", PERMISSIONS[part.name]
            )
            if status == "denied":
                part.status, part.reason = "denied", reason
            else:
                part.failures += [{"id": i, "status": code, "reason": reason} for i in pending]
            on_done(len(pending))
            return
        retry: dict[str, str] = {}
        delay = 0.0
        for answer in answers:
            if answer.status == 200 and isinstance(answer.body, dict):
                part.records.append(clean(answer.body))
                continue
            wait = retry_after_s(answer.headers) or session.policy.backoff(attempt + 1)
            if (
                answer.status in RETRY_STATUSES
                and attempt < session.policy.max_retries
                and wait <= session.policy.max_retry_after_s
            ):
                retry[answer.id] = pending[answer.id]
                delay = max(delay, wait)
                if answer.status == 429:
                    session.stats.throttled += 1
                    session.limiter.pause(wait)
                continue
            message = _error_message(answer.body)
            error = APIError(message=message, response_status_code=answer.status)
            status, code, reason = describe_error(
                error, f"GET {part.endpoint}", PERMISSIONS[part.name]
            )
            if status == "denied":
                part.status, part.reason = "denied", reason
            elif code == 404:
                part.failures.append({"id": answer.id, "status": 404, "reason": not_found})
            else:
                part.failures.append({"id": answer.id, "status": code, "reason": reason})
        on_done(len(pending) - len(retry))
        if retry:
            attempt += 1
            session.stats.retries += len(retry)
            await asyncio.sleep(delay)
        pending = retry


async def fetch_all_by_id(
    session: GraphSession,
    root: str,
    fields: tuple[str, ...],
    ids: list[str],
    part: Part,
    on_done: Callable[[int], None],
    concurrency: int,
    **target: str,
) -> None:
    """`fetch_by_id` over any number of ids, at most `concurrency` $batches in flight.

    `target` passes `collection`, `expand` and `not_found` on to `fetch_by_id`.
    """
    gate = asyncio.Semaphore(concurrency)
    size = session.batch_size

    async def one(chunk: list[str]) -> None:
        async with gate:
            if part.status != "denied":
                await fetch_by_id(session, root, fields, chunk, part, on_done, **target)

    await asyncio.gather(*(one(ids[i : i + size]) for i in range(0, len(ids), size)))


def _error_message(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message") or body["error"].get("code") or "")
    return "" if body is None else "unreadable answer body"
