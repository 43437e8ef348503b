"""Local receivers for alert tests: an HTTP server recording every request, and an SMTP server (aiosmtpd)."""
from __future__ import annotations

import json
import socket
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sync_engine.store import Store


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Records requests; answers each with the next queued (status, body), else 200 `ok`."""

    url: str
    requests: list[Request] = field(default_factory=list)
    answers: deque[tuple[int, str, dict[str, str]]] = field(default_factory=deque)

    def answer(self, status: int, body: str = "", headers: dict[str, str] | None = None) -> None:
        self.answers.append((status, body, headers or {}))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec: Receiver

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            rec.requests.append(Request("POST", self.path, dict(self.headers.items()), body))
            status, text, headers = rec.answers.popleft() if rec.answers else (200, "ok", {})
            data = text.encode()
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec = Receiver(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)  # type: ignore[return-value]

    @property
    def body(self) -> str:
        return self.message.get_content()  # type: ignore[no-any-return]


@dataclass
class SmtpServer:
    host: str
    port: int
    mails: list[Mail]
    logins: list[tuple[str, str]]
    ca_file: str | None = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _smtp(tmp_path: Path, tls: bool) -> Iterator[SmtpServer]:
    pytest.importorskip("aiosmtpd", reason="aiosmtpd (dev dependency) runs the local SMTP receiver")
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    mails: list[Mail] = []
    logins: list[tuple[str, str]] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
            return "250 Message accepted for delivery"

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            logins.append((data.login.decode(), data.password.decode()))
            return AuthResult(success=data.password == b"right-password", handled=False)
        return AuthResult(success=False, handled=False)

    kwargs: dict[str, Any] = {}
    ca_file = None
    if tls:
        from connectors.salesforce.tls import ensure_certificate

        certs = ensure_certificate(tmp_path / "smtp-tls")
        kwargs = {"tls_context": certs.server_context(), "require_starttls": True,
                  "authenticator": authenticator, "auth_require_tls": True,
                  "auth_exclude_mechanism": ["LOGIN"]}  # PLAIN only: one attempt, one answer
        ca_file = str(certs.ca_file)
    controller = Controller(Handler(), hostname="127.0.0.1", port=_free_port(), **kwargs)
    controller.start()
    yield SmtpServer("127.0.0.1", controller.port, mails, logins, ca_file)
    controller.stop()


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[SmtpServer]:
    yield from _smtp(tmp_path, tls=False)


@pytest.fixture
def smtps_server(tmp_path: Path) -> Iterator[SmtpServer]:
    yield from _smtp(tmp_path, tls=True)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """On SQLite and on the local PostgreSQL (tests/conftest.py), like every store test."""
    s = Store(store_url)
    s.migrate()
    yield s
    s.engine.dispose()

