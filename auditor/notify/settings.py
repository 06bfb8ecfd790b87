"""The [notify] table of auditor.toml: channels, when each one hears, and delivery limits.

Read from `Config.notify` (the table as written); every problem is collected so `auditor`
reports them together with the rest of the file (exit 2). Secrets are never in the file: a
channel names the environment variables that hold them (`url_env`, `password_env`,
`token_env`), and values are read only when a message is sent.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from auditor.config import Config
from auditor.errors import ConfigError
from auditor.models import Severity
from auditor.typed_table import TableReader

KINDS = ("teams", "slack", "smtp", "graph-mail", "webhook")
TRIGGERS = ("every-run", "new-failures", "expiring")
ATTACHMENTS = {"pdf": "report.pdf", "html": "report.html", "xlsx": "report.xlsx",
               "json": "findings.json"}  # fmt: skip
LINK_FIELDS = ("period", "as_of", "organisation", "tenant_id")
SMTP_TLS = ("starttls", "implicit", "none")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
# Query keys that carry a credential in webhook URLs (Workflows `sig`, tokens, API keys).
_SECRET_QUERY = {"sig", "signature", "token", "key", "code", "secret", "password", "apikey"}
_GLOBAL = {"on", "severity", "expiry_days", "device_names", "report_url", "attach", "retries",
           "retry_delay_s", "timeout_s", "max_attachment_mb", "channels"}  # fmt: skip
_CHANNEL = {
    "teams": {"url_env"},
    "slack": {"url_env"},
    "webhook": {"url", "url_env", "token_env"},
    "smtp": {"url", "password_env", "from", "to", "tls", "attach"},
    "graph-mail": {"from", "to", "attach"},
}
_PER_CHANNEL = {"type", "on", "severity"}


@dataclass(frozen=True, slots=True)
class Channel:
    """One place a message goes: its kind, where, whose secrets, and when it hears."""

    name: str
    kind: str
    triggers: frozenset[str]
    severity: Severity  # new failures at or above this count for "new-failures"
    url: str | None = None  # from the file: never a credential
    url_env: str | None = None  # the variable holding a URL that is a credential
    secret_env: str | None = None  # SMTP password or webhook bearer token
    sender: str | None = None
    recipients: tuple[str, ...] = ()
    tls: str = "starttls"
    attach: tuple[str, ...] = ()

    @property
    def is_mail(self) -> bool:
        """True for the e-mail channels (they carry attachments, not only a link)."""
        return self.kind in ("smtp", "graph-mail")


@dataclass(frozen=True, slots=True)
class NotifySettings:
    """Every channel and the limits shared by all of them."""

    channels: tuple[Channel, ...] = ()
    severity: Severity = Severity.HIGH  # what a message's causes and device names cover
    expiry_days: int = 30  # certificates, tokens and waivers expiring within it are listed
    device_names: int = 10
    report_url: str | None = None
    retries: int = 3
    retry_delay_s: float = 2.0
    timeout_s: float = 30.0
    max_attachment_mb: float = 10.0


def notify_problems(config: Config) -> list[str]:
    """Everything wrong with the [notify] table of `config` (empty when it is fine)."""
    problems: list[str] = []
    _parse(config.notify, problems)
    return problems


def notify_settings(config: Config) -> NotifySettings:
    """The [notify] settings of `config`.

    Raises:
        ConfigError: the table has problems (normally caught earlier by `notify_problems`).
    """
    problems: list[str] = []
    settings = _parse(config.notify, problems)
    if problems:
        raise ConfigError("[notify]: " + "; ".join(problems))
    return settings


def _parse(table: Mapping[str, Any], problems: list[str]) -> NotifySettings:
    get = TableReader(problems)
    for key in sorted(set(table) - _GLOBAL):
        problems.append(f"unknown key 'notify.{key}'{_secret_hint(key)}")
    triggers = _triggers(table, "notify.on", frozenset({"every-run"}), problems)
    severity = _severity(table, "notify.severity", Severity.HIGH, problems)
    expiry_days = get.integer(table, "notify.expiry_days", 30)
    attach = get.strings(table, "notify.attach", ("pdf",))
    _check_attach(attach, "notify.attach", problems)
    settings = NotifySettings(
        severity=severity,
        expiry_days=expiry_days,
        device_names=get.integer(table, "notify.device_names", 10),
        report_url=get.text(table, "notify.report_url", "") or None,
        retries=get.integer(table, "notify.retries", 3),
        retry_delay_s=_number(table, "notify.retry_delay_s", 2.0, problems),
        timeout_s=_number(table, "notify.timeout_s", 30.0, problems),
        max_attachment_mb=_number(table, "notify.max_attachment_mb", 10.0, problems),
    )
    for label, value, low, high in (
        ("notify.expiry_days", expiry_days, 0, 3650),
        ("notify.device_names", settings.device_names, 0, 1000),
        ("notify.retries", settings.retries, 0, 10),
        ("notify.retry_delay_s", settings.retry_delay_s, 0, 300),
        ("notify.timeout_s", settings.timeout_s, 1, 600),
        ("notify.max_attachment_mb", settings.max_attachment_mb, 0, 100),
    ):
        if not low <= value <= high:
            problems.append(f"{label}: must be between {low} and {high}, got {value}")
    if settings.report_url:
        _check_link(settings.report_url, problems)
    channels_table = table.get("channels", {})
    if not isinstance(channels_table, Mapping):
        problems.append('notify.channels must be tables: [notify.channels.NAME] type = "teams"')
        channels_table = {}
    defaults = Channel("", "", triggers, severity, attach=attach)
    channels = []
    for name, raw in channels_table.items():
        if not isinstance(raw, Mapping):
            problems.append(f"notify.channels.{name} must be a table")
            continue
        channel = _channel(str(name), raw, defaults, get, problems)
        if channel is not None:
            channels.append(channel)
    return replace(settings, channels=tuple(channels))


def _channel(
    name: str, raw: Mapping[str, Any], defaults: Channel, get: TableReader, problems: list[str]
) -> Channel | None:
    where = f"notify.channels.{name}"
    kind = get.text(raw, f"{where}.type", "")
    if kind not in KINDS:
        problems.append(f"{where}.type: '{kind}' is not one of {', '.join(KINDS)}")
        return None
    for key in sorted(set(raw) - _CHANNEL[kind] - _PER_CHANNEL):
        hint = _secret_hint(key)
        if key == "url" and kind in ("teams", "slack"):
            hint = " (this webhook URL is itself a credential: set it in an environment "
            hint += "variable and name that variable in url_env)"
        problems.append(f"unknown key '{where}.{key}' for type {kind}{hint}")
    envs = {k: get.text(raw, f"{where}.{k}", "") or None for k in ("url_env", "password_env",
            "token_env")}  # fmt: skip
    for key, value in envs.items():
        if value is not None and not _ENV_NAME.match(value):
            problems.append(f"{where}.{key}: '{value}' is not an environment variable name")
    url = get.text(raw, f"{where}.url", "") or None
    channel = Channel(
        name=name,
        kind=kind,
        triggers=_triggers(raw, f"{where}.on", defaults.triggers, problems),
        severity=_severity(raw, f"{where}.severity", defaults.severity, problems),
        url=url,
        url_env=envs["url_env"],
        secret_env=envs["password_env"] or envs["token_env"],
        sender=get.text(raw, f"{where}.from", "") or None,
        recipients=get.strings(raw, f"{where}.to", ()),
        attach=get.strings(raw, f"{where}.attach", defaults.attach),
    )
    if kind in ("teams", "slack") and not channel.url_env:
        problems.append(f"{where}: url_env is required (the variable holding the webhook URL)")
    if kind == "webhook" and (url is None) == (channel.url_env is None):
        problems.append(f"{where}: give exactly one of url and url_env")
    if kind == "webhook" and url is not None:
        _check_url(url, f"{where}.url", ("https", "http"), problems)
    if channel.is_mail:
        _check_attach(channel.attach, f"{where}.attach", problems)
        if not channel.sender or not _ADDRESS.match(channel.sender):
            problems.append(f"{where}.from: an e-mail address is required")
        if not channel.recipients:
            problems.append(f"{where}.to: at least one recipient is required")
        for address in channel.recipients:
            if not _ADDRESS.match(address):
                problems.append(f"{where}.to: '{address}' is not an e-mail address")
    if kind == "smtp":
        return _smtp(channel, raw, get, problems)
    return channel


def _smtp(
    channel: Channel, raw: Mapping[str, Any], get: TableReader, problems: list[str]
) -> Channel:
    """SMTP: `smtp://[user@]host[:port]` (STARTTLS) or `smtps://` (TLS from the first byte)."""
    where = f"notify.channels.{channel.name}"
    if channel.url is None:
        problems.append(f"{where}.url: required, e.g. smtp://user@smtp.example.com:587")
        return channel
    parts = _check_url(channel.url, f"{where}.url", ("smtp", "smtps"), problems)
    default_tls = "implicit" if parts is not None and parts.scheme == "smtps" else "starttls"
    tls = get.text(raw, f"{where}.tls", default_tls)
    if tls not in SMTP_TLS:
        problems.append(f"{where}.tls: '{tls}' is not one of {', '.join(SMTP_TLS)}")
    has_user = parts is not None and bool(parts.username)
    if has_user and not channel.secret_env:
        problems.append(f"{where}: the URL names a user; name the password's variable in "
                        "password_env")  # fmt: skip
    if channel.secret_env and not has_user:
        problems.append(f"{where}: password_env needs a user in the URL (smtp://USER@host)")
    if tls == "none" and channel.secret_env:
        problems.append(f"{where}.tls: refusing to send a password without TLS")
    return replace(channel, tls=tls)


def _check_url(url: str, label: str, schemes: tuple[str, ...], problems: list[str]) -> Any:
    """Problems with a URL written in the file (a credential in it is one); its parts."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        problems.append(f"{label}: not a URL ({exc})")
        return None
    if parts.scheme not in schemes or not parts.hostname:
        problems.append(f"{label}: expected {' or '.join(s + '://' for s in schemes)}HOST…")
        return None
    if parts.password is not None:
        problems.append(f"{label}: holds a password; put it in an environment variable "
                        "(password_env / token_env)")  # fmt: skip
    secret_keys = sorted({k for k, _ in parse_qsl(parts.query)} & _SECRET_QUERY)
    if secret_keys:
        problems.append(f"{label}: its query holds a credential ({', '.join(secret_keys)}); "
                        "set the whole URL in an environment variable and use url_env")  # fmt: skip
    return parts


def _check_link(template: str, problems: list[str]) -> None:
    try:
        names = {field for _, field, _, _ in string.Formatter().parse(template) if field}
    except ValueError as exc:
        problems.append(f"notify.report_url: not a valid template ({exc})")
        return
    unknown = sorted(names - set(LINK_FIELDS))
    if unknown:
        known = ", ".join("{" + f + "}" for f in LINK_FIELDS)
        problems.append(f"notify.report_url: unknown placeholder(s) {unknown} (known: {known})")
    if urlsplit(template).scheme not in ("https", "http"):
        problems.append("notify.report_url: expected an http(s):// link")


def _check_attach(attach: tuple[str, ...], label: str, problems: list[str]) -> None:
    for item in attach:
        if item not in ATTACHMENTS:
            problems.append(f"{label}: '{item}' is not one of {', '.join(ATTACHMENTS)}")


def _triggers(
    table: Mapping[str, Any], label: str, default: frozenset[str], problems: list[str]
) -> frozenset[str]:
    value = table.get(label.rsplit(".", 1)[-1])
    if value is None:
        return default
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        problems.append(f"{label}: expected one of {', '.join(TRIGGERS)} or a list of them")
        return default
    unknown = [v for v in values if v not in TRIGGERS]
    if unknown:
        problems.append(f"{label}: {unknown} not among {', '.join(TRIGGERS)}")
        return default
    return frozenset(values)


def _severity(
    table: Mapping[str, Any], label: str, default: Severity, problems: list[str]
) -> Severity:
    value = table.get(label.rsplit(".", 1)[-1])
    if value is None:
        return default
    try:
        return Severity(value)
    except ValueError:
        problems.append(f"{label}: '{value}' is not a severity")
        return default


def _number(table: Mapping[str, Any], label: str, default: float, problems: list[str]) -> float:
    value = table.get(label.rsplit(".", 1)[-1], default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(f"{label}: expected a number, got {value!r}")
        return default
    return float(value)


def _secret_hint(key: str) -> str:
    secretish = ("password", "secret", "token", "webhook", "key", "sig")
    if any(word in key.lower() for word in secretish) and not key.endswith("_env"):
        return " (secrets belong in environment variables: name them in *_env keys)"
    return ""
