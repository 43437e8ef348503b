"""The failure log (the store's `failures` table): what went wrong with a record or a run, kept to replay.

A failed record is one open row per (pipeline, record) whose attempts count the tries; a stopped run is
one open row per (pipeline, code) with no record (`RUN_RECORD`). Rows close as `resolved` when the
record syncs or a run of the pipeline gets to its end, become `dead` past the retry limit, and keep the
source record (`payload`) so a retry needs no re-read, until retention drops it.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Integer, String, Table, Text, insert, select, update
from sqlalchemy.engine import Connection

from sync_engine.store_base import StoreBase, chunks, inserted_id, metadata, now

RUN_RECORD = "(run)"  # record_id of a failure that stopped a whole run rather than one record (`record_stop`)

failures = Table(
    "failures", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, index=True),
    Column("pipeline", String(200), nullable=False, index=True),
    Column("step", String(20), nullable=False),
    Column("system", String(60), nullable=False),
    Column("object", String(80), nullable=False),
    Column("record_id", String(120), nullable=False),
    Column("code", String(40), nullable=False, index=True),
    Column("message", Text, nullable=False),
    Column("reasons", JSON, nullable=False, default=list),
    # The source record as read, so a retryable failure can be replayed without re-reading it.
    Column("payload", JSON),
    Column("status", String(20), nullable=False, default="open", index=True),
    Column("attempts", Integer, nullable=False, default=1),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


@dataclass(slots=True)
class FailureRow:
    step: str
    system: str
    object: str
    record_id: str
    code: str
    message: str
    reasons: list[str] = field(default_factory=list)
    payload: dict[str, Any] | None = None


class FailureLog(StoreBase):
    """`Store`'s methods on the failure log."""

    def failures(self, *, pipeline: str | None = None, code: str | None = None, system: str | None = None,
                 since: datetime | None = None, ids: Sequence[int] | None = None,
                 status: Sequence[str] | None = ("open",)) -> list[dict[str, Any]]:
        """Failure rows, oldest first. `status=None` means every status."""
        q = select(failures).order_by(failures.c.id)
        if status is not None:
            q = q.where(failures.c.status.in_(list(status)))
        if pipeline:
            q = q.where(failures.c.pipeline == pipeline)
        if code:
            q = q.where(failures.c.code == code)
        if system:
            q = q.where(failures.c.system == system)
        if since:
            q = q.where(failures.c.updated_at >= since)
        if ids is not None:
            q = q.where(failures.c.id.in_(list(ids)))
        with self.begin() as c:
            return [dict(r._mapping) for r in c.execute(q)]

    def set_failure_status(self, ids: Sequence[int], status: str) -> int:
        """Move failures to `status` (open, resolved, ignored, dead); returns how many moved."""
        if not ids:
            return 0
        with self.begin() as c:
            res = c.execute(update(failures).where(failures.c.id.in_(list(ids))).values(status=status,
                                                                                       updated_at=now()))
            return int(res.rowcount)

    def record_stop(self, pipeline: str, run_id: int, row: FailureRow) -> int:
        """A run that stopped (token, quota, outage) as one open failure with no record (`RUN_RECORD`).

        One row per (pipeline, code), its attempts counting the stopped runs, so the runbooks'
        `revhub failures list --code X` shows the problem and `failures retry` can re-run the pipeline.
        It keeps no payload: nothing of the page in flight was committed, the next run reads it again.
        """
        t = now()
        with self.begin() as c:
            found = c.execute(select(failures.c.id).where(
                failures.c.pipeline == pipeline, failures.c.record_id == RUN_RECORD, failures.c.code == row.code,
                failures.c.status.in_(["open", "dead"])).order_by(failures.c.id)).scalar()
            if found is not None:
                c.execute(update(failures).where(failures.c.id == found).values(
                    attempts=failures.c.attempts + 1, status="open", message=row.message, reasons=row.reasons,
                    step=row.step, system=row.system, object=row.object, run_id=run_id, updated_at=t))
                return int(found)
            res = c.execute(insert(failures).values(
                run_id=run_id, pipeline=pipeline, step=row.step, system=row.system, object=row.object,
                record_id=RUN_RECORD, code=row.code, message=row.message, reasons=row.reasons, payload=None,
                status="open", attempts=1, created_at=t, updated_at=t))
            return inserted_id(res)

    def resolve_stops(self, pipeline: str) -> int:
        """A run of `pipeline` got to its end: the stops `record_stop` logged for it are over."""
        with self.begin() as c:
            res = c.execute(update(failures).where(
                failures.c.pipeline == pipeline, failures.c.record_id == RUN_RECORD,
                failures.c.status.in_(["open", "dead"])).values(status="resolved", updated_at=now()))
            return int(res.rowcount)

    def bury(self, pipeline: str, codes: Sequence[str], max_attempts: int) -> list[dict[str, Any]]:
        """Open failures of `codes` that reached `max_attempts` become `dead`: no more automatic retries."""
        with self.begin() as c:
            rows = [dict(r._mapping) for r in c.execute(select(failures).where(
                failures.c.pipeline == pipeline, failures.c.status == "open", failures.c.code.in_(list(codes)),
                failures.c.attempts >= max_attempts))]
            if rows:
                c.execute(update(failures).where(failures.c.id.in_([r["id"] for r in rows])).values(
                    status="dead", updated_at=now()))
        return rows

    def expire_payloads(self, older_than: timedelta) -> int:
        """Drop the kept record of failures closed longer ago than `older_than` (data retention)."""
        with self.begin() as c:
            res = c.execute(update(failures).where(
                failures.c.status.in_(["resolved", "ignored", "dead"]), failures.c.payload.is_not(None),
                failures.c.updated_at < now() - older_than).values(payload=None))
            return int(res.rowcount)


def log_page_failures(c: Connection, pipeline: str, run_id: int, resolved: Sequence[str],
                      rows: Sequence[FailureRow], t: datetime) -> None:
    """One page's share of the failure log, in the page's transaction (`Store.commit_page`): the records
    now synced close their open failures; each failed record's open row counts one more attempt, or opens."""
    for chunk in chunks(resolved, 500):
        c.execute(update(failures).where(
            failures.c.pipeline == pipeline, failures.c.record_id.in_(chunk), failures.c.status == "open",
        ).values(status="resolved", updated_at=t))
    for f in rows:
        res = c.execute(update(failures).where(
            failures.c.pipeline == pipeline, failures.c.record_id == f.record_id, failures.c.status == "open",
        ).values(attempts=failures.c.attempts + 1, code=f.code, message=f.message, reasons=f.reasons,
                 step=f.step, run_id=run_id, payload=f.payload, updated_at=t))
        if res.rowcount == 0:
            c.execute(insert(failures).values(
                run_id=run_id, pipeline=pipeline, step=f.step, system=f.system, object=f.object,
                record_id=f.record_id, code=f.code, message=f.message, reasons=f.reasons,
                payload=f.payload, status="open", attempts=1, created_at=t, updated_at=t))
