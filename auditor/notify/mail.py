"""E-mail: the MIME message for SMTP, the JSON for Graph sendMail, and what to attach.

smtplib is Python's maintained SMTP client; apprise's e-mail plugin wraps the same module but
reduces every failure to False with the reason in its debug log, which would leave us unable
to say why a channel failed or whether a retry can help.
"""

from __future__ import annotations

import base64
import mimetypes
import smtplib
import ssl
from dataclasses import dataclass, replace
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from auditor.notify.formats import html, plain_text
from auditor.notify.layout import Layout
from auditor.notify.message import Message
from auditor.notify.sending import SendFailure
from auditor.notify.settings import ATTACHMENTS, Channel

# Graph's sendMail takes attachments inline only below 3 MB; larger ones need an upload
# session on a draft (https://learn.microsoft.com/graph/outlook-large-attachments).
GRAPH_ATTACHMENT_LIMIT_MB = 3.0
SMTP_PORTS = {"starttls": 587, "implicit": 465, "none": 25}


@dataclass(frozen=True, slots=True)
class Attachments:
    """Files that go with an e-mail, and why others did not."""

    files: tuple[Path, ...]
    notes: tuple[str, ...]  # e.g. "report.pdf (5.1 MB) is over the 3 MB limit: not attached"


def pick_attachments(
    message: Message, folder: Path, wanted: tuple[str, ...], limit_mb: float
) -> Attachments:
    """The wanted reports that this run wrote, while their total stays within `limit_mb`."""
    files: list[Path] = []
    notes: list[str] = []
    total = 0
    for kind in wanted:
        name = ATTACHMENTS[kind]
        path = folder / name
        if name not in message.reports or not path.is_file():
            notes.append(f"{name} was not written by this run: not attached")
            continue
        size = path.stat().st_size
        if total + size > limit_mb * 1_000_000:
            notes.append(
                f"{name} ({size / 1e6:.1f} MB) would pass the {limit_mb:g} MB attachment limit: "
                "not attached, open it where the reports are kept"
            )
            continue
        files.append(path)
        total += size
    return Attachments(tuple(files), tuple(notes))


def with_attachments(layout: Layout, attachments: Attachments) -> Layout:
    """The layout with a footer line naming what is attached and what is not."""
    lines = list(attachments.notes)
    if attachments.files:
        lines.insert(0, "Attached: " + ", ".join(p.name for p in attachments.files))
    return replace(layout, footer=(*lines, *layout.footer))


def mime_message(
    layout: Layout, sender: str, recipients: tuple[str, ...], files: tuple[Path, ...]
) -> EmailMessage:
    """A multipart e-mail: plain text, HTML alternative, then the attachments."""
    mail = EmailMessage()
    mail["Subject"] = layout.title
    mail["From"] = sender
    mail["To"] = ", ".join(recipients)
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    mail["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    mail.set_content(plain_text(layout))
    mail.add_alternative(html(layout), subtype="html")
    for path in files:
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        main, sub = kind.split("/", 1)
        mail.add_attachment(path.read_bytes(), maintype=main, subtype=sub, filename=path.name)
    return mail


def graph_mail(
    layout: Layout, recipients: tuple[str, ...], files: tuple[Path, ...]
) -> dict[str, Any]:
    """The body of POST /users/{sender}/sendMail (HTML body, inline file attachments)."""
    return {
        "message": {
            "subject": layout.title,
            "body": {"contentType": "HTML", "content": html(layout)},
            "toRecipients": [{"emailAddress": {"address": a}} for a in recipients],
            "attachments": [
                {
                    "@odata.type": "#microsoft.graph.fileAttachment",
                    "name": path.name,
                    "contentType": mimetypes.guess_type(path.name)[0] or "application/octet-stream",
                    "contentBytes": base64.b64encode(path.read_bytes()).decode("ascii"),
                }
                for path in files
            ],
        },
        "saveToSentItems": False,
    }


def send_smtp(channel: Channel, mail: EmailMessage, password: str | None, timeout_s: float) -> str:
    """Deliver `mail` over SMTP with STARTTLS (or implicit TLS) and AUTH when a user is set.

    Raises:
        SendFailure: with `retryable` for 4xx replies and dropped connections only.
    """
    parts = urlsplit(channel.url or "")
    host = parts.hostname or ""
    port = parts.port or SMTP_PORTS[channel.tls]
    context = ssl.create_default_context()  # system CAs, or SSL_CERT_FILE when set
    where = f"{host}:{port}"
    try:
        client: smtplib.SMTP
        if channel.tls == "implicit":
            client = smtplib.SMTP_SSL(host, port, timeout=timeout_s, context=context)
        else:
            client = smtplib.SMTP(host, port, timeout=timeout_s)
        with client:
            client.ehlo()
            if channel.tls == "starttls":
                if not client.has_extn("starttls"):
                    raise SendFailure(f"{where} does not offer STARTTLS; refusing to send in clear")
                client.starttls(context=context)
                client.ehlo()
            if parts.username:
                client.login(parts.username, password or "")
            refused = client.send_message(mail)
    except smtplib.SMTPResponseException as exc:
        text = (
            exc.smtp_error.decode("utf-8", "replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        raise SendFailure(
            f"{where} answered {exc.smtp_code} {text}", retryable=400 <= exc.smtp_code < 500
        ) from exc
    except smtplib.SMTPRecipientsRefused as exc:
        raise SendFailure(f"{where} refused every recipient: {sorted(exc.recipients)}") from exc
    except ssl.SSLError as exc:
        raise SendFailure(f"{where}: TLS failed ({exc.reason or exc})") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise SendFailure(f"{where}: {type(exc).__name__}: {exc}", retryable=True) from exc
    if refused:
        raise SendFailure(f"{where} refused some recipients: {sorted(refused)}")
    return f"accepted by {where} for {len(channel.recipients)} recipient(s)"
