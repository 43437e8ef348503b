"""The `alert_log` table: per (pipeline, code), what is firing and what the channels last heard.

It lives in the state store (same `metadata`, so `Store.migrate()` creates it once this module is
imported), which is what stops a restarted daemon, or another replica, from alerting again.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Integer, String, Table, insert, select, update
from sqlalchemy.engine import Engine

from sync_engine.alerts.model import AlertState
from sync_engine.store import metadata

alert_log = Table(
    "alert_log", metadata,
    Column("pipeline", String(200), primary_key=True),
    Column("code", String(40), primary_key=True),
    Column("state", String(10), nullable=False),  # firing | resolved: what the last run showed
    Column("notified", String(10), nullable=False),  # firing | resolved: what the channels last heard
    Column("count", Integer, nullable=False, default=0),
    Column("run_id", Integer),
    Column("since", DateTime(timezone=True), nullable=False),  # when `state` began
    Column("last_fired_at", DateTime(timezone=True)),  # last firing alert sent
    Column("last_resolved_at", DateTime(timezone=True)),  # last recovery alert sent
    Column("held_back", Integer, nullable=False, default=0),  # firing changes throttled since last sent
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


@dataclass(slots=True)
class Entry:
    """One row of `alert_log`, edited in memory by the engine and written back in one transaction."""

    code: str
    state: AlertState
    notified: AlertState
    since: datetime
    count: int = 0
    run_id: int | None = None
    last_fired_at: datetime | None = None
    last_resolved_at: datetime | None = None
    held_back: int = 0


class AlertLog:
    """Reads and writes `alert_log` through the store's engine (a `Store` or a SQLAlchemy `Engine`)."""

    def __init__(self, store_or_engine: Any) -> None:
        self._engine: Engine = getattr(store_or_engine, "engine", store_or_engine)
        self._ready = False

    def _ensure(self) -> None:
        if not self._ready:  # also works on a store migrated before this module was imported
            alert_log.create(self._engine, checkfirst=True)
            self._ready = True

    @contextmanager
    def entries(self, pipeline: str) -> Iterator[dict[str, Entry]]:
        """The pipeline's entries by code; changes and additions are saved when the block ends.

        On PostgreSQL the rows are locked for the block (SELECT ... FOR UPDATE), so two replicas
        evaluating the same pipeline take turns; a race on a brand-new row raises IntegrityError,
        which `evaluate` answers by trying once more.
        """
        self._ensure()
        with self._engine.begin() as c:
            rows = c.execute(select(alert_log).where(alert_log.c.pipeline == pipeline).with_for_update()).all()
            found = {r.code: _entry(r._mapping) for r in rows}
            entries = dict(found)
            yield entries
            t = datetime.now(UTC)
            for code, e in entries.items():
                values = {"state": e.state.value, "notified": e.notified.value, "count": e.count,
                          "run_id": e.run_id, "since": e.since, "last_fired_at": e.last_fired_at,
                          "last_resolved_at": e.last_resolved_at, "held_back": e.held_back, "updated_at": t}
                if code in found:
                    c.execute(update(alert_log).where(alert_log.c.pipeline == pipeline, alert_log.c.code == code)
                              .values(**values))
                else:
                    c.execute(insert(alert_log).values(pipeline=pipeline, code=code, **values))

    def firing(self) -> list[dict[str, Any]]:
        """Every (pipeline, code) the last runs showed failing, oldest first (for `revhub status`)."""
        self._ensure()
        with self._engine.begin() as c:
            rows = c.execute(select(alert_log).where(alert_log.c.state == AlertState.FIRING.value)
                             .order_by(alert_log.c.since))
            return [dict(r._mapping) for r in rows]


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; they were stored as UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _entry(m: Any) -> Entry:
    since = _aware(m["since"])
    assert since is not None  # the column is NOT NULL
    return Entry(code=m["code"], state=AlertState(m["state"]), notified=AlertState(m["notified"]), since=since,
                 count=m["count"], run_id=m["run_id"], last_fired_at=_aware(m["last_fired_at"]),
                 last_resolved_at=_aware(m["last_resolved_at"]), held_back=m["held_back"])
