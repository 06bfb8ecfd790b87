"""Send a run's message (or a failure, or a test) to every channel whose triggers it meets.

Secrets are read from the environment here, at send time, and passed on only to the request
that needs them; every reason that reaches a log or the outcome summary is redacted. The Graph
token goes only to the configured cloud's Graph host (or the `graph_url` given for tests and
proxies), never through a redirect.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from azure.core.exceptions import ClientAuthenticationError

from auditor.config import Config
from auditor.errors import AuditorError
from auditor.notify.formats import slack_payload, teams_payload, webhook_payload
from auditor.notify.layout import Layout, failure_layout, probe_layout, run_layout
from auditor.notify.mail import (
    GRAPH_ATTACHMENT_LIMIT_MB,
    graph_mail,
    mime_message,
    pick_attachments,
    send_smtp,
    with_attachments,
)
from auditor.notify.message import Message, RunFailure, triggers_met
from auditor.notify.sending import Delivery, SendFailure, post_json, redact, with_retries
from auditor.notify.settings import Channel, NotifySettings
from auditor.sources.graph import settings_from_config
from auditor.sources.graph_auth import CLOUDS, TOKEN_ENV, make_credential
from auditor.sources.graph_network import GraphRoots, Proxies

log = logging.getLogger(__name__)
Subject = Message | RunFailure | None
# Variables whose values must never appear in a notification's log line, wherever they come from.
_GRAPH_SECRETS = (TOKEN_ENV, "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PASSWORD")


def notify_run(
    config: Config, settings: NotifySettings, message: Message, folder: Path
) -> list[Delivery]:
    """Send `message` to each channel whose triggers it meets; the others are skipped."""
    deliveries = []
    for channel in settings.channels:
        reasons = triggers_met(message, channel.triggers, channel.severity)
        if not reasons:
            quiet = Delivery(channel.name, channel.kind, "skipped", 0, _quiet(channel, settings))
            deliveries.append(_logged(quiet))
            continue
        layout = run_layout(message, reasons)
        deliveries.append(_deliver(config, settings, channel, layout, message, folder))
    return deliveries


def notify_failure(config: Config, settings: NotifySettings, failure: RunFailure) -> list[Delivery]:
    """Tell every channel that the run stopped: a silent failure would read as a quiet month."""
    layout = failure_layout(failure)
    return [_deliver(config, settings, c, layout, failure, None) for c in settings.channels]


def notify_test(config: Config, settings: NotifySettings, sent_at: str) -> list[Delivery]:
    """Send a test message (no audit data) to each channel."""
    return [
        _deliver(
            config, settings, c, probe_layout(config.organisation, c.name, sent_at), None, None
        )
        for c in settings.channels
    ]


def missing_secrets(settings: NotifySettings) -> list[str]:
    """Channels whose environment variables are unset (for --notify-required and --test)."""
    problems = []
    for channel in settings.channels:
        for variable in (channel.url_env, channel.secret_env):
            if variable and not os.environ.get(variable, "").strip():
                problems.append(f"notify channel '{channel.name}': {variable} is not set")
    return problems


def _quiet(channel: Channel, settings: NotifySettings) -> str:
    said = []
    if "new-failures" in channel.triggers:
        said.append(f"nothing new at or above {channel.severity.value}")
    if "expiring" in channel.triggers:
        said.append(f"nothing expiring within {settings.expiry_days} days")
    return "; ".join(said) or "no trigger met"


def _deliver(
    config: Config,
    settings: NotifySettings,
    channel: Channel,
    layout: Layout,
    subject: Subject,
    folder: Path | None,
) -> Delivery:
    secrets = [os.environ.get(v, "") for v in (channel.url_env, channel.secret_env) if v]
    secrets += [os.environ.get(v, "") for v in _GRAPH_SECRETS]
    secrets += [os.environ.get(v, "") for v in config.graph.credentials.secret_names()]
    try:
        send = _sender(config, settings, channel, layout, subject, folder)
    except SendFailure as exc:  # a missing variable or a refused URL: retrying cannot help
        reason = redact(str(exc), secrets)
        return _logged(Delivery(channel.name, channel.kind, "failed", 0, reason))
    delivery = with_retries(
        channel.name, channel.kind, send, settings.retries, settings.retry_delay_s, secrets
    )
    return _logged(delivery)


def _logged(delivery: Delivery) -> Delivery:
    if delivery.status == "failed":
        log.warning("notify: %s", delivery.line)
    else:
        log.info("notify: %s", delivery.line)
    return delivery


def _env(variable: str | None) -> str | None:
    if variable is None:
        return None
    value = os.environ.get(variable, "").strip()
    if not value:
        raise SendFailure(f"{variable} is not set")
    return value


def _sender(
    config: Config,
    settings: NotifySettings,
    channel: Channel,
    layout: Layout,
    subject: Subject,
    folder: Path | None,
) -> Callable[[], str]:
    """A function making one delivery attempt for `channel`."""
    timeout = settings.timeout_s
    if channel.kind in ("teams", "slack", "webhook"):
        url = channel.url or _env(channel.url_env) or ""
        if channel.kind == "teams":
            payload = teams_payload(layout)
        elif channel.kind == "slack":
            payload = slack_payload(layout)
        else:
            payload = webhook_payload(layout, subject)
        token = _env(channel.secret_env) if channel.kind == "webhook" else None
        headers = {"Authorization": f"Bearer {token}"} if token else None
        return lambda: post_json(url, payload, timeout, headers)
    if isinstance(subject, Message) and folder is not None:
        limit = settings.max_attachment_mb
        if channel.kind == "graph-mail":
            limit = min(limit, GRAPH_ATTACHMENT_LIMIT_MB)
        attachments = pick_attachments(subject, folder, channel.attach, limit)
        layout = with_attachments(layout, attachments)
        files = attachments.files
    else:
        files = ()
    if channel.kind == "smtp":
        password = _env(channel.secret_env)
        mail = mime_message(layout, channel.sender or "", channel.recipients, files)
        return lambda: send_smtp(channel, mail, password, timeout)
    body = graph_mail(layout, channel.recipients, files)
    return lambda: _graph_send(config, channel, body, timeout)


def _graph_send(config: Config, channel: Channel, body: object, timeout_s: float) -> str:
    """POST sendMail as `channel.sender` with an app-only token (Mail.Send).

    The token goes only under the configured Graph root (the cloud's, or `graph_url`), the same
    check a pull makes, through the same proxy.
    """
    try:
        graph = settings_from_config(config.graph)
        cloud = CLOUDS[graph.cloud]
        url = f"{graph.v1_root}/users/{quote(channel.sender or '', safe='@.')}/sendMail"
        GraphRoots.of(graph.v1_root, f"{cloud.graph_root}/v1.0").check(url)
        proxies = Proxies.from_environment(graph.proxy)
        credential, described = make_credential(graph.cloud, graph.tenant_id, graph.client_id)
        token = credential.get_token(cloud.scope).token
    except ClientAuthenticationError as exc:
        first = (exc.message or str(exc)).strip().splitlines()[0][:300]
        raise SendFailure(f"no Graph token with {described}: {first}") from exc
    except AuditorError as exc:
        raise SendFailure(str(exc)) from exc
    try:
        return post_json(url, body, timeout_s, {"Authorization": f"Bearer {token}"}, proxies)
    except SendFailure as exc:
        if exc.status in (401, 403):
            raise SendFailure(
                f"{exc}. The app needs the Mail.Send application permission with admin consent, "
                f"and any application access policy must include {channel.sender}",
                status=exc.status,
            ) from exc
        raise
