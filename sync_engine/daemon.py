"""`revhub daemon`: runs every enabled pipeline on its schedule with APScheduler until SIGTERM.

Never two runs of one pipeline at once: APScheduler's `max_instances=1` inside one process, and the
store's pipeline lock across replicas. SIGTERM lets the run in flight finish its page, then stops.
A small HTTP endpoint serves `/healthz` and Prometheus `/metrics` for the platform team.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from sync_engine.app import App
from sync_engine.redact import redact

log = logging.getLogger("revhub.daemon")


class _Metrics:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.runs: Counter[tuple[str, str]] = Counter()
        self.records: Counter[tuple[str, str]] = Counter()
        self.last_success: dict[str, float] = {}

    def render(self) -> str:
        lines = ["# TYPE revhub_runs_total counter"]
        with self.lock:
            lines += [f'revhub_runs_total{{pipeline="{p}",outcome="{o}"}} {n}' for (p, o), n in self.runs.items()]
            lines.append("# TYPE revhub_records_total counter")
            lines += [f'revhub_records_total{{pipeline="{p}",result="{k}"}} {n}'
                      for (p, k), n in self.records.items()]
            lines.append("# TYPE revhub_last_success_timestamp_seconds gauge")
            lines += [f'revhub_last_success_timestamp_seconds{{pipeline="{p}"}} {t}'
                      for p, t in self.last_success.items()]
        return "\n".join(lines) + "\n"


def _serve_health(metrics: _Metrics, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            return

        def do_GET(self) -> None:
            if self.path == "/healthz":
                body, ctype = b'{"status": "ok"}', "application/json"
            elif self.path == "/metrics":
                body, ctype = metrics.render().encode(), "text/plain; version=0.0.4"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class JsonLines(logging.Formatter):
    """One JSON object per line, whatever logged it (our own lines, urllib3's, APScheduler's);
    personal data and tokens masked."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {"time": self.formatTime(record), "level": record.levelname, "logger": record.name,
                               "message": redact(record.getMessage())}
        if isinstance(getattr(record, "run", None), dict):
            doc["run"] = record.run
        if record.exc_info:
            doc["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(doc, default=str)


def run_daemon(app: App) -> int:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines())
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    metrics = _Metrics()
    lock = threading.Lock()  # one connector set is shared, so runs are serialised inside a process

    def job(name: str) -> None:
        import time

        with lock:
            report = app.sync([name])[0]
        with metrics.lock:
            metrics.runs[(name, report.outcome.value)] += 1
            for k, n in report.records.items():
                metrics.records[(name, k)] += n
            if report.outcome.value in ("succeeded", "partial"):
                metrics.last_success[name] = time.time()
        log.info("run finished: %s %s", name, report.outcome.value, extra={"run": report.as_json()})

    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
    for name in app.pipeline_names(None):
        minutes = app.config.pipelines[name].every_minutes
        scheduler.add_job(job, "interval", minutes=minutes, args=[name], id=name, next_run_time=_now())
    port = int(os.environ.get("REVHUB_HEALTH_PORT", "8790"))
    health = _serve_health(metrics, port)
    log.info("daemon started: %d pipelines; health on :%d", len(scheduler.get_jobs()), port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    scheduler.start()
    stop.wait()
    log.info("stopping: waiting for the run in flight")
    scheduler.shutdown(wait=True)
    health.shutdown()
    app.close()
    return 0


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)
