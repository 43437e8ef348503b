"""The state store (SQLAlchemy): runs, cursors, identity graph, shadows, pipeline locks; failures and API
call counts through `failure_log.py` and `call_log.py`.

SQLite by default, PostgreSQL by URL. Every page of a run is committed in one transaction together
with the cursor (`commit_page`), so a crash resumes from the last committed page: at-least-once
delivery, made effectively-once by the identity graph and lookups before creates.
"""
from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_random_exponential

from sync_engine.call_log import CallLog, api_calls
from sync_engine.errors import ConfigError, LockLost
from sync_engine.failure_log import RUN_RECORD, FailureLog, FailureRow, failures, log_page_failures
from sync_engine.store_base import chunks, inserted_id, metadata, now

# How long a pipeline lock lasts without a page commit renewing it: a run that stops committing for this
# long (a hung call, a dead process) is taken over by the next run.
LOCK_LEASE = timedelta(minutes=30)

# Re-exported: the rest of revhub imports the store's tables, rows and clock from here.
__all__ = ["RUN_RECORD", "SCHEMA_VERSION", "Cursor", "FailureRow", "Link", "PageOutcome", "Store", "api_calls",
           "crosswalk", "cursors", "entities", "entity_aliases", "failures", "locks", "meta", "metadata", "now",
           "runs"]

SCHEMA_VERSION = 1
meta = Table("revhub_meta", metadata, Column("key", String(64), primary_key=True), Column("value", Text))

runs = Table(
    "runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pipeline", String(200), nullable=False, index=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("outcome", String(20), nullable=False, default="running"),
    Column("dry_run", Integer, nullable=False, default=0),
    Column("records", JSON, nullable=False, default=dict),
    Column("calls", JSON, nullable=False, default=dict),
    Column("message", Text, nullable=False, default=""),
)

cursors = Table(
    "cursors", metadata,
    Column("pipeline", String(200), primary_key=True),
    Column("stamp", DateTime(timezone=True)),
    Column("seen", JSON, nullable=False, default=list),  # ids already processed at exactly `stamp`
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

entities = Table(
    "entities", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(40), nullable=False),
    Column("key", String(400), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("kind", "key", name="uq_entity_key"),
)

# A key whose entity was folded into another by a merge (`merge_log.merge_away`): the loser's email or
# domain, seen again later, is the survivor. Without it the key found its old, now empty entity, and a
# record carrying it was created again as a new person or company.
entity_aliases = Table(
    "entity_aliases", metadata,
    Column("kind", String(40), primary_key=True),
    Column("key", String(400), primary_key=True),
    Column("entity_id", Integer, nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

crosswalk = Table(
    "crosswalk", metadata,
    Column("system", String(60), primary_key=True),
    Column("object", String(80), primary_key=True),
    Column("external_id", String(120), primary_key=True),
    Column("entity_id", Integer, nullable=False, index=True),
    # What revhub believes the record holds, in canonical terms: updated on every read and write.
    Column("shadow", JSON, nullable=False, default=dict),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

locks = Table(
    "locks", metadata,
    Column("name", String(200), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; they were stored as UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@dataclass(frozen=True, slots=True)
class Cursor:
    stamp: datetime | None
    seen: frozenset[str]
    saved_at: datetime | None = field(default=None, compare=False)  # when a run last committed it


@dataclass(slots=True)
class Link:
    entity_id: int
    external_id: str
    shadow: dict[str, Any]


@dataclass(slots=True)
class PageOutcome:
    """Everything one page changes in the store, committed in one transaction with the cursor."""

    links: list[tuple[str, str, str, int, dict[str, Any]]] = field(default_factory=list)  # sys, obj, id, ent, shadow
    failures: list[FailureRow] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)  # source record ids now synced: their failures close
    cursor: Cursor | None = None


class Store(FailureLog, CallLog):
    """The state store: runs, cursors, locks and the identity graph here; the failure log and the API
    call counts come from their own modules (`failure_log.py`, `call_log.py`), all on one engine."""

    # --- schema -------------------------------------------------------------------------------
    def migrate(self) -> None:
        """Create the schema, or check the existing one is the version this code speaks.

        Two processes starting on a new database (the daemon and a CLI run, two replicas) both see no
        tables and both create them; the loser's CREATE fails ("already exists", a unique violation on
        PostgreSQL's catalog, "database is locked" while SQLite switches to WAL). It tries again, and
        then finds the winner's tables.
        """
        for attempt in Retrying(stop=stop_after_attempt(6), wait=wait_random_exponential(0.05, max=1.0),
                                retry=retry_if_exception_type((OperationalError, ProgrammingError, IntegrityError)),
                                reraise=True):
            with attempt:
                metadata.create_all(self.engine)
                self._check_schema_version()

    def _check_schema_version(self) -> None:
        with self.engine.begin() as c:
            row = c.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
            if row is None:
                c.execute(insert(meta).values(key="schema_version", value=str(SCHEMA_VERSION)))
            elif int(row) > SCHEMA_VERSION:
                raise ConfigError(f"the state store has schema version {row}, newer than this revhub "
                                  f"({SCHEMA_VERSION})", key="store.url", hint="upgrade revhub")

    # --- locks --------------------------------------------------------------------------------
    def acquire(self, name: str, ttl: timedelta = LOCK_LEASE) -> str | None:
        """Take the named lock unless a live holder has it; returns the holder token or None.

        A row with an expiry works the same on SQLite and PostgreSQL; a holder that died is
        replaced once its lease runs out. A live holder renews its lease with every page it commits
        (`commit_page(lock=...)`), so only a holder silent for a whole lease loses the lock.
        """
        holder = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"
        t = now()
        with self.begin() as c:
            c.execute(delete(locks).where(locks.c.name == name, locks.c.expires_at < t))
            try:
                c.execute(insert(locks).values(name=name, holder=holder, expires_at=t + ttl))
            except IntegrityError:
                return None
        return holder

    def release(self, name: str, holder: str) -> None:
        with self.begin() as c:
            c.execute(delete(locks).where(locks.c.name == name, locks.c.holder == holder))

    # --- runs ---------------------------------------------------------------------------------
    def start_run(self, pipeline: str, dry_run: bool) -> int:
        with self.begin() as c:
            res = c.execute(insert(runs).values(pipeline=pipeline, started_at=now(), outcome="running",
                                                dry_run=int(dry_run), records={}, calls={}, message=""))
            return inserted_id(res)

    def finish_run(self, run_id: int, outcome: str, records: dict[str, int], calls: dict[str, Any],
                   message: str = "") -> None:
        with self.begin() as c:
            c.execute(update(runs).where(runs.c.id == run_id).values(
                finished_at=now(), outcome=outcome, records=records, calls=calls, message=message))

    def last_runs(self) -> list[dict[str, Any]]:
        latest = select(runs.c.pipeline, func.max(runs.c.id).label("id")).group_by(runs.c.pipeline).subquery()
        with self.begin() as c:
            rows = c.execute(select(runs).join(latest, runs.c.id == latest.c.id).order_by(runs.c.pipeline))
            return [dict(r._mapping) for r in rows]

    # --- cursors ------------------------------------------------------------------------------
    def cursor(self, pipeline: str) -> Cursor:
        with self.begin() as c:
            row = c.execute(select(cursors).where(cursors.c.pipeline == pipeline)).first()
        if row is None:
            return Cursor(None, frozenset())
        return Cursor(_aware(row.stamp), frozenset(row.seen or ()), _aware(row.updated_at))

    def reset_cursor(self, pipeline: str) -> None:
        with self.begin() as c:
            c.execute(delete(cursors).where(cursors.c.pipeline == pipeline))

    # --- identity graph -----------------------------------------------------------------------
    def _crosswalk(self, system: str, object: str, column: Any, values: Iterable[Any]) -> list[Link]:
        """Crosswalk rows of one system object whose `column` is in `values`, in chunks of 500."""
        wanted = list(set(values))
        out: list[Link] = []
        with self.begin() as c:
            for chunk in chunks(wanted, 500):
                rows = c.execute(select(crosswalk).where(
                    crosswalk.c.system == system, crosswalk.c.object == object, column.in_(chunk)))
                out += [Link(r.entity_id, r.external_id, dict(r.shadow or {})) for r in rows]
        return out

    def links(self, system: str, object: str, external_ids: Iterable[str]) -> dict[str, Link]:
        """The crosswalk entry of each record id of one system object that has one."""
        return {link.external_id: link for link in self._crosswalk(system, object, crosswalk.c.external_id,
                                                                   external_ids)}

    def links_of_entities(self, system: str, object: str, entity_ids: Iterable[int]) -> dict[int, Link]:
        """The record each entity has in one system object (the first, if a duplicate links two)."""
        out: dict[int, Link] = {}
        for link in self._crosswalk(system, object, crosswalk.c.entity_id, entity_ids):
            out.setdefault(link.entity_id, link)
        return out

    def entities_by_key(self, kind: str, keys: Iterable[str], create: bool) -> dict[str, int]:
        """Entity ids for canonical keys; with `create`, missing ones are made (race-safe).

        A key merged away (`entity_aliases`) gives the survivor's entity; only a key neither table
        knows is new.
        """
        wanted = list(set(keys))
        out: dict[str, int] = {}
        with self.begin() as c:
            for chunk in chunks(wanted, 500):
                rows = c.execute(select(entities.c.id, entities.c.key).where(
                    entities.c.kind == kind, entities.c.key.in_(chunk)))
                out.update({r.key: r.id for r in rows})
            missing = [k for k in wanted if k not in out]
            for chunk in chunks(missing, 500):  # a query only when a page brings keys not seen before
                rows = c.execute(select(entity_aliases.c.entity_id, entity_aliases.c.key).where(
                    entity_aliases.c.kind == kind, entity_aliases.c.key.in_(chunk)))
                out.update({r.key: r.entity_id for r in rows})
        missing = [k for k in wanted if k not in out]
        if create and missing and self.engine.dialect.name in ("sqlite", "postgresql"):
            self._create_entities(kind, missing, out)
        elif create:
            for key in missing:
                try:
                    with self.begin() as c:
                        res = c.execute(insert(entities).values(kind=kind, key=key, created_at=now()))
                        out[key] = inserted_id(res)
                except IntegrityError:  # another worker made it first
                    with self.begin() as c:
                        out[key] = int(c.execute(select(entities.c.id).where(
                            entities.c.kind == kind, entities.c.key == key)).scalar_one())
        return out

    def _create_entities(self, kind: str, keys: list[str], out: dict[str, int]) -> None:
        """Make the entities of new keys in one transaction: one INSERT .. ON CONFLICT DO NOTHING executed for
        all of them (another worker may make some first), then their ids. A transaction a key cost a commit
        each, and a first sync has thousands of new keys. Sorted, so two workers inserting overlapping keys
        take their row locks in one order and cannot deadlock (PostgreSQL)."""
        dialect_insert = sqlite_insert if self.engine.dialect.name == "sqlite" else pg_insert
        t = now()
        with self.begin() as c:
            c.execute(dialect_insert(entities).on_conflict_do_nothing(index_elements=[entities.c.kind, entities.c.key]),
                      [{"kind": kind, "key": k, "created_at": t} for k in sorted(keys)])
            for chunk in chunks(keys, 500):
                rows = c.execute(select(entities.c.id, entities.c.key).where(
                    entities.c.kind == kind, entities.c.key.in_(chunk)))
                out.update({r.key: r.id for r in rows})

    def entity_count(self, kind: str | None = None) -> int:
        q = select(func.count()).select_from(entities)
        if kind:
            q = q.where(entities.c.kind == kind)
        with self.begin() as c:
            return int(c.execute(q).scalar_one())

    def purge_person(self, email: str) -> dict[str, int]:
        """Erase a person from revhub's own store: identity, crosswalk with its shadows, failures.

        `email` must already be normalized. The CRMs themselves are untouched: erasing there is each
        system's own GDPR delete.
        """
        counts = {"entities": 0, "links": 0, "failures": 0}
        with self.begin() as c:
            ids = [r.id for r in c.execute(select(entities.c.id).where(entities.c.kind == "person",
                                                                       entities.c.key == email))]
            # An address merged into another person (`entity_aliases`) is that person: erased with it.
            ids += [r.entity_id for r in c.execute(select(entity_aliases.c.entity_id).where(
                entity_aliases.c.kind == "person", entity_aliases.c.key == email))]
            if ids:
                c.execute(delete(entity_aliases).where(entity_aliases.c.entity_id.in_(ids)))
                counts["links"] = int(c.execute(delete(crosswalk).where(crosswalk.c.entity_id.in_(ids))).rowcount)
                counts["entities"] = int(c.execute(delete(entities).where(entities.c.id.in_(ids))).rowcount)
            doomed = [r.id for r in c.execute(select(failures.c.id, failures.c.payload))
                      if r.payload and email in json.dumps(r.payload).lower()]
            if doomed:
                counts["failures"] = int(c.execute(delete(failures).where(failures.c.id.in_(doomed))).rowcount)
        return counts

    # --- one page, atomically -----------------------------------------------------------------
    def commit_page(self, pipeline: str, run_id: int, outcome: PageOutcome,
                    lock: tuple[str, str] | None = None, ttl: timedelta = LOCK_LEASE) -> None:
        """Commit one page's links, failures and cursor in one transaction.

        `lock` (name, holder): renew that lease in the same transaction, or raise `LockLost` and commit
        nothing when another run took the lock after the lease ran out; two runs then never both commit.
        """
        t = now()
        with self.begin() as c:
            if lock is not None:
                renewed = c.execute(update(locks).where(locks.c.name == lock[0], locks.c.holder == lock[1])
                                    .values(expires_at=t + ttl))
                if renewed.rowcount == 0:
                    raise LockLost(f"another run took the lock {lock[0]!r} after this run's lease "
                                   f"({int(ttl.total_seconds() // 60)} min) ran out with no page committed; "
                                   f"this run stopped before committing more (its page in flight is read again)")
            _put_crosswalks(c, outcome.links, t)
            log_page_failures(c, pipeline, run_id, outcome.resolved, outcome.failures, t)
            if outcome.cursor is not None:
                _put_cursor(c, pipeline, outcome.cursor, t)


def _put_cursor(c: Connection, pipeline: str, cursor: Cursor, t: datetime) -> None:
    """Insert or update a cursor in one statement: two workers whose pipelines read one source both save
    its merges cursor (`merge.follow`), and an update-then-insert would let both insert."""
    values = {"stamp": cursor.stamp, "seen": sorted(cursor.seen), "updated_at": t}
    dialect = c.dialect.name
    if dialect in ("sqlite", "postgresql"):
        dialect_insert = sqlite_insert if dialect == "sqlite" else pg_insert
        c.execute(dialect_insert(cursors).values(pipeline=pipeline, **values).on_conflict_do_update(
            index_elements=[cursors.c.pipeline], set_=values))
        return
    res = c.execute(update(cursors).where(cursors.c.pipeline == pipeline).values(**values))
    if res.rowcount == 0:
        c.execute(insert(cursors).values(pipeline=pipeline, **values))


def _put_crosswalks(c: Connection, links: Iterable[tuple[str, str, str, int, Any]], t: datetime) -> None:
    """Insert or update a page's crosswalk rows: one INSERT .. ON CONFLICT DO UPDATE executed for all of them.

    One statement per row, not update-then-insert: two workers that wrote the same record (an upsert,
    docs/decisions.md 14) commit the same key, and an update-then-insert would let both insert. A key
    listed twice keeps its last row, as row-by-row writes would; rows go in key order, so two workers
    committing overlapping keys lock them in one order and cannot deadlock (PostgreSQL).
    """
    rows = {(s, o, e): {"system": s, "object": o, "external_id": e, "entity_id": i, "shadow": shadow, "updated_at": t}
            for s, o, e, i, shadow in links}
    if not rows:
        return
    dialect = c.dialect.name
    if dialect in ("sqlite", "postgresql"):
        stmt = (sqlite_insert if dialect == "sqlite" else pg_insert)(crosswalk)
        c.execute(stmt.on_conflict_do_update(
            index_elements=[crosswalk.c.system, crosswalk.c.object, crosswalk.c.external_id],
            set_={"entity_id": stmt.excluded.entity_id, "shadow": stmt.excluded.shadow,
                  "updated_at": stmt.excluded.updated_at}), [rows[k] for k in sorted(rows)])
        return
    for _key, row in sorted(rows.items()):  # other databases: no portable upsert
        res = c.execute(update(crosswalk).where(
            crosswalk.c.system == row["system"], crosswalk.c.object == row["object"],
            crosswalk.c.external_id == row["external_id"],
        ).values(entity_id=row["entity_id"], shadow=row["shadow"], updated_at=t))
        if res.rowcount == 0:
            c.execute(insert(crosswalk).values(**row))
