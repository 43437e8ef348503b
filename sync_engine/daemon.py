"""`revhub daemon`: runs every enabled pipeline on its schedule with APScheduler until SIGTERM.

Never two runs of one pipeline at once: APScheduler's `max_instances=1` inside one process, and the
store's pipeline lock across replicas. SIGTERM lets the run in flight finish its page, then stops.
A small HTTP endpoint serves `/healthz` and Prometheus `/metrics` for the platform team.

A watch job (every `[alerts] watch_seconds`) looks for stuck runs in the store and for changed
config, mapping and rules files (by content hash). A changed set runs the same checks `revhub check`
does; if they pass it becomes live between two runs, never during one; if not, it is refused, the
last good version keeps running, and one CONFIG_ERROR alert names the file and line.
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from sync_engine.app import App, open_app
from sync_engine.config import Config
from sync_engine.errors import ConfigError
from sync_engine.redact import configure as apply_privacy
from sync_engine.redact import redact

log = logging.getLogger("revhub.daemon")

WATCH_JOB = "revhub:watch"


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


@dataclass(frozen=True, slots=True)
class Version:
    """One set of config, mapping and rules files, by content: `hash` names it in logs, health and alerts."""

    hash: str
    at: datetime  # when it was loaded (live) or refused

    def as_json(self) -> dict[str, str]:
        return {"version": self.hash, "at": self.at.isoformat()}


def watched_files(config: Config) -> list[Path]:
    """The files a run depends on: config.toml, every mapping file, the rules file."""
    files = {config.path}
    if config.mappings_dir.is_dir():
        files |= {p for p in config.mappings_dir.rglob("*.toml") if p.is_file()}
    if config.rules_file is not None:
        files.add(config.rules_file)
    return sorted(files)


def fingerprint(files: list[Path]) -> str:
    """A short hash of the files' names and contents; a missing file counts as a change too."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path).encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"\0missing")
        digest.update(b"\0")
    return digest.hexdigest()[:12]


# How the daemon loads a changed file: checked, its [privacy] not applied until that version goes live.
CHECK_ONLY: Callable[[Path], App] = functools.partial(open_app, activate=False)


class Daemon:
    """The scheduler, the watch job and the health endpoint around one live `App`, swapped on reload."""

    def __init__(self, app: App, *, port: int = 8790, watch_seconds: float | None = None,
                 loader: Callable[[Path], App] = CHECK_ONLY) -> None:
        self.app = app
        self.config_path = app.config.path
        self.version = Version(fingerprint(watched_files(app.config)), datetime.now(UTC))
        self.refused: tuple[Version, str] | None = None  # the refused version and the check's error
        self.metrics = _Metrics()
        self.port = port
        self.watch_seconds = watch_seconds or app.config.alerts.watch_seconds
        self._loader = loader
        self._run_lock = threading.Lock()  # one connector set is shared, so runs are serialised in a process
        self._state = threading.Lock()  # guards `_pending`
        self._pending: tuple[App, Version] | None = None  # checked, waiting for the run in flight to end
        self._scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
        self._server: ThreadingHTTPServer | None = None

    # --- life cycle ---------------------------------------------------------------------------
    def start(self) -> None:
        for name, minutes in _schedule(self.app.config).items():
            self._add_job(name, minutes)
        self._scheduler.add_job(self.watch, "interval", seconds=self.watch_seconds, id=WATCH_JOB)
        self._server = _serve_health(self, self.port)
        self.port = self._server.server_address[1]
        self._scheduler.start()
        log.info("daemon started: %d pipelines; config version %s; health on :%d",
                 len(_schedule(self.app.config)), self.version.hash, self.port)

    def stop(self) -> None:
        log.info("stopping: waiting for the run in flight")
        self._scheduler.shutdown(wait=True)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        with self._state:
            pending, self._pending = self._pending, None
        if pending is not None:
            _retire(pending[0], keep=self.app)
        self.app.close()

    # --- jobs ---------------------------------------------------------------------------------
    def run(self, name: str) -> None:
        """One scheduled run; a checked new version is swapped in first, while no run is in flight."""
        with self._run_lock:
            self._swap_pending()
            pipeline = self.app.config.pipelines.get(name)
            if pipeline is None or not pipeline.enabled:
                return
            report = self.app.sync([name])[0]
        with self.metrics.lock:
            self.metrics.runs[(name, report.outcome.value)] += 1
            for k, n in report.records.items():
                self.metrics.records[(name, k)] += n
            if report.outcome.value in ("succeeded", "partial"):
                self.metrics.last_success[name] = time.time()
        log.info("run finished: %s %s", name, report.outcome.value, extra={"run": report.as_json()})

    def watch(self) -> None:
        """Reload changed files, then look for stuck runs of every configured pipeline (any replica's)."""
        try:
            self.reload()
        except Exception:  # the watch must keep ticking; the error is in the log
            log.exception("config reload check failed")
        try:
            self.app.alerter.watch(list(self.app.config.pipelines))
        except Exception:
            log.exception("stuck-run check failed")

    # --- reload -------------------------------------------------------------------------------
    def reload(self) -> None:
        """Check changed files; make a good version pending (live at once if no run is in flight)."""
        live = self.app
        digest = fingerprint(watched_files(live.config))
        with self._state:
            pending = self._pending[1].hash if self._pending else None
        if digest == self.version.hash:
            if self.refused is not None:  # the bad edit was reverted: the live version is what is on disk
                log.info("config files are back to the live version %s", digest)
                self.refused = None
                live.alerter.config_loaded(self.config_path, digest)
            return
        if digest == pending:
            self._try_swap()  # it may have waited for a run that has ended since
            return
        if self.refused is not None and digest == self.refused[0].hash:
            return
        try:
            candidate = self._check(live)
        except ConfigError as exc:
            again = self.refused is not None and self.refused[1] != exc.render()  # a different bad edit
            self.refused = (Version(digest, datetime.now(UTC)), exc.render())
            log.error("config change refused, keeping version %s: %s", self.version.hash, exc.render())
            live.alerter.config_refused(exc, self.config_path, self.version.hash, again=again)
            return
        with self._state:
            stale, self._pending = self._pending, (candidate, Version(digest, datetime.now(UTC)))
        if stale is not None:
            _retire(stale[0], keep=live)
        self._try_swap()

    def _try_swap(self) -> None:
        """Swap now if no run is in flight; otherwise the next run, or the next tick, swaps it in."""
        if self._run_lock.acquire(blocking=False):
            try:
                self._swap_pending()
            finally:
                self._run_lock.release()

    def _check(self, live: App) -> App:
        """What `revhub check` checks (`open_app`), plus the alert channels' secrets."""
        candidate = self._loader(self.config_path)
        if candidate.config.store_url == live.config.store_url:
            candidate._store = live._store  # same database: keep the connection pool
        candidate.alerter  # noqa: B018 - builds the channels: ConfigError if a secret variable is unset
        return candidate

    def _swap_pending(self) -> None:
        """Make the pending version live. Called only with the run lock held: never during a run."""
        with self._state:
            pending, self._pending = self._pending, None
        if pending is None:
            return
        old, (new, version) = self.app, pending
        apply_privacy(new.config.privacy)  # checked with activate=False: its [privacy] applies from now on
        self.app, self.version, self.refused = new, Version(version.hash, datetime.now(UTC)), None
        self._reschedule(old.config, new.config)
        _retire(old, keep=new)
        log.info("config version %s is live", version.hash)
        new.alerter.config_loaded(self.config_path, version.hash)

    def _add_job(self, name: str, minutes: float) -> None:
        self._scheduler.add_job(self.run, "interval", minutes=minutes, args=[name], id=f"pipeline:{name}",
                                next_run_time=datetime.now(UTC))

    def _reschedule(self, old: Config, new: Config) -> None:
        before, after = _schedule(old), _schedule(new)
        for name in before.keys() - after.keys():
            self._scheduler.remove_job(f"pipeline:{name}")
        for name, minutes in after.items():
            if name not in before:
                self._add_job(name, minutes)
            elif before[name] != minutes:
                self._scheduler.reschedule_job(f"pipeline:{name}", trigger="interval", minutes=minutes)

    # --- health -------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        refused = None
        if self.refused is not None:
            refused = {**self.refused[0].as_json(), "error": redact(self.refused[1])}
        return {"status": "ok", "config": {"version": self.version.hash, "loaded_at": self.version.at.isoformat(),
                                           "refused": refused}}

    def render_metrics(self) -> str:
        lines = ["# TYPE revhub_config_info gauge", f'revhub_config_info{{version="{self.version.hash}"}} 1',
                 "# TYPE revhub_config_loaded_timestamp_seconds gauge",
                 f"revhub_config_loaded_timestamp_seconds {self.version.at.timestamp()}",
                 "# TYPE revhub_config_refused gauge"]
        refused = self.refused[0].hash if self.refused else ""
        lines.append(f'revhub_config_refused{{version="{refused}"}} {int(bool(refused))}')
        return self.metrics.render() + "\n".join(lines) + "\n"


def _schedule(config: Config) -> dict[str, float]:
    return {name: p.every_minutes for name, p in config.pipelines.items() if p.enabled}


def _retire(old: App, *, keep: App) -> None:
    """Close what `old` opened and `keep` does not share."""
    for c in (old._connectors or {}).values():
        c.close()
    if old._store is not None and old._store is not keep._store:
        old._store.engine.dispose()


def _serve_health(daemon: Daemon, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            return

        def do_GET(self) -> None:
            if self.path == "/healthz":
                body, ctype = json.dumps(daemon.health()).encode(), "application/json"
            elif self.path == "/metrics":
                body, ctype = daemon.render_metrics().encode(), "text/plain; version=0.0.4"
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
        if isinstance(run := getattr(record, "run", None), dict):  # `extra={"run": ...}` of a finished run
            doc["run"] = run
        if record.exc_info:
            doc["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(doc, default=str)


def run_daemon(app: App) -> int:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines())
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    daemon = Daemon(app, port=int(os.environ.get("REVHUB_HEALTH_PORT", "8790")))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    daemon.start()
    stop.wait()
    daemon.stop()
    return 0
