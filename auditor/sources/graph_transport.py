"""One pull's msgraph-sdk session: client with the throttling middleware, JSON calls, $batch, ZIP.

Answers are read as the raw JSON Graph sent (the SDK maps unknown enum values to None and its
entity models import ~1,200 modules), so the snapshot keeps the source's values.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from kiota_abstractions.api_error import APIError
from kiota_abstractions.method import Method
from kiota_abstractions.request_information import RequestInformation
from kiota_http.kiota_client_factory import KiotaClientFactory
from kiota_http.middleware import RetryHandler
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_service_client import GraphServiceClient
from msgraph_core import GraphClientFactory
from msgraph_core.middleware import GraphTelemetryHandler

from auditor.sources.graph_auth import BearerAuthProvider, GraphFault, TokenSource
from auditor.sources.graph_network import (
    GraphRoots,
    GraphTransport,
    Proxies,
    is_loopback,
    public_url,
    scrub_userinfo,
)
from auditor.sources.graph_throttle import (
    RETRY_STATUSES,
    GuardMiddleware,
    RateLimiter,
    Repeatable,
    RetryPolicy,
    Stats,
    Weight,
    retries_of,
)

BATCH_LIMIT = 20  # Graph JSON batching: at most 20 requests per $batch
_ERROR_MAP: dict[str, Any] = {"XXX": ODataError}


@dataclass(frozen=True, slots=True)
class BatchAnswer:
    """One inner response of a $batch."""

    id: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


class GraphSession:
    """One pull's msgraph-sdk client and helpers; close it with `aclose`."""

    def __init__(
        self,
        v1_root: str,
        cloud_root: str,
        tokens: TokenSource,
        proxies: Proxies,
        limiter: RateLimiter,
        policy: RetryPolicy,
        timeout_s: float,
        max_connections: int,
    ) -> None:
        self.v1 = v1_root
        self.beta = v1_root.removesuffix("/v1.0") + "/beta"
        self._cloud_roots = (f"{cloud_root}/v1.0", f"{cloud_root}/beta")
        self.tokens = tokens
        self.limiter = limiter
        self.policy = policy
        self.stats = Stats()
        self._timeout_s = timeout_s
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self.roots = GraphRoots.of(v1_root, f"{cloud_root}/v1.0")
        # Owned here: the SDK's AsyncGraphTransport wrapper does not close what it wraps. Proxies
        # are the transport's business, so the client must not read them from the environment.
        self._transport = GraphTransport(self.roots, proxies, _tls(), limits)
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s), transport=self._transport, trust_env=False
        )
        middleware = [
            GuardMiddleware(limiter, tokens, policy, self.stats)
            if isinstance(m, RetryHandler)
            else m
            for m in KiotaClientFactory.get_default_middleware(None)
        ]
        middleware.append(GraphTelemetryHandler())
        http = GraphClientFactory.create_with_custom_middleware(middleware, client=self._http)
        self.adapter = GraphRequestAdapter(BearerAuthProvider(tokens, self.roots), http)
        self.adapter.base_url = v1_root  # without trailing slash: no `//` in request URLs
        self.client = GraphServiceClient(request_adapter=self.adapter)

    @property
    def batch_size(self) -> int:
        """Requests per $batch: Graph's 20, or fewer when the rate limit is tinier than that."""
        return min(BATCH_LIMIT, self.limiter.limit)

    def reroute(self, link: str) -> str:
        """A nextLink that names the cloud's Graph host, pointed at the --graph-url root instead."""
        for default, actual in zip(self._cloud_roots, (self.v1, self.beta), strict=True):
            if default != actual and link.startswith(default + "/"):
                return actual + link[len(default) :]
        return link

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()
        await self._transport.aclose()

    async def call_json(self, request: RequestInformation | str) -> dict[str, Any]:
        """Send one request (GET when given a URL); its JSON object as sent (APIError on 4xx/5xx).

        Raises:
            GraphFault: The body is not a JSON object.
        """
        if isinstance(request, str):
            url, request = request, RequestInformation(Method.GET)
            request.url = url
        request.headers.try_add("Accept", "application/json")
        raw = await self.adapter.send_primitive_async(request, "bytes", _ERROR_MAP)
        return _json_object(raw, request.url)

    async def batch(self, root: str, requests: list[tuple[str, str]]) -> list[BatchAnswer]:
        """Send up to 20 GETs (id, URL relative to `root`) as one JSON $batch; answers by id.

        Raises:
            GraphFault: The batch answer is malformed or lacks an id.
        """
        body = {"requests": [{"id": i, "method": "GET", "url": url} for i, url in requests]}
        request = RequestInformation(Method.POST)
        request.url = f"{root}/$batch"
        request.headers.try_add("Accept", "application/json")
        request.headers.try_add("Content-Type", "application/json")
        request.content = orjson.dumps(body)
        request.add_request_options([Weight(len(requests)), Repeatable()])
        raw = await self.adapter.send_primitive_async(request, "bytes", _ERROR_MAP)
        payload = _json_object(raw, request.url)
        answers = payload.get("responses")
        if not isinstance(answers, list) or not all(isinstance(a, dict) for a in answers):
            raise GraphFault(f"POST {request.url}: batch answer has no 'responses' list")
        out = [
            BatchAnswer(
                str(a.get("id")),
                int(a.get("status") or 0),
                dict(a.get("headers") or {}),
                a.get("body"),
            )
            for a in answers
        ]
        asked = {i for i, _ in requests}
        missing = asked - {a.id for a in out}
        if missing:
            raise GraphFault(f"POST {request.url}: batch answer lacks {len(missing)} request id(s)")
        return [a for a in out if a.id in asked]

    async def download(self, url: str) -> bytes:
        """GET a pre-signed URL (export ZIP) WITHOUT the Graph token, with retries.

        Sent through the pull's transport (its proxy) without the middleware, so the signed URL
        is never logged.

        Raises:
            GraphFault: Not https (off loopback), or still failing after the retries.
        """
        parts = urlsplit(url)
        where = public_url(url)  # no query: it holds the signature
        if parts.scheme != "https" and not is_loopback(parts.hostname or ""):
            raise GraphFault(f"export download URL {where} is not https")
        if parts.username or parts.password:
            raise GraphFault(f"export download URL {where} carries a user name or password")
        timeout = httpx.Timeout(self._timeout_s).as_dict()
        problem, attempt = "", 0
        for attempt in range(self.policy.max_retries + 1):
            if attempt:
                await asyncio.sleep(self.policy.backoff(attempt))
            request = httpx.Request("GET", url, extensions={"timeout": timeout})
            try:  # the bare transport: no middleware, no Authorization header, no request log
                response = await self._transport.handle_async_request(request)
                try:
                    content = await response.aread()
                finally:
                    await response.aclose()
            except httpx.HTTPError as exc:
                problem = type(exc).__name__
                continue
            if response.status_code == 200:
                return content
            problem = f"HTTP {response.status_code}"
            if response.status_code not in RETRY_STATUSES and response.status_code < 500:
                break
        after = f", {_after(attempt)}" if attempt else ""
        raise GraphFault(f"export download from {where} failed ({problem}{after})")


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context per process (loading the CA bundle costs ~0.15 s each time)."""
    return httpx.create_ssl_context()


def _json_object(raw: bytes | None, url: object) -> dict[str, Any]:
    try:
        value = orjson.loads(raw or b"")
    except orjson.JSONDecodeError as exc:
        where = public_url(str(url))
        raise GraphFault(f"GET {where}: malformed JSON in the answer ({exc})") from exc
    if not isinstance(value, dict):
        raise GraphFault(
            f"GET {public_url(str(url))}: answer is {type(value).__name__}, not a JSON object"
        )
    return value


def _after(retries: int) -> str:
    return f"after {retries} retr{'y' if retries == 1 else 'ies'}" if retries else ""


def describe_error(
    exc: APIError | httpx.HTTPError | GraphFault, what: str, permission: str
) -> tuple[str, int | None, str]:
    """(status, http status, reason) for a failed call: "denied" on 401/403, else "failed".

    The reason names the call and, when access was refused, the permission the app needs.
    """
    if isinstance(exc, GraphFault):
        return "failed", None, scrub_userinfo(str(exc))
    after = _after(retries_of(exc))
    if isinstance(exc, httpx.TimeoutException):
        return "failed", None, f"{what}: timed out" + (f" ({after})" if after else "")
    if isinstance(exc, httpx.HTTPError):
        cause = type(exc).__name__ + (f": {exc}" if isinstance(exc, httpx.ProxyError) else "")
        detail = f"{cause}, {after}" if after else cause
        return "failed", None, scrub_userinfo(f"{what}: connection failed ({detail})")
    code = exc.response_status_code
    detail = getattr(getattr(exc, "error", None), "code", None) or ""
    message = (exc.primary_message or "").strip()
    said = f" — Graph said {detail + ': ' if detail else ''}{message}" if message or detail else ""
    said = scrub_userinfo(said)
    if code == 403:
        needs = f"the app needs the {permission} permission (application, admin-consented)"
        return "denied", code, f"{what}: 403 Forbidden; {needs}{said}"
    if code == 401:
        why = f"expired, wrong tenant or audience, or not allowed for {permission}"
        return "denied", code, f"{what}: 401 Unauthorized; the token was rejected ({why}){said}"
    if code == 407:
        who = "AUDITOR_GRAPH_PROXY_USER / _PASSWORD, or those in the proxy URL"
        return "failed", code, f"{what}: 407 Proxy Authentication Required; check {who}"
    if code == 429:
        still = f"still throttled (429) {after}" if after else "throttled (429)"
        return "failed", code, f"{what}: {still}{said}"
    return "failed", code, f"{what}: HTTP {code}" + (f" ({after})" if after else "") + said
