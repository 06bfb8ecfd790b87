"""Real protocol endpoints on loopback for the notification tests.

- `HttpReceiver`: an HTTP/1.1 server that records every request (path, headers, body) and
  answers from a per-path script (e.g. 429 with Retry-After, then 500, then 202), standing for
  a Teams Workflows trigger, a Slack incoming webhook, a JSON webhook and Graph's sendMail.
- `SmtpServer`: aiosmtpd with STARTTLS required (a certificate from a throw-away trustme CA)
  and AUTH LOGIN/PLAIN allowed only after STARTTLS, recording each message it accepts.
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
import ssl
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class _Server(ThreadingHTTPServer):
    # socketserver's backlog of 5 drops extra concurrent connects: each waits a 1 s SYN retry
    request_queue_size = 128


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class HttpReceiver:
    """Records POSTs; answers each path from its script, then with its default."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._scripts: dict[str, list[Answer]] = {}
        self._defaults: dict[str, Answer] = {}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                path = self.path.split("?", 1)[0]
                with receiver._lock:
                    receiver.requests.append(Received(self.path, dict(self.headers), body))
                    script = receiver._scripts.get(path) or []
                    answer = (
                        script.pop(0)
                        if script
                        else receiver._defaults.get(path, Answer(200, b"ok"))
                    )
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    @property
    def root(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def answer(self, path: str, *answers: Answer, default: Answer | None = None) -> None:
        self._scripts[path] = list(answers)
        if default is not None:
            self._defaults[path] = default

    def at(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path.split("?", 1)[0] == path]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Recorder:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], EmailMessage, bool]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        is_tls = session.ssl is not None
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed, is_tls))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpServer:
    """aiosmtpd on loopback: STARTTLS required, AUTH checked against one user and password."""

    def __init__(self, folder: Path, user: str, password: str) -> None:
        self.user, self.password = user, password
        self.logins: list[tuple[str, bool]] = []
        authority = trustme.CA()
        certificate = authority.issue_cert("127.0.0.1", "localhost")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        certificate.configure_cert(context)
        self.ca_file = folder / "test-ca.pem"
        authority.cert_pem.write_to_path(str(self.ca_file))
        self._recorder = _Recorder()
        self.port = free_port()
        self._controller = Controller(
            self._recorder,
            hostname="127.0.0.1",
            port=self.port,
            tls_context=context,
            require_starttls=True,
            auth_require_tls=True,
            authenticator=self._authenticate,
        )
        self._controller.start()

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode()) == (
            self.user,
            self.password,
        )
        self.logins.append((data.login.decode() if isinstance(data, LoginPassword) else "?", ok))
        return AuthResult(success=ok, handled=False)

    @property
    def messages(self) -> list[tuple[str, list[str], EmailMessage, bool]]:
        return self._recorder.messages

    def close(self) -> None:
        self._controller.stop()
