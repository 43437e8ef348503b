"""The shared machinery of every local emulator: a threaded HTTP(S) server, routing, the admin API.

Each system's emulator (`connectors/<system>/emulator.py`) subclasses `Emulator`, declares its routes
and answers in the vendor's own shapes. This module adds what every emulator shares (DESIGN.md 8):

- `GET  /__emulator__/stats`   -> {"requests": {"<METHOD> <route template>": count}, "total": int}
- `POST /__emulator__/reset`   -> empty store, counters and faults
- `POST /__emulator__/seed`    -> records in the system's native JSON shape ({"<object>": [records]})
- `GET  /__emulator__/dump/<object>` -> every record of that object, native shape
- `POST /__emulator__/faults`  -> {"rate_429": 0..1, "rate_5xx": 0..1, "latency_ms": int,
                                   "expire_tokens": true | [tokens], "seed": int,
                                   "revoke_tokens": true | [tokens], "restore_tokens": true | [tokens],
                                   "lose_write_answers": int, "lost_answer_ms": int}

Auth works like a sandbox: any non-empty bearer token is accepted unless a fixed token was given;
a token expired through `faults` is refused with the vendor's own answer for an expired token, a
revoked one with its answer for a token that is no good (HubSpot tells them apart, Salesforce does
not), and `restore_tokens` makes them good again: the "token fixed" step of an on-call drill.

`lose_write_answers: N` loses the answer of the next N write requests (search and batch reads are not
writes): the write is applied, then the answer is held `lost_answer_ms` (default 2000) and the
connection closed without one, so a client with a shorter timeout sees a read timeout for a request
the vendor did carry out, which is the case that must not become a duplicate create.
"""
from __future__ import annotations

import json
import random
import re
import threading
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

ADMIN_PREFIX = "/__emulator__/"


@dataclass(slots=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # path parameters from the route template
    token: str = ""

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def args(self, name: str) -> list[str]:
        """A list parameter, sent repeated (`?p=a&p=b`) or comma-separated (`?p=a,b`)."""
        out: list[str] = []
        for value in self.query.get(name, []):
            out.extend(v for v in value.split(",") if v)
        return out


@dataclass(slots=True)
class Response:
    status: int
    body: Any = None  # JSON-able, or bytes sent as is
    headers: dict[str, str] = field(default_factory=dict)


class Reply(Exception):  # a control-flow signal carrying a response, not an error: no `Error` suffix
    """Raise from a handler to answer at once with `response` (an error body, usually)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


Handler = Callable[[Request], Response]


@dataclass(slots=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler


def _compile(template: str) -> re.Pattern[str]:
    """`/crm/v3/objects/{object}/{id}` -> a regex with named groups; `{rest:path}` spans slashes."""
    out, pos = "", 0
    for m in re.finditer(r"\{(\w+)(:path)?\}", template):
        out += re.escape(template[pos:m.start()])
        out += f"(?P<{m.group(1)}>.+)" if m.group(2) else f"(?P<{m.group(1)}>[^/]+)"
        pos = m.end()
    return re.compile("^" + out + re.escape(template[pos:]) + "$")


@dataclass(slots=True)
class Faults:
    rate_429: float = 0.0
    rate_5xx: float = 0.0
    latency_ms: int = 0
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    lose_write_answers: int = 0  # the next N write requests are applied, their answers lost
    lost_answer_ms: int = 2000  # how long a lost answer keeps the client waiting before the connection drops


LOST_ANSWER = -1  # `Response.status` of an answer the server must not send (see `lose_write_answers`)


class Emulator(ABC):
    """One system's emulator. Subclasses set `system`, `default_port`, and implement the hooks."""

    system: str
    default_port: int

    def __init__(self, *, token: str | None = None, page_size: int | None = None) -> None:
        self.fixed_token = token
        self.lock = threading.RLock()
        self.routes: list[Route] = []
        self.counts: Counter[str] = Counter()
        self.faults = Faults()
        self.seen_tokens: set[str] = set()
        self.expired_tokens: set[str] = set()
        self.revoked_tokens: set[str] = set()
        self.page_size = page_size
        self.register_routes()

    # --- what each system provides -------------------------------------------------------------
    @abstractmethod
    def register_routes(self) -> None:
        """Call `self.route(method, template, handler)` for each vendor endpoint."""

    @abstractmethod
    def reset_data(self) -> None:
        """Empty every object store."""

    @abstractmethod
    def seed(self, payload: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
        """Load records in the native shape; returns counts per object."""

    @abstractmethod
    def dump(self, object: str) -> list[dict[str, Any]]:
        """Every record of `object` in the native shape."""

    @abstractmethod
    def error_unauthorized(self, expired: bool) -> Response: ...

    @abstractmethod
    def error_rate_limited(self) -> Response: ...

    @abstractmethod
    def error_unavailable(self) -> Response: ...

    def is_write(self, route: Route) -> bool:
        """Whether a request to `route` changes data (a lost answer then means a write that happened).
        POSTs that only read (search, batch read) are not writes; an emulator overrides this for others."""
        return route.method in ("POST", "PATCH", "PUT", "DELETE") and not route.template.endswith(
            ("/search", "/batch/read"))

    def decorate(self, request: Request, response: Response) -> None:  # noqa: B027 - optional hook, no-op
        """Add headers every vendor response carries (rate-limit and usage headers)."""

    def tls_context(self) -> Any:
        """An `ssl.SSLContext` to serve HTTPS with, or None for plain HTTP."""
        return None

    def banner(self, url: str) -> list[str]:
        """Lines `revhub emulator start` prints after `listening on <url>` (e.g. the CA file)."""
        return []

    # --- shared machinery ----------------------------------------------------------------------
    def route(self, method: str, template: str, handler: Handler) -> None:
        self.routes.append(Route(method, template, _compile(template), handler))

    def seed_dir(self, path: str | Path) -> dict[str, int]:
        """Seed from every `*.json` file in `path`: the file stem is the object key, the content a list
        of native records (`contacts.json` -> `{"contacts": [...]}`). `revhub emulator start --seed DIR`."""
        payload: dict[str, list[dict[str, Any]]] = {}
        for file in sorted(Path(path).glob("*.json")):
            records = json.loads(file.read_text(encoding="utf-8"))
            if not isinstance(records, list):
                raise ValueError(f"{file}: expected a JSON list of records, got {type(records).__name__}")
            payload[file.stem] = records
        return self.seed(payload)

    def reset(self) -> None:
        with self.lock:
            self.reset_data()
            self.counts.clear()
            self.faults = Faults()
            self.expired_tokens.clear()
            self.revoked_tokens.clear()
            self.seen_tokens.clear()

    def handle(self, request: Request) -> Response:
        if request.path.startswith(ADMIN_PREFIX):
            return self._admin(request)
        for route in self.routes:
            if route.method != request.method:
                continue
            m = route.pattern.match(request.path)
            if m:
                request.params = {k: unquote(v) for k, v in m.groupdict().items()}
                with self.lock:
                    self.counts[f"{route.method} {route.template}"] += 1
                return self._serve(route, request)
        return Response(404, self.not_found_body(request))

    def not_found_body(self, request: Request) -> Any:
        return {"message": f"no route for {request.method} {request.path}"}

    def _serve(self, route: Route, request: Request) -> Response:
        response = self._auth(request) or self._answer(route, request)
        self.decorate(request, response)
        if response.status < 300 and self.is_write(route):
            with self.lock:
                lose = self.faults.lose_write_answers > 0
                if lose:
                    self.faults.lose_write_answers -= 1
            if lose:
                return Response(LOST_ANSWER, {"held_ms": self.faults.lost_answer_ms})
        return response

    def _answer(self, route: Route, request: Request) -> Response:
        faults = self.faults
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)
        with self.lock:
            roll = faults.rng.random()
        if roll < faults.rate_429:
            response = self.error_rate_limited()
        elif roll < faults.rate_429 + faults.rate_5xx:
            response = self.error_unavailable()
        else:
            try:
                with self.lock:
                    response = route.handler(request)
            except Reply as reply:
                response = reply.response
        return response

    def _auth(self, request: Request) -> Response | None:
        token = request.token
        if not token:
            return self.error_unauthorized(expired=False)
        if token in self.expired_tokens:
            return self.error_unauthorized(expired=True)
        if token in self.revoked_tokens:
            return self.error_unauthorized(expired=False)
        if self.fixed_token is not None and token != self.fixed_token:
            return self.error_unauthorized(expired=False)
        with self.lock:
            self.seen_tokens.add(token)
        return None

    def _admin(self, request: Request) -> Response:
        try:
            return self._admin_call(request)
        except Reply as reply:  # a hook refusing in the vendor's words (a bad seed): answer it, not a 500
            return reply.response

    def _admin_call(self, request: Request) -> Response:
        action = request.path[len(ADMIN_PREFIX):]
        with self.lock:
            if request.method == "GET" and action == "stats":
                return Response(200, {"requests": dict(self.counts), "total": sum(self.counts.values())})
            if request.method == "POST" and action == "reset":
                self.reset()
                return Response(200, {"reset": True})
            if request.method == "POST" and action == "seed":
                return Response(200, {"seeded": self.seed(request.json() or {})})
            if request.method == "GET" and action.startswith("dump/"):
                return Response(200, self.dump(action[len("dump/"):]))
            if request.method == "POST" and action == "faults":
                return Response(200, self._set_faults(request.json() or {}))
        return Response(404, {"message": f"unknown admin call {request.method} {request.path}"})

    def _set_faults(self, spec: dict[str, Any]) -> dict[str, Any]:
        f = self.faults
        f.rate_429 = float(spec.get("rate_429", f.rate_429))
        f.rate_5xx = float(spec.get("rate_5xx", f.rate_5xx))
        f.latency_ms = int(spec.get("latency_ms", f.latency_ms))
        f.lose_write_answers = int(spec.get("lose_write_answers", f.lose_write_answers))
        f.lost_answer_ms = int(spec.get("lost_answer_ms", f.lost_answer_ms))
        if "seed" in spec:
            f.rng = random.Random(int(spec["seed"]))
        self.expired_tokens |= self._tokens(spec.get("expire_tokens"))
        self.revoked_tokens |= self._tokens(spec.get("revoke_tokens"))
        restore = spec.get("restore_tokens")
        if restore is True:
            self.expired_tokens.clear()
            self.revoked_tokens.clear()
        else:
            self.expired_tokens -= self._tokens(restore)
            self.revoked_tokens -= self._tokens(restore)
        return {"rate_429": f.rate_429, "rate_5xx": f.rate_5xx, "latency_ms": f.latency_ms,
                "expired_tokens": len(self.expired_tokens), "revoked_tokens": len(self.revoked_tokens),
                "lose_write_answers": f.lose_write_answers, "lost_answer_ms": f.lost_answer_ms}

    def _tokens(self, spec: Any) -> set[str]:
        """`true`: every token seen so far; a list: those tokens; anything else: none."""
        if spec is True:
            return set(self.seen_tokens)
        return {str(t) for t in spec} if isinstance(spec, list) else set()


def _bearer(headers: dict[str, str]) -> str:
    auth = headers.get("authorization", "")
    return auth[7:].strip() if auth.lower().startswith("bearer ") else ""


def _make_handler(emulator: Emulator) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the emulator counts instead
            return

        def _dispatch(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            headers = {k.lower(): v for k, v in self.headers.items()}
            request = Request(
                method=self.command, path=parts.path, query=parse_qs(parts.query, keep_blank_values=True),
                headers=headers, body=self.rfile.read(length) if length else b"", token=_bearer(headers),
            )
            try:
                response = emulator.handle(request)
            except Exception as exc:  # an emulator bug must answer 500, not hang the client
                response = Response(500, {"message": f"emulator error: {exc!r}"})
            if response.status == LOST_ANSWER:  # the write happened; its answer never arrives
                time.sleep(int(response.body["held_ms"]) / 1000)
                self.close_connection = True
                return
            if isinstance(response.body, bytes | str):
                payload = response.body.encode() if isinstance(response.body, str) else response.body
                ctype = response.headers.pop("Content-Type", "text/plain")
            else:
                payload = b"" if response.body is None else json.dumps(response.body).encode()
                ctype = "application/json;charset=UTF-8"
            self.send_response(response.status)
            if payload or response.status not in (204, 304):
                self.send_header("Content-Type", ctype)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if payload:
                self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _dispatch

    return _Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class EmulatorServer:
    """Serves one `Emulator` on 127.0.0.1 in a background thread. `port=0` picks a free port."""

    def __init__(self, emulator: Emulator, port: int = 0, *, ssl_context: Any = None) -> None:
        self.emulator = emulator
        self.httpd = _Server(("127.0.0.1", port), _make_handler(emulator))
        ssl_context = ssl_context if ssl_context is not None else emulator.tls_context()
        if ssl_context is not None:
            self.httpd.socket = ssl_context.wrap_socket(self.httpd.socket, server_side=True)
        self.scheme = "https" if ssl_context is not None else "http"
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def start(self) -> EmulatorServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name=f"emulator-{self.emulator.system}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
