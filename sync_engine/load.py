"""Load: write planned changes to the target in the largest batches its API allows, across pages.

A source page rarely holds a full batch of creates and a full batch of updates, so writes wait in a
buffer until a batch is full (or the run ends). A page is committed, with its cursor, only once
every write it planned has landed: a crash never moves the cursor past an unwritten record, and
the rerun's lookup-before-create finds whatever the crashed run wrote.

Creates carry the target mapping's upsert key (`upsert = "..."`, docs/decisions.md 14) when it has
a value, so the connector creates-or-updates by it: two workers creating the same person, or a
retry of a create whose answer was lost, end as one record.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError

from connectors.base import Connector, Record, WriteOp
from sync_engine import plan
from sync_engine.errors import FailureCode, FatalError
from sync_engine.redact import redact
from sync_engine.store import FailureRow, PageOutcome

COMMIT_ATTEMPTS = 3


def payload(r: Record) -> dict[str, Any]:
    """The source record as a failure row keeps it, so a retryable failure replays without a re-read."""
    return {"object": r.object, "id": r.id, "fields": dict(r.fields), "modified_at": r.modified_at.isoformat(),
            "links": {k: list(v) for k, v in r.links.items()}}


@dataclass(slots=True)
class PendingWrite:
    """One target record's planned write; several source records of one entity merge into it."""

    entity: int
    page: int
    target_id: str | None
    shadow: dict[str, Any]
    fields: dict[str, Any] = field(default_factory=dict)
    links: dict[str, tuple[str, ...]] = field(default_factory=dict)
    changes: dict[str, plan.Change] = field(default_factory=dict)
    records: list[tuple[Record, dict[str, Any]]] = field(default_factory=list)

    def add(self, page: int, fields: dict[str, Any], links: dict[str, tuple[str, ...]],
            changes: tuple[plan.Change, ...], record: Record, canonical: dict[str, Any]) -> None:
        self.page = max(self.page, page)
        self.fields.update(fields)
        self.links.update(links)
        self.changes.update({c.field: c for c in changes})
        self.records.append((record, canonical))


@dataclass(slots=True)
class Loader:
    target: Connector
    system: str
    object: str
    source_system: str
    source_object: str
    counts: Any  # the run report's Counter
    commit: Callable[[PageOutcome], None]
    dry_run: bool = False
    buffer: dict[int, PendingWrite] = field(default_factory=dict)
    pages: dict[int, PageOutcome] = field(default_factory=dict)
    predicted_calls: int = 0  # dry runs: the write calls the run would have made
    upsert: str | None = None  # the target mapping's upsert key: a unique field creates are upserted by
    # told of each batch's writes the target accepted (deals: their stage history), never of refused ones
    landed: Callable[[list[PendingWrite]], None] | None = None

    @property
    def batch(self) -> int:
        return self.target.spec(self.object).batch_size

    def pending(self, entity: int) -> PendingWrite | None:
        return self.buffer.get(entity)

    def plan_write(self, page: int, entity: int, target_id: str | None, shadow: dict[str, Any],
                   fields: dict[str, Any], links: dict[str, tuple[str, ...]], changes: tuple[plan.Change, ...],
                   record: Record, canonical: dict[str, Any]) -> None:
        write = self.buffer.get(entity)
        if write is None:
            write = self.buffer[entity] = PendingWrite(entity, page, target_id, shadow)
        else:  # a second source record of the same entity: one write carries both
            self.counts["unchanged"] += 1
        write.add(page, fields, links, changes, record, canonical)

    def page_done(self, page: int, outcome: PageOutcome) -> None:
        """Hold the page's outcome until its writes land; write every full batch now."""
        self.pages[page] = outcome
        for creating in (True, False):
            while True:
                ready = [w for w in self.buffer.values() if (w.target_id is None) == creating]
                if len(ready) < self.batch:
                    break
                self._write(ready[: self.batch])
        self._commit_ready()

    def finish(self) -> None:
        """End of the run: write what is left (at most one partial batch of each kind), commit all."""
        for creating in (True, False):
            ready = [w for w in self.buffer.values() if (w.target_id is None) == creating]
            for i in range(0, len(ready), self.batch):
                self._write(ready[i:i + self.batch])
        self._commit_ready()

    def _commit_ready(self) -> None:
        oldest_pending = min((w.page for w in self.buffer.values()), default=None)
        for page in sorted(self.pages):
            if oldest_pending is not None and page >= oldest_pending:
                break
            self._commit(self.pages.pop(page))

    def _commit(self, outcome: PageOutcome) -> None:
        """Commit a page; retried on a unique violation, which the transaction rolled back whole.

        On SQLite and PostgreSQL crosswalk rows and cursors are upserts and cannot raise one; the retry
        is for other databases, where another worker may insert a crosswalk row between this commit's
        update and its insert (two workers wrote the same record)."""
        for attempt in range(COMMIT_ATTEMPTS):
            try:
                self.commit(outcome)
                return
            except IntegrityError:
                if attempt == COMMIT_ATTEMPTS - 1:
                    raise

    def _write(self, writes: list[PendingWrite]) -> None:
        for w in writes:
            del self.buffer[w.entity]
        if self.dry_run:
            self.predicted_calls += 1
            for w in writes:
                self.counts["updated" if w.target_id else "created"] += 1
            return
        ops = [WriteOp(ref=w.records[-1][0].id, id=w.target_id, fields=w.fields, links=w.links,
                       upsert=self.upsert if w.target_id is None and w.fields.get(self.upsert or "") else None)
               for w in writes]
        results = self.target.write(self.object, ops)
        landed: list[PendingWrite] = []
        fatal: FatalError | None = None
        for w, result in zip(writes, results, strict=True):
            out = self.pages[w.page]
            if result.error is None and result.id:
                # an upsert that found the record (another worker's create) updated it
                self.counts["created" if w.target_id is None and result.created else "updated"] += 1
                for record, canonical in w.records:
                    out.links.append((self.source_system, self.source_object, record.id, w.entity, canonical))
                    out.resolved.append(record.id)
                out.links.append((self.system, self.object, result.id, w.entity,
                                  {**w.shadow, **{c.field: c.new for c in w.changes.values()}}))
                landed.append(w)
                continue
            err = result.error
            code = err.code if err else FailureCode.UNKNOWN
            message = redact(f"{self.system} refused {self.object}: {err.message if err else 'no id'}")
            self.counts["failed"] += 1
            for record, _canonical in w.records:
                out.failures.append(FailureRow("load", self.system, self.object, record.id, code.value, message,
                                               [message], payload(record)))
            if code.fatal and fatal is None:
                fatal = FatalError(code, message)
        if landed and self.landed is not None:  # before a fatal refusal stops the run: these did land
            self.landed(landed)
        if fatal is not None:
            raise fatal
