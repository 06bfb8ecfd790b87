"""Where a pull's requests may go: the Graph roots the token may reach, proxies, clean URLs.

Every request of a pull leaves through `GraphTransport`. One carrying `Authorization` is refused,
before anything is sent, unless its whole origin (scheme, host, port) and its path lie under a
configured Graph root. Each request then goes through the proxy `[graph] proxy` names (credentials
from AUDITOR_GRAPH_PROXY_USER / AUDITOR_GRAPH_PROXY_PASSWORD), else the one the environment names
(HTTPS_PROXY, HTTP_PROXY, ALL_PROXY; NO_PROXY exempts hosts), as urllib and curl read them.
"""

from __future__ import annotations

import ipaddress
import os
import re
import ssl
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NoReturn
from urllib.parse import unquote

import httpx

from auditor.errors import ConfigError, SourceError

PROXY_USER_ENV = "AUDITOR_GRAPH_PROXY_USER"
PROXY_PASSWORD_ENV = "AUDITOR_GRAPH_PROXY_PASSWORD"
_PROXY_SCHEMES = ("http", "https")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s@?#]*@")


class TokenDestinationError(SourceError):
    """The Graph token would have gone outside the configured Graph roots; nothing was sent.

    Not a part failure: the pull stops (exit 4) whatever `allow_partial` says.
    """


def scrub_userinfo(text: str) -> str:
    """`text` with the user name and password of every URL in it removed."""
    return _USERINFO.sub(r"\1", text)


def public_url(url: str | httpx.URL) -> str:
    """scheme://host[:port]/path of `url`: no credentials, no query (it may hold a signature)."""
    try:
        parsed = httpx.URL(str(url))
    except httpx.InvalidURL:
        return scrub_userinfo(str(url)).split("?", 1)[0]
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{host}{port}{parsed.path}"


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (where plain http is acceptable)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class GraphRoots:
    """The Graph API roots (…/v1.0 and …/beta) the bearer token may be sent under."""

    roots: tuple[str, ...]
    _parsed: tuple[tuple[str, str, int | None, str], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        parsed = [httpx.URL(root) for root in self.roots]  # once: every request is checked
        origins = tuple((u.scheme, u.host.lower(), u.port, u.path.rstrip("/")) for u in parsed)
        object.__setattr__(self, "_parsed", origins)

    @classmethod
    def of(cls, *v1_roots: str) -> GraphRoots:
        """Each v1.0 root and its beta twin, without duplicates."""
        roots = [r.rstrip("/") for v1 in v1_roots for r in (v1, v1.rstrip("/")[:-5] + "/beta")]
        return cls(tuple(dict.fromkeys(roots)))

    def check(self, url: str | httpx.URL) -> None:
        """Refuse `url` unless its origin and path lie under one of the roots.

        Raises:
            TokenDestinationError: It does not (or it carries a user name or password).
        """
        try:
            target = url if isinstance(url, httpx.URL) else httpx.URL(url)
        except httpx.InvalidURL:
            self._refuse(url, "it is not a valid URL")
        if target.userinfo:
            self._refuse(url, "it carries a user name or password")
        segments = unquote(target.raw_path.decode("ascii").split("?", 1)[0]).split("/")
        if ".." in segments or "." in segments:
            self._refuse(url, "its path climbs out of its folder (. or ..)")
        origin, path = (target.scheme, target.host.lower(), target.port), target.path
        if not any(
            origin == (scheme, host, port) and (path == base or path.startswith(base + "/"))
            for scheme, host, port, base in self._parsed
        ):
            self._refuse(url, "it is not under a configured Graph root")

    def _refuse(self, url: str | httpx.URL, why: str) -> NoReturn:
        raise TokenDestinationError(
            f"refusing to send the Graph token to {public_url(url)}: {why}. Nothing was sent "
            f"there. The configured Graph roots are {', '.join(self.roots)}; an answer from Graph "
            "(a nextLink, a redirect or a job URL) pointed elsewhere. If Graph really lives there, "
            "set graph.graph_url (--graph-url) or graph.cloud"
        )


@dataclass
class Proxies:
    """Which proxy each request goes through: the configured one, else the environment's."""

    configured: str | None = None  # [graph] proxy, without credentials
    credentials: tuple[str, str] | None = None  # from AUDITOR_GRAPH_PROXY_USER / _PASSWORD
    environment: Mapping[str, str] = field(default_factory=dict)  # urllib.request.getproxies()
    _chosen: dict[tuple[str, str, int | None], httpx.Proxy | None] = field(
        default_factory=dict, init=False, repr=False
    )

    @classmethod
    def from_environment(cls, configured: str | None) -> Proxies:
        """The configured proxy with its credentials, and the environment's proxies.

        Raises:
            ConfigError: Half the credentials are set, or a proxy is not http(s).
        """
        user, password = os.environ.get(PROXY_USER_ENV, ""), os.environ.get(PROXY_PASSWORD_ENV, "")
        if bool(user) != bool(password):
            missing = PROXY_PASSWORD_ENV if user else PROXY_USER_ENV
            raise ConfigError(f"proxy credentials: {missing} is not set (set both or neither)")
        environment = {
            scheme: url if "://" in url else f"http://{url}"
            for scheme, url in urllib.request.getproxies().items()
            if scheme in ("http", "https", "all") and url
        }
        for scheme, url in environment.items():
            kind = url.split("://", 1)[0].lower()
            if kind not in _PROXY_SCHEMES:
                raise ConfigError(
                    f"the {scheme} proxy of the environment ({scheme.upper()}_PROXY) is a {kind} "
                    "proxy; only http:// and https:// proxies are supported"
                )
        return cls(configured, (user, password) if user else None, environment)

    def for_url(self, url: httpx.URL) -> httpx.Proxy | None:
        """The proxy for `url`, or None to connect directly (NO_PROXY, or no proxy set)."""
        key = (url.scheme, url.host, url.port)
        if key not in self._chosen:
            self._chosen[key] = self._choose(url)
        return self._chosen[key]

    def describe(self, url: str) -> str:
        """How requests to `url` travel, without credentials (for the log)."""
        proxy = self.for_url(httpx.URL(url))
        if proxy is None:
            return "directly (no proxy applies)"
        source = "graph.proxy" if self.configured else "the environment's proxy settings"
        login = f", signing in as {PROXY_USER_ENV}" if self.credentials else ""
        login = login or (", with the proxy URL's credentials" if proxy.raw_auth else "")
        return f"through the proxy {public_url(proxy.url)} (from {source}{login})"

    def _choose(self, url: httpx.URL) -> httpx.Proxy | None:
        chosen = self.configured or self.environment.get(url.scheme) or self.environment.get("all")
        host = f"{url.host}:{url.port}" if url.port else url.host
        if not chosen or urllib.request.proxy_bypass(host):
            return None
        if self.credentials is None:
            return httpx.Proxy(chosen)  # credentials in the URL become Proxy-Authorization
        bare = httpx.URL(chosen).copy_with(username=None, password=None)
        return httpx.Proxy(bare, auth=self.credentials)


class GraphTransport(httpx.AsyncBaseTransport):
    """The one way out of a pull: the token's destination is checked at the wire, then routed."""

    def __init__(
        self, roots: GraphRoots, proxies: Proxies, verify: ssl.SSLContext, limits: httpx.Limits
    ) -> None:
        self._roots = roots
        self._proxies = proxies
        self._verify = verify
        self._limits = limits
        self._direct = self._open(None)
        self._via: dict[str, httpx.AsyncHTTPTransport] = {}

    def _open(self, proxy: httpx.Proxy | None) -> httpx.AsyncHTTPTransport:
        return httpx.AsyncHTTPTransport(
            verify=self._verify, http2=True, limits=self._limits, proxy=proxy
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request` (refused when it carries a token to a place outside Graph)."""
        if "authorization" in request.headers:
            self._roots.check(request.url)
        proxy = self._proxies.for_url(request.url)
        if proxy is None:
            return await self._direct.handle_async_request(request)
        key = str(proxy.url)
        if key not in self._via:
            self._via[key] = self._open(proxy)
        return await self._via[key].handle_async_request(request)

    async def aclose(self) -> None:
        """Close every connection pool."""
        for transport in (self._direct, *self._via.values()):
            await transport.aclose()
