"""Getting one payload to one place: HTTP POST, retries with back-off, secrets kept out of text.

Teams (Workflows), Slack and generic webhooks are a JSON POST each, sent with httpx. apprise
was weighed for them and not used: its Workflows plugin builds its own card (or fills string
tokens into a template file) and always posts to https://HOST, its Slack plugin builds its own
blocks, its JSON plugin its own envelope, and every plugin returns only True/False, so neither
our card nor a retry that honours Retry-After, nor a reason in the log, would be possible.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from auditor import __version__
from auditor.errors import NotifyError
from auditor.sources.graph_network import Proxies, is_loopback
from auditor.sources.graph_throttle import retry_after_s

log = logging.getLogger(__name__)
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_WAIT_S = 120.0  # a Retry-After longer than this is a failure, not a wait
_BODY_CHARS = 200


class SendFailure(NotifyError):
    """One attempt failed; `retryable` when trying again can help (429, 5xx, dropped link)."""

    def __init__(
        self,
        reason: str,
        retryable: bool = False,
        wait_s: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(reason)
        self.retryable = retryable
        self.wait_s = wait_s
        self.status = status  # the HTTP status, when there was an answer


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of one channel: delivered, failed (after retries) or skipped, and why."""

    channel: str
    kind: str
    status: str  # "delivered" | "failed" | "skipped"
    attempts: int
    detail: str

    @property
    def line(self) -> str:
        """One line for the log and the outcome summary."""
        tries = f" after {self.attempts} attempts" if self.attempts > 1 else ""
        return f"{self.channel} ({self.kind}): {self.status}{tries}: {self.detail}"


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret value (and its URL-quoted form) replaced by <redacted>."""
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, "<redacted>")
    return text


def with_retries(
    channel: str,
    kind: str,
    send: Callable[[], str],
    retries: int,
    delay_s: float,
    secrets: Iterable[str],
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """Call `send` until it succeeds, fails for good, or `retries` retries are spent.

    Waits Retry-After when the server sends one (up to MAX_WAIT_S), else `delay_s` doubled
    each time with a little jitter. Every reason is redacted before it is logged or kept.
    """
    secrets = tuple(secrets)
    attempt = 0
    while True:
        attempt += 1
        try:
            detail = send()
        except SendFailure as exc:
            reason = redact(str(exc), secrets)
            if not exc.retryable or attempt > retries:
                return Delivery(channel, kind, "failed", attempt, reason)
            wait = exc.wait_s if exc.wait_s is not None else delay_s * 2 ** (attempt - 1)
            if wait > MAX_WAIT_S:
                return Delivery(
                    channel, kind, "failed", attempt, f"{reason}; asked to wait {wait:.0f} s"
                )
            wait += random.uniform(0, delay_s / 4)
            log.info(
                "notify: %s attempt %d failed (%s); retrying in %.1f s",
                channel,
                attempt,
                reason,
                wait,
            )
            sleep(wait)
            continue
        return Delivery(channel, kind, "delivered", attempt, redact(detail, secrets))


def origin(url: str) -> str:
    """scheme://host[:port] of `url`: what may be shown of a URL whose path or query is secret."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}"


def check_transport(url: str) -> None:
    """Refuse plain http except to loopback: a webhook URL or token must not travel in clear."""
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname or "")):
        return
    raise SendFailure(f"refusing to post to {origin(url)}: https is required off this machine")


def post_json(
    url: str,
    payload: Any,
    timeout_s: float,
    headers: dict[str, str] | None = None,
    proxies: Proxies | None = None,
) -> str:
    """POST `payload` as JSON; a 2xx answer is success. Redirects are not followed.

    `proxies` routes the request as a Graph pull would ([graph] proxy); without it httpx uses
    the environment's (HTTPS_PROXY, NO_PROXY).

    Raises:
        SendFailure: the answer or the connection failed (retryable where it can heal).
    """
    check_transport(url)
    where = origin(url)
    body = orjson.dumps(payload)
    request_headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": f"auditor/{__version__}",
        **(headers or {}),
    }
    try:
        route: dict[str, Any] = {}
        if proxies is not None:
            route = {"proxy": proxies.for_url(httpx.URL(url)), "trust_env": False}
        with httpx.Client(timeout=timeout_s, follow_redirects=False, **route) as client:
            answer = client.post(url, content=body, headers=request_headers)
    except httpx.TimeoutException as exc:
        raise SendFailure(f"{where}: no answer within {timeout_s:g} s", retryable=True) from exc
    except httpx.TransportError as exc:
        raise SendFailure(f"{where}: {type(exc).__name__}: {exc}", retryable=True) from exc
    status = answer.status_code
    if 200 <= status < 300:
        return f"{where} answered {status}"
    text = " ".join(answer.text.split())[:_BODY_CHARS]
    if 300 <= status < 400:
        target = origin(answer.headers.get("location", "")) or "elsewhere"
        raise SendFailure(f"{where} answered {status} redirecting to {target}: not followed")
    raise SendFailure(
        f"{where} answered {status} {answer.reason_phrase}" + (f": {text}" if text else ""),
        retryable=status in RETRY_STATUSES,
        wait_s=retry_after_s(answer.headers) if status in RETRY_STATUSES else None,
        status=status,
    )
