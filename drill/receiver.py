"""The drill's alert inbox: a local HTTP server standing in for Slack and the signed webhook, and the parse of
what arrives into `Alert`s (state, code, pipeline, runbook, inspect command, signature checked)."""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WEBHOOK_KEY = "drill-canary-webhook-key"


@dataclass(frozen=True, slots=True)
class Alert:
    channel: str  # slack | webhook
    state: str  # FIRING | RESOLVED | STILL FIRING
    code: str
    pipeline: str
    runbook: str
    inspect: str
    signed: bool
    raw: str

    def key(self) -> tuple[str, str, str]:
        return (self.state, self.code, self.pipeline)


class Receiver:
    """A local HTTP server standing in for Slack (`/services/...`) and the webhook (`/hooks/revhub`)."""

    def __init__(self) -> None:
        self.hits: list[tuple[str, dict[str, str], bytes]] = []
        lock = threading.Lock()
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with lock:
                    hits.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def mark(self) -> int:
        return len(self.hits)

    def alerts(self, since: int = 0) -> list[Alert]:
        return [_parse_alert(path, headers, body) for path, headers, body in self.hits[since:]]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _parse_alert(path: str, headers: dict[str, str], body: bytes) -> Alert:
    raw = body.decode("utf-8", "replace")
    doc = json.loads(body)
    if path.startswith("/services/"):
        header = doc["blocks"][0]["text"]["text"]
        m = re.search(r"(STILL FIRING|FIRING|RESOLVED): ([A-Z_]+) on (\S+)", header)
        runbook = re.search(r"runbooks/[A-Z_]+\.md", raw)
        inspect = re.search(r"Inspect: (revhub [^\n]+)$", doc.get("text", ""))
        return Alert("slack", m.group(1) if m else "?", m.group(2) if m else "?", m.group(3) if m else "?",
                     runbook.group(0) if runbook else "", inspect.group(1) if inspect else "", True, raw)
    stamp, signature = headers.get("x-revhub-timestamp", ""), headers.get("x-revhub-signature", "")
    expected = "sha256=" + hmac.new(WEBHOOK_KEY.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    a = doc.get("alert", {})
    return Alert("webhook", str(a.get("state", "?")).upper(), str(a.get("code")), str(a.get("pipeline")),
                 str(a.get("runbook", "")), str(a.get("command", "")), hmac.compare_digest(expected, signature), raw)
