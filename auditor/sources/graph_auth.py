"""Credentials and national clouds for Microsoft Graph: which identity, which authority, which host.

Secrets are read from the environment here (proxy credentials: graph_network.py) and nowhere else,
from the variables a `CredentialEnv` names, and never leave the credential objects: messages
name the variable that supplied a secret, not its value.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import inspect
import json
import os
import re
import time
from dataclasses import dataclass
from typing import Any, Protocol

from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import (
    AzureAuthorityHosts,
    CertificateCredential,
    ClientSecretCredential,
    DefaultAzureCredential,
)
from kiota_abstractions.authentication import AuthenticationProvider
from kiota_abstractions.request_information import RequestInformation

from auditor.config import CredentialEnv
from auditor.errors import ConfigError, SourceError
from auditor.sources.graph_network import GraphRoots

DEFAULT_ENV = CredentialEnv()
TOKEN_ENV = DEFAULT_ENV.token
_REFRESH_MARGIN_S = 120.0  # renew a cached token this long before it expires
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class GraphFault(SourceError):
    """A Graph exchange that went wrong in a way one part records (bad page, loop, foreign host)."""


@dataclass(frozen=True, slots=True)
class Cloud:
    """One Microsoft cloud: where tokens come from and where Graph lives."""

    name: str
    authority: str
    graph_root: str  # scheme + host, no version

    @property
    def scope(self) -> str:
        """The app-only scope for Graph in this cloud."""
        return f"{self.graph_root}/.default"


CLOUDS: dict[str, Cloud] = {
    "global": Cloud("global", AzureAuthorityHosts.AZURE_PUBLIC_CLOUD, "https://graph.microsoft.com"),
    "usgov": Cloud("usgov", AzureAuthorityHosts.AZURE_GOVERNMENT, "https://graph.microsoft.us"),
    "usgov-dod": Cloud("usgov-dod", AzureAuthorityHosts.AZURE_GOVERNMENT, "https://dod-graph.microsoft.us"),
    "china": Cloud("china", AzureAuthorityHosts.AZURE_CHINA, "https://microsoftgraph.chinacloudapi.cn"),
}  # fmt: skip


class TokenCredentialLike(Protocol):
    """What Graph needs from a credential: azure-identity's sync `TokenCredential` shape."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """A bearer token for `scopes`."""
        ...


class StaticTokenCredential:
    """A pre-acquired bearer token (AUDITOR_GRAPH_TOKEN); it cannot be refreshed."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """The token as given; its lifetime is unknown, so assume a day."""
        return AccessToken(self._token, int(time.time()) + 86_400)

    def __repr__(self) -> str:
        return "StaticTokenCredential(<redacted>)"


def make_credential(
    cloud: str,
    tenant_id: str | None,
    client_id: str | None,
    env: CredentialEnv = DEFAULT_ENV,
) -> tuple[TokenCredentialLike, str]:
    """The credential the environment asks for, and a secret-free description of it.

    Order: AUDITOR_GRAPH_TOKEN; client secret (AZURE_CLIENT_SECRET); certificate
    (AZURE_CLIENT_CERTIFICATE_PATH [+ _PASSWORD]); otherwise DefaultAzureCredential (workload
    and managed identity, then Azure CLI / PowerShell / azd sign-in for interactive use).
    `env` renames those variables (a tenant of a tenants file has its own) and may name a
    certificate file and refuse the DefaultAzureCredential fallback.

    Args:
        cloud: Key of CLOUDS; selects the authority host.
        tenant_id: Directory id; falls back to AZURE_TENANT_ID.
        client_id: App (client) id; falls back to AZURE_CLIENT_ID.
        env: Which environment variables hold the secrets (default: the names above).

    Returns:
        The credential and how it was chosen (names variables, never values).

    Raises:
        ConfigError: A secret is set but the tenant/client id or certificate is missing/unreadable,
            or no secret is set where `env` refuses the default credential.
    """
    authority = CLOUDS[cloud].authority
    if token := os.environ.get(env.token, "").strip().removeprefix("Bearer ").strip():
        return StaticTokenCredential(token), f"the pre-acquired token in {env.token}"
    tenant = tenant_id or (os.environ.get(env.tenant_id) if env.tenant_id else None) or ""
    client = client_id or (os.environ.get(env.client_id) if env.client_id else None) or ""
    secret = os.environ.get(env.client_secret, "")
    cert_path = str(env.certificate_file or "") or os.environ.get(env.certificate_path, "")
    cert_named = f"certificate_path {cert_path}" if env.certificate_file else env.certificate_path
    if secret or cert_path:
        variable = env.client_secret if secret else cert_named
        if not tenant or not client:
            missing = " and ".join(
                n for n, v in (("tenant id", tenant), ("client id", client)) if not v
            )
            ids = " / ".join(v for v in (env.tenant_id, env.client_id) if v)
            raise ConfigError(
                f"{variable} is set but the {missing} is not: set "
                f"{ids + ' or ' if ids else ''}graph.tenant_id / graph.client_id"
            )
        if secret:
            described = f"client secret ({env.client_secret}) for app {client} in tenant {tenant}"
            try:
                secret_credential = ClientSecretCredential(
                    tenant, client, secret, authority=authority
                )
            except ValueError as exc:  # azure-identity checks the tenant id's characters
                raise ConfigError(f"tenant id '{tenant}': {exc}") from exc
            return secret_credential, described
        password = os.environ.get(env.certificate_password) or None
        try:
            credential = CertificateCredential(
                tenant, client, certificate_path=cert_path, password=password, authority=authority
            )
        except (OSError, ValueError) as exc:
            shown = cert_named if env.certificate_file else f"{env.certificate_path}={cert_path}"
            raise ConfigError(
                f"{shown}: cannot load the certificate "
                f"({type(exc).__name__}; PEM or PKCS12 with an RSA key expected)"
            ) from exc
        return credential, f"certificate {cert_path} for app {client} in tenant {tenant}"
    if not env.use_default:
        raise ConfigError(
            f"no Graph credential for tenant {tenant or '(no tenant id)'}: set "
            f"{env.client_secret}, {env.certificate_path} (or certificate_path) or {env.token}"
        )
    default = DefaultAzureCredential(authority=authority)
    return default, "DefaultAzureCredential (managed identity, Azure CLI or similar sign-in)"


class TokenSource:
    """Caches the bearer token for one pull and renews it when it ages or Graph rejects it."""

    def __init__(self, credential: TokenCredentialLike, scope: str, description: str) -> None:
        self._credential = credential
        self._scope = scope
        self.description = description
        self._token = ""
        self._renew_at = 0.0
        self._lock = asyncio.Lock()
        self.acquired = 0

    @property
    def current(self) -> str:
        """The cached token ("" before the first acquisition)."""
        return self._token

    async def token(self) -> str:
        """A valid token, acquired on first use and renewed before it expires."""
        if self._token and time.time() < self._renew_at:
            return self._token
        async with self._lock:
            if not self._token or time.time() >= self._renew_at:
                await self._acquire()
            return self._token

    async def refresh(self, rejected: str) -> str | None:
        """A different token after Graph rejected `rejected` (401), or None if none is available."""
        async with self._lock:
            if self._token != rejected:
                return self._token  # another request already renewed it
            await self._acquire()
            return None if self._token == rejected else self._token

    async def _acquire(self) -> None:
        get_token = self._credential.get_token
        try:
            if inspect.iscoroutinefunction(get_token):
                access = await get_token(self._scope)
            else:  # azure-identity's sync credentials block on the network: keep the loop free
                access = await asyncio.to_thread(get_token, self._scope)
        except ClientAuthenticationError as exc:
            first_line = (exc.message or str(exc)).strip().splitlines()[0][:300]
            raise SourceError(
                f"could not get a Microsoft Graph token ({self._scope}) with {self.description}: "
                f"{first_line}"
            ) from exc
        self._token = access.token
        self._renew_at = min(access.expires_on - _REFRESH_MARGIN_S, time.time() + 3_600)
        self.acquired += 1


def tenant_of(token: str) -> str | None:
    """The tenant id (`tid` claim) of a JWT access token, read without verifying it; else None."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    tid = claims.get("tid") if isinstance(claims, dict) else None
    return tid if isinstance(tid, str) and _GUID.fullmatch(tid) else None


class BearerAuthProvider(AuthenticationProvider):
    """Puts the current token on every request (replacing a stale one on a retry)."""

    def __init__(self, tokens: TokenSource, roots: GraphRoots) -> None:
        self._tokens = tokens
        self._roots = roots

    async def authenticate_request(
        self,
        request: RequestInformation,
        additional_authentication_context: dict[str, Any] | None = None,
    ) -> None:
        """Set `Authorization: Bearer …` after checking where the request goes."""
        self._roots.check(str(request.url))
        token = await self._tokens.token()
        if request.headers.contains("Authorization"):
            request.headers.remove("Authorization")
        request.headers.add("Authorization", f"Bearer {token}")
