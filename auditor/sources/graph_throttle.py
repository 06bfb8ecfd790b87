"""Client-side throttling for Graph: rate limiter, retries with Retry-After, token renewal on 401.

`GuardMiddleware` sits in the msgraph-sdk's httpx pipeline in place of kiota's RetryHandler, so
every request (and each request inside a `$batch`) waits for the limiter: Intune allows 2,000
requests per 20 s per app per tenant. 429/503/504 are retried after Retry-After (else backoff
with jitter), timeouts and dropped connections with backoff, and a 401 renews the token once. The
body is read here too, so an answer cut off mid-body is retried like a dropped connection when
the request may be repeated (GET, or a $batch of GETs), within the same budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import random
import time
from collections import deque
from dataclasses import dataclass

import httpx
from kiota_abstractions.request_option import RequestOption
from kiota_http.middleware import BaseMiddleware

from auditor.sources.graph_auth import TokenSource
from auditor.sources.graph_network import public_url, scrub_userinfo

RETRY_STATUSES = frozenset({429, 503, 504})
RETRIES_HEADER = "X-Auditor-Retries"  # set on a final answer: how often it was retried
_RETRIES_ATTRIBUTE = "auditor_retries"  # set on a final exception: how often it was retried
_OPTIONS_KEY = "kiota_request_options"  # where kiota-http puts request options on httpx requests
_REPEATABLE_METHODS = frozenset({"GET", "HEAD"})
# What goes wrong on the wire: no answer in time, the connection dropped or cut mid-answer.
_WIRE_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
log = logging.getLogger(__name__)


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


class Repeatable(RequestOption):
    """Marks a request other than GET that may be sent again (a $batch of GETs)."""

    KEY = "auditor.graph.repeatable"

    @staticmethod
    def get_key() -> str:
        """Option key."""
        return Repeatable.KEY


def retries_of(error: BaseException) -> int:
    """How often the request that ended in `error` was retried before giving up (0: never)."""
    headers = getattr(error, "response_headers", None)
    if isinstance(headers, httpx.Headers) and headers.get(RETRIES_HEADER, "").isdigit():
        return int(headers[RETRIES_HEADER])
    count = getattr(error, _RETRIES_ATTRIBUTE, 0)
    return count if isinstance(count, int) else 0


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
        """Send `request`, retrying what is worth retrying; return the final response, body read.

        Raises:
            httpx.TransportError: Still failing on the wire after the retries (or a cut body
                of a request that may not be repeated); `retries_of` tells how often it was tried.
        """
        options = request.extensions.get(_OPTIONS_KEY) or {}
        weight = getattr(options.get(Weight.KEY), "units", 1)
        repeatable = request.method in _REPEATABLE_METHODS or Repeatable.KEY in options
        attempt, renewed = 0, False
        while True:
            units = await self._limiter.acquire(weight)
            self._stats.requests += weight
            outcome: httpx.Response | httpx.TransportError
            try:
                outcome = await super().send(request, transport)
            except _WIRE_ERRORS as exc:
                outcome = exc
            finally:  # answered, failed or cancelled: from now on it counts in the window
                self._limiter.release(units)
            if isinstance(outcome, httpx.Response):
                delay = self._status_delay(outcome, attempt)
                if delay is not None:
                    await outcome.aclose()
                    why = f"HTTP {outcome.status_code}"
                    attempt = await self._pause(request, attempt, delay, why)
                    continue
                if outcome.status_code == 401 and not renewed and await self._renew(request):
                    await outcome.aclose()
                    renewed = True
                    continue
                try:  # inside the loop: a body cut off mid-answer is retried like a dropped line
                    await outcome.aread()
                except _WIRE_ERRORS as exc:
                    await outcome.aclose()
                    if not repeatable:
                        raise _counted(exc, attempt) from None
                    outcome = exc
                else:
                    outcome.headers[RETRIES_HEADER] = str(attempt)
                    return outcome
            if attempt >= self._policy.max_retries:
                raise _counted(outcome, attempt)
            why = scrub_userinfo(f"{type(outcome).__name__} {str(outcome)[:120]}".strip())
            attempt = await self._pause(request, attempt, self._policy.backoff(attempt + 1), why)

    def _status_delay(self, response: httpx.Response, attempt: int) -> float | None:
        """Seconds to wait before retrying a 429/503/504 answer, or None to keep the answer."""
        if response.status_code not in RETRY_STATUSES or attempt >= self._policy.max_retries:
            return None
        delay = retry_after_s(response.headers) or self._policy.backoff(attempt + 1)
        if delay > self._policy.max_retry_after_s:
            return None
        if response.status_code == 429:
            self._stats.throttled += 1
            self._limiter.pause(delay)
        return delay

    async def _renew(self, request: httpx.Request) -> bool:
        """Put a renewed token on `request` after a 401; False when there is none."""
        if not request.headers.get("Authorization"):
            return False
        rejected = request.headers["Authorization"].removeprefix("Bearer ")
        fresh = await self._tokens.refresh(rejected)
        if not fresh:
            return False
        self._stats.token_renewals += 1
        request.headers["Authorization"] = f"Bearer {fresh}"
        return True

    async def _pause(self, request: httpx.Request, attempt: int, delay: float, why: str) -> int:
        """Log and wait before retry `attempt + 1`; returns the new attempt count."""
        attempt += 1
        self._stats.retries += 1
        log.info(
            "%s %s: %s; retry %d of %d in %.1f s", request.method, public_url(request.url),
            why, attempt, self._policy.max_retries, delay,
        )  # fmt: skip
        request.headers["Retry-Attempt"] = str(attempt)
        await asyncio.sleep(delay)
        return attempt


def _counted(error: httpx.TransportError, attempt: int) -> httpx.TransportError:
    """`error`, marked with the number of retries made before it was given up."""
    setattr(error, _RETRIES_ATTRIBUTE, attempt)
    return error
