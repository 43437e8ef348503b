"""The state store's footing: the one `metadata` every store table joins, the clock, and a connection.

The store's tables live with their methods (`failure_log.py`, `call_log.py`, `store.py`); they share
this `metadata` so `Store.migrate()` creates them all, and this base so each part opens transactions alike.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, create_engine
from sqlalchemy.engine import Connection, CursorResult, Engine

metadata = MetaData()


def now() -> datetime:
    return datetime.now(UTC)


def inserted_id(result: CursorResult[Any]) -> int:
    """The id an INSERT made. SQLAlchemy types the key as optional; every INSERT here has one."""
    key = result.inserted_primary_key
    if key is None:
        raise RuntimeError("the INSERT returned no primary key")
    return int(key[0])


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """`items` in slices of `size`: keeps `IN (...)` lists within what every database accepts."""
    for i in range(0, len(items), size):
        yield items[i:i + size]


class StoreBase:
    """The engine and `begin()`; SQLite gets WAL and a busy timeout so concurrent runs wait, not fail."""

    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///") and ":memory:" not in url:
            Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        self.url = url
        self.engine: Engine = create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite":
            from sqlalchemy import event

            @event.listens_for(self.engine, "connect")
            def _pragmas(dbapi_conn: Any, _record: Any) -> None:
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA busy_timeout=10000")  # first: switching to WAL may wait on another process
                cur.execute("PRAGMA journal_mode=WAL")
                cur.close()

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.engine.begin() as c:
            yield c
