"""Pull the macOS inventory and tenant enrollment objects from Microsoft Graph into a snapshot dict.

Parts (see the snapshot format in snapshot.py): `managed_devices` (core: v1.0 list, `$filter` +
`$select`, every nextLink), `device_details` (beta GET by id in JSON `$batch`es for
bootstrapTokenEscrowed / hardwareInformation), `export_devices` (reports export job `Devices`),
`apns`, `ade_tokens`, `ade_profiles`, `ade_identities`, `enrollment_configurations`, and
`vpp_tokens`, `compliance_settings`, `compliance_policies`, `compliance_assignments`
(graph_policies.py), `role_scope_tags` and, with `lookup_owners`, `entra_users`
(graph_owners.py). A denied or failed optional part
becomes a gap; a failed core part raises PartialSourceError unless partial data is allowed.
Everything runs inside one `asyncio.run()`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from kiota_abstractions.api_error import APIError

from auditor import __version__
from auditor.config import CredentialEnv, GraphConfig, url_problems
from auditor.errors import ConfigError, PartialSourceError, SourceError
from auditor.models import InventoryPart
from auditor.sources.graph_auth import (
    CLOUDS,
    GraphFault,
    TokenCredentialLike,
    TokenSource,
    make_credential,
    tenant_of,
)
from auditor.sources.graph_devices import collect_devices, reconcile
from auditor.sources.graph_export import export_devices
from auditor.sources.graph_network import Proxies, is_loopback, public_url
from auditor.sources.graph_owners import entra_users, role_scope_tags
from auditor.sources.graph_parts import Part, Progress, tenant_parts
from auditor.sources.graph_policies import policy_parts
from auditor.sources.graph_throttle import RateLimiter, RetryPolicy
from auditor.sources.graph_transport import GraphSession
from auditor.sources.snapshot import write_snapshot

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GraphSettings:
    """How to pull from Graph; built by config/CLI from explicit values (secrets stay in env)."""

    cloud: str = "global"  # global | usgov | usgov-dod | china
    graph_url: str | None = None  # v1.0 root override (Graph front, test server); beta derived
    proxy: str | None = None  # else the environment's (HTTPS_PROXY …); credentials from the env
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
    lookup_owners: bool = False  # [owners] entra_lookup: the primary users' department, manager
    progress: bool = True
    credentials: CredentialEnv = field(default_factory=CredentialEnv)  # where the secrets are

    def __post_init__(self) -> None:
        problems = []
        if self.cloud not in CLOUDS:
            problems.append(f"cloud '{self.cloud}' is not one of {', '.join(CLOUDS)}")
        if self.graph_url is not None:
            root_problems = url_problems(self.graph_url, "graph_url")
            is_plain = not root_problems and self.graph_url.startswith("http:")
            if is_plain and not is_loopback(urlsplit(self.graph_url).hostname or ""):
                root_problems.append(
                    f"graph_url '{self.graph_url}': plain http is only accepted for localhost "
                    "(the token would travel unencrypted); use https"
                )
            problems += root_problems
        problems += url_problems(self.proxy, "proxy", is_proxy=True) if self.proxy else []
        positive = ("max_concurrency", "rate_limit_requests", "rate_limit_window_s",
                    "request_timeout_s", "export_poll_s", "export_timeout_s")  # fmt: skip
        problems += [
            f"{name} must be > 0 (got {getattr(self, name)})"
            for name in positive
            if getattr(self, name) <= 0
        ]
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


def settings_from_config(graph: GraphConfig, *, progress: bool = False) -> GraphSettings:
    """GraphSettings from the [graph] section of auditor.toml (+ flags); other fields default."""
    return GraphSettings(
        cloud=graph.cloud,
        graph_url=graph.graph_url,
        tenant_id=graph.tenant_id,
        client_id=graph.client_id,
        allow_partial=graph.allow_partial,
        max_concurrency=graph.max_concurrency,
        proxy=graph.proxy,
        export_timeout_s=graph.export_timeout_s,
        lookup_owners=graph.lookup_owners,
        progress=progress,
        credentials=graph.credentials,
    )


def fetch_to_file(graph: GraphConfig | GraphSettings, path: Path, *, progress: bool = False) -> str:
    """Pull from Graph, write the snapshot to `path` (gzip for .gz) and summarise it in one line.

    Raises:
        PartialSourceError: The device list failed and partial data is not allowed.
        SourceError: No token, or the file could not be written.
        ConfigError: Invalid Graph settings or credential environment.
    """
    settings = (
        graph
        if isinstance(graph, GraphSettings)
        else settings_from_config(graph, progress=progress)
    )
    snapshot = fetch_snapshot(settings)
    write_snapshot(snapshot, path)
    return summarise(snapshot, str(path))


def summarise(snapshot: dict[str, Any], name: str) -> str:
    """One line: Macs, details, export rows, completeness and the parts missing from a snapshot.

    "complete" only when every part of the inventory was collected: a part denied, failed,
    skipped or absent makes a run from the snapshot PARTIAL, so the line says PARTIAL too.
    """
    parts = snapshot["parts"]
    labels = {
        "managed_devices": "Macs",
        "device_details": "with details",
        "export_devices": "export rows",
    }
    counts = ", ".join(
        f"{len(parts[p]['records']):,} {label}" for p, label in labels.items() if p in parts
    )
    missing = {g["part"]: parts.get(g["part"], {}).get("status") or g.get("status") or "gap"
               for g in snapshot["gaps"]}  # fmt: skip
    missing |= {p: parts[p].get("status") for p in parts if parts[p].get("status") != "ok"}
    missing |= {p.value: "not pulled" for p in InventoryPart if p.value not in parts}
    if not missing:
        return f"{name}: {counts}; complete"
    named = ", ".join(f"{part} ({status})" for part, status in missing.items())
    state = "INCOMPLETE (partial data allowed)" if not snapshot["complete"] else "PARTIAL"
    count = f"{len(missing)} part{'' if len(missing) == 1 else 's'} not collected whole"
    return f"{name}: {counts}; {state}: {count}: {named}"


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
        credential, described = make_credential(
            settings.cloud, settings.tenant_id, settings.client_id, settings.credentials
        )
    else:
        described = f"the supplied credential ({type(credential).__name__})"
    when = fetched_at or datetime.now(UTC)
    tokens = TokenSource(credential, CLOUDS[settings.cloud].scope, described)
    snapshot = asyncio.run(_pull(settings, tokens, when))
    for gap in snapshot["gaps"]:
        log.warning("Graph pull gap, %s (%s): %s", gap["part"], gap["status"], gap["reason"])
    return snapshot


def _session(settings: GraphSettings, tokens: TokenSource) -> GraphSession:
    proxies = Proxies.from_environment(settings.proxy)
    log.info("Graph requests to %s go %s", settings.v1_root, proxies.describe(settings.v1_root))
    return GraphSession(
        settings.v1_root,
        CLOUDS[settings.cloud].graph_root,
        tokens,
        proxies,
        RateLimiter(settings.rate_limit_requests, settings.rate_limit_window_s),
        RetryPolicy(settings.max_retries, settings.backoff_base_s, settings.max_retry_after_s),
        settings.request_timeout_s,
        max_connections=settings.max_concurrency + 4,
    )


def _check_token_tenant(configured: str | None, tokens: TokenSource) -> None:
    """Refuse a token issued for another tenant than the configured one, before any request.

    The snapshot names the configured tenant, so another tenant's inventory would otherwise be
    filed, compared and reported under this one (a pre-acquired token set for the wrong tenant).
    """
    issued_for = tenant_of(tokens.current)
    if configured and issued_for and issued_for.lower() != configured.lower():
        raise SourceError(
            f"the Graph token from {tokens.description} was issued for tenant {issued_for}, "
            f"not the configured tenant {configured}: nothing was pulled; give a credential "
            "for the configured tenant (or correct its tenant id)"
        )


async def _pull(settings: GraphSettings, tokens: TokenSource, when: datetime) -> dict[str, Any]:
    started = time.monotonic()
    session = _session(settings, tokens)
    notes: list[str] = []
    try:
        await tokens.token()  # a credential problem surfaces once, before any part runs
        _check_token_tenant(settings.tenant_id, tokens)
        with Progress(settings.progress, session.stats) as progress:
            export = Part("export_devices", f"{session.v1}/deviceManagement/reports/exportJobs")
            tenant_task = asyncio.create_task(tenant_parts(session))
            policy_task = asyncio.create_task(policy_parts(session))
            tags_task = asyncio.create_task(role_scope_tags(session))
            side: list[asyncio.Task[Any]] = [tenant_task, policy_task, tags_task]
            if settings.include_export:
                side.append(asyncio.create_task(_export(session, settings, export, progress)))
            else:
                export.skip("not requested")
            try:
                listing, details = await collect_devices(
                    session, settings.device_filter, settings.include_details,
                    settings.max_concurrency, progress, notes,
                )  # fmt: skip
                if listing.status != "ok" and not settings.allow_partial:
                    raise PartialSourceError(
                        f"{listing.reason} [credential: {tokens.description}]. The device list "
                        "is incomplete, so no snapshot was written; fix the cause and rerun, or "
                        "allow partial data (--allow-partial)"
                    )
                owners = [tags_task]
                if settings.lookup_owners:
                    lookup = entra_users(session, listing, settings.max_concurrency)
                    owners.append(asyncio.create_task(lookup))
                    side.append(owners[-1])
                await asyncio.gather(*side)
                tenant = [*tenant_task.result(), *policy_task.result()]
                tenant += [task.result() for task in owners]
            finally:
                for task in side:
                    task.cancel()
                await asyncio.gather(*side, return_exceptions=True)
            reconciliation = await reconcile(
                session, (listing, details, export), notes, progress, settings.max_concurrency
            )
    finally:
        await session.aclose()
    parts = [listing, details, export, *tenant]
    stats = session.stats
    return {
        "auditor_snapshot": 1,
        "tool_version": __version__,
        "fetched_at": when.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "graph_url": public_url(settings.v1_root),
        "cloud": settings.cloud,
        "tenant_id": settings.tenant_id or tenant_of(tokens.current),
        "complete": listing.status == "ok",
        "parts": {part.name: part.to_json() for part in parts},
        "reconciliation": reconciliation,
        "gaps": [gap for part in parts if (gap := part.gap()) is not None],
        "notes": notes,
        "stats": {
            "requests": stats.requests,
            "throttled": stats.throttled,
            "retries": stats.retries,
            "token_renewals": stats.token_renewals,
            "elapsed_s": round(time.monotonic() - started, 3),
        },
    }


async def _export(
    session: GraphSession, settings: GraphSettings, export: Part, progress: Progress
) -> None:
    try:
        export.records = await export_devices(
            session, settings.export_poll_s, settings.export_timeout_s, progress.export
        )
    except (APIError, httpx.HTTPError, GraphFault) as exc:
        export.fail(exc, f"POST {export.endpoint} (report Devices)")
