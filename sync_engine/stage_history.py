"""The record step for deal stages: every stage a deal enters, per system, kept with its time, so
time-in-stage and pipeline velocity can be reported later (DESIGN.md section 4 asks for it from day one).

A row is added when a deal's (pipeline, stage) differs from the last one recorded for that deal in that
system: as read from the source (changed at the record's modified time, `record_read`) and as revhub wrote
it into the target (changed when the write landed, `record_written`: a refused write moved no stage).
The first sighting of a deal is a row with an empty from-stage. Comparing with the last row, not with
the crosswalk shadow, is what makes a rerun of a page add nothing.

The table lives in the state store (same `metadata`, so `Store.migrate()` creates it once this module
is imported, as `sync_engine.alerts.log` does).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Index, Integer, String, Table, insert, select
from sqlalchemy.engine import Engine

from sync_engine.store import Store, metadata, now

stage_history = Table(
    "stage_history", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("entity_id", Integer, nullable=False),
    Column("system", String(40), nullable=False),
    Column("pipeline", String(100)),  # canonical pipeline (mappings/stages.toml)
    Column("from_stage", String(100)),  # empty on a deal's first row in a system
    Column("to_stage", String(100)),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("how", String(10), nullable=False),  # read: seen in the system; write: revhub wrote it there
    Column("run_id", Integer),
    Index("ix_stage_history_entity", "entity_id", "system", "id"),
)


@dataclass(frozen=True, slots=True)
class Seen:
    """One deal as a run saw it: its entity, the source record's modified time, its canonical values."""

    entity_id: int
    modified_at: datetime
    canonical: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Change:
    entity_id: int
    system: str
    pipeline: str | None
    from_stage: str | None
    to_stage: str | None
    changed_at: datetime
    how: str


@dataclass(frozen=True, slots=True)
class StageSpan:
    """A stretch a deal spent in one stage of one system; `left_at` None while it is still there."""

    pipeline: str | None
    stage: str | None
    entered_at: datetime
    left_at: datetime | None
    seconds: float


def _engine(store: Store) -> Engine:
    """The table, created on use too: a store migrated before this module was imported lacks it."""
    stage_history.create(store.engine, checkfirst=True)
    return store.engine


def record_read(store: Store, source: str, seen: Sequence[Seen], run_id: int | None = None) -> int:
    """Add a row per deal whose (pipeline, stage) moved in `source`, at the record's modified time.

    Called once per page by the pipeline with the deals it planned (quarantined ones left out: their
    stage is not known). Returns the rows added.
    """
    return _record(store, source, "read", [(s, s.modified_at) for s in seen], run_id)


def record_written(store: Store, target: str, seen: Sequence[Seen], run_id: int | None = None) -> int:
    """Add a row per deal whose (pipeline, stage) revhub moved in `target`, at the time the write landed.

    Called by the loader with the writes the target accepted only: a write it refused (a picklist the
    target does not allow, a validation rule) changed no stage there, so it leaves no row. Returns the rows added.
    """
    at = now()
    return _record(store, target, "write", [(s, at) for s in seen], run_id)


def _record(store: Store, system: str, how: str, seen: Sequence[tuple[Seen, datetime]], run_id: int | None) -> int:
    deals = [(s, at) for s, at in seen if "stage" in s.canonical or "pipeline" in s.canonical]
    if not deals:
        return 0
    engine = _engine(store)
    last = _last(engine, {s.entity_id for s, _at in deals}, (system,))
    rows: list[dict[str, Any]] = []
    for s, at in sorted(deals, key=lambda d: d[0].modified_at):
        pair = (s.canonical.get("pipeline"), s.canonical.get("stage"))
        before = last.get((s.entity_id, system))
        if before is not None and before == pair:
            continue
        rows.append({"entity_id": s.entity_id, "system": system, "pipeline": pair[0],
                     "from_stage": before[1] if before else None, "to_stage": pair[1],
                     "changed_at": _aware(at), "how": how, "run_id": run_id})
        last[(s.entity_id, system)] = pair
    if rows:
        with engine.begin() as c:
            c.execute(insert(stage_history), rows)
    return len(rows)


def _last(engine: Engine, entities: Iterable[int], systems: Iterable[str]
          ) -> dict[tuple[int, str], tuple[str | None, str | None]]:
    """The latest (pipeline, stage) recorded per (entity, system)."""
    t = stage_history
    out: dict[tuple[int, str], tuple[str | None, str | None]] = {}
    ids = sorted(entities)
    with engine.connect() as c:
        for start in range(0, len(ids), 500):
            q = (select(t.c.entity_id, t.c.system, t.c.pipeline, t.c.to_stage)
                 .where(t.c.entity_id.in_(ids[start:start + 500]), t.c.system.in_(list(systems))).order_by(t.c.id))
            for row in c.execute(q):
                out[(row.entity_id, row.system)] = (row.pipeline, row.to_stage)
    return out


def history(store: Store, entity_id: int, system: str | None = None) -> list[Change]:
    """A deal's recorded stage changes, oldest first (one system, or all of them)."""
    t = stage_history
    q = select(t).where(t.c.entity_id == entity_id).order_by(t.c.changed_at, t.c.id)
    if system is not None:
        q = q.where(t.c.system == system)
    with _engine(store).connect() as c:
        return [Change(r.entity_id, r.system, r.pipeline, r.from_stage, r.to_stage, _aware(r.changed_at), r.how)
                for r in c.execute(q)]


def time_in_stage(store: Store, entity_id: int, system: str, at: datetime | None = None) -> list[StageSpan]:
    """How long the deal spent in each stage it entered in `system`, oldest first; the current stage is
    counted up to `at` (now by default). A stage entered twice is two spans."""
    changes = history(store, entity_id, system)
    end = _aware(at or now())
    spans = []
    for k, ch in enumerate(changes):
        left = changes[k + 1].changed_at if k + 1 < len(changes) else None
        spans.append(StageSpan(ch.pipeline, ch.to_stage, ch.changed_at, left,
                               max(((left or end) - ch.changed_at).total_seconds(), 0.0)))
    return spans


def _aware(moment: datetime) -> datetime:
    """SQLite hands datetimes back naive; they were stored as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
