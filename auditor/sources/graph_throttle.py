"""Client-side throttling for Graph: rate limiter, retries with Retry-After, token renewal on 401.

`GuardMiddleware` sits in the msgraph-sdk's httpx pipeline in place of kiota's RetryHandler, so
every request (and each request inside a `$batch`) waits for the limiter: Intune allows 2,000
requests per 20 s per app per tenant. 429/503/504 are retried after Retry-After (else backoff
with jitter), timeouts and dropped connections with backoff, and a 401 renews the token once.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import random
import time
from collections import deque
from dataclasses import dataclass

import httpx
from kiota_abstractions.request_option import RequestOption
from kiota_http.middleware import BaseMiddleware

from auditor.sources.graph_auth import TokenSource

RETRY_STATUSES = frozenset({429, 503, 504})
_OPTIONS_KEY = "kiota_request_options"  # where kiota-http puts request options on httpx requests


@dataclass(slots=True)
class Stats:
    """Counters of one pull (shown by the progress display, written into the snapshot)."""

    requests: int = 0  # Graph requests sent, each request inside a $batch counted
    throttled: int = 0  # 429 answers (envelope or batch item)
    retries: int = 0
    token_renewals: int = 0


class RateLimiter:
    """At most `limit` request units may reach Graph within any `window_s`, wherever it counts them.

    Graph counts a request when it arrives, somewhere between our send and its answer. So the
    window holds answer times, and requests still in flight count too: a request is admitted only
    if in-flight + answered-within-the-window + it ≤ limit. That bound holds for Graph's count
    whatever the latency, at the cost of ~latency/window of throughput.
    """

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._answered: deque[tuple[float, int]] = deque()
        self._in_window = 0
        self._in_flight = 0
        self._paused_until = 0.0
        self._lock = asyncio.Lock()  # FIFO admission
        self._changed = asyncio.Event()

    async def acquire(self, units: int = 1) -> int:
        """Wait until `units` more requests fit; count them in flight; returns the units taken."""
        units = min(units, self.limit)
        async with self._lock:
            while True:
                now = time.monotonic()
                while self._answered and self._answered[0][0] <= now - self.window_s:
                    self._in_window -= self._answered.popleft()[1]
                wait: float | None
                if now < self._paused_until:
                    wait = self._paused_until - now
                elif self._in_flight + self._in_window + units <= self.limit:
                    self._in_flight += units
                    return units
                else:  # until the oldest answer leaves the window, or something is answered
                    wait = self._answered[0][0] + self.window_s - now if self._answered else None
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), wait)

    def release(self, units: int) -> None:
        """The request(s) taken by `acquire` were answered (or failed) now."""
        self._in_flight -= units
        self._answered.append((time.monotonic(), units))
        self._in_window += units
        self._changed.set()

    def pause(self, seconds: float) -> None:
        """Hold every request back for `seconds` (Graph said Retry-After)."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)


class Weight(RequestOption):
    """How many Graph requests one HTTP request stands for (a $batch of n counts n)."""

    KEY = "auditor.graph.weight"

    def __init__(self, units: int) -> None:
        self.units = units

    @staticmethod
    def get_key() -> str:
        """Option key."""
        return Weight.KEY


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to retry one request."""

    max_retries: int
    backoff_base_s: float
    max_retry_after_s: float

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter for retry `attempt` (1-based), capped at 60 s."""
        base = self.backoff_base_s * 2 ** (attempt - 1)
        return float(min(60.0, base + random.uniform(0, self.backoff_base_s)))


def retry_after_s(headers: httpx.Headers | dict[str, str]) -> float | None:
    """Seconds the server asked to wait (Retry-After as seconds or HTTP date), or None."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    value = str(value).strip()
    if value.replace(".", "", 1).isdigit():
        return float(value) if float(value) > 0 else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time()) or None


class GuardMiddleware(BaseMiddleware):
    """Rate limit, retry and token renewal for every request of the pipeline."""

    def __init__(
        self, limiter: RateLimiter, tokens: TokenSource, policy: RetryPolicy, stats: Stats
    ) -> None:
        super().__init__()
        self._limiter = limiter
        self._tokens = tokens
        self._policy = policy
        self._stats = stats

    async def send(
        self, request: httpx.Request, transport: httpx.AsyncBaseTransport
    ) -> httpx.Response:
        """Send `request`, retrying what is worth retrying; return the final response."""
        options = request.extensions.get(_OPTIONS_KEY) or {}
        weight = getattr(options.get(Weight.KEY), "units", 1)
        attempt, renewed = 0, False
        while True:
            units = await self._limiter.acquire(weight)
            self._stats.requests += weight
            response: httpx.Response | None = None
            try:
                response = await super().send(request, transport)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError):
                if attempt >= self._policy.max_retries:
                    raise
            finally:  # answered, failed or cancelled: from now on it counts in the window
                self._limiter.release(units)
            if response is None:
                attempt += 1
                self._stats.retries += 1
                await asyncio.sleep(self._policy.backoff(attempt))
                continue
            status = response.status_code
            if status in RETRY_STATUSES and attempt < self._policy.max_retries:
                delay = retry_after_s(response.headers) or self._policy.backoff(attempt + 1)
                if delay > self._policy.max_retry_after_s:
                    return response
                if status == 429:
                    self._stats.throttled += 1
                    self._limiter.pause(delay)
                await response.aclose()
                attempt += 1
                self._stats.retries += 1
                request.headers["Retry-Attempt"] = str(attempt)
                await asyncio.sleep(delay)
                continue
            if status == 401 and not renewed and request.headers.get("Authorization"):
                rejected = request.headers["Authorization"].removeprefix("Bearer ")
                fresh = await self._tokens.refresh(rejected)
                if fresh:
                    await response.aclose()
                    renewed = True
                    self._stats.token_renewals += 1
                    request.headers["Authorization"] = f"Bearer {fresh}"
                    continue
            return response
