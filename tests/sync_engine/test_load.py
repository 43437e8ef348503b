"""The loader: creates carry the mapping's upsert key, an upsert that found its record counts as an update,
and a page commit that lost a crosswalk race to another worker is retried."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from connectors.base import Connector, ObjectSchema, ObjectSpec, Record, WriteOp, WriteResult
from connectors.errors import FailureCode, RemoteError
from sync_engine.errors import FatalError
from sync_engine.load import COMMIT_ATTEMPTS, Loader
from sync_engine.plan import Change
from sync_engine.store import PageOutcome

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class Target(Connector):
    """Records every write; `existing` emails answer as found (an upsert that updated another's record)."""

    system = "target"
    objects = {"people": ObjectSpec("people", "modified", 2)}

    def __init__(self, existing: frozenset[str] = frozenset()) -> None:
        self.ops: list[WriteOp] = []
        self.existing = existing

    def write(self, object: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        self.ops += ops
        return [WriteResult(op.ref, op.id or f"t-{op.ref}",
                            created=op.id is None and op.fields.get("email") not in self.existing) for op in ops]

    def check(self) -> None: ...
    def read(self, object: str, since: datetime | None, fields: Sequence[str]) -> Iterator[list[Record]]:
        return iter(())
    def lookup(self, object: str, field: str, values: Sequence[str], fields: Sequence[str] = ()) -> list[Record]:
        return []
    def describe(self, object: str) -> ObjectSchema:
        return ObjectSchema(object, {})


def _plan(loader: Loader, entity: int, target_id: str | None, fields: dict[str, Any]) -> None:
    record = Record("src", f"s{entity}", fields, NOW)
    loader.plan_write(1, entity, target_id, {}, fields, {}, tuple(Change(k, None, v) for k, v in fields.items()),
                      record, dict(fields))


def test_creates_with_a_key_value_are_upserted_by_it_and_an_upsert_that_found_its_record_is_an_update() -> None:
    target, counts, committed = Target(existing=frozenset({"b@x.com"})), Counter[str](), []
    loader = Loader(target, "target", "people", "src", "src", counts, committed.append, upsert="email")
    _plan(loader, 1, None, {"email": "a@x.com"})
    _plan(loader, 2, None, {"email": "b@x.com"})
    _plan(loader, 3, None, {"name": "no email"})
    _plan(loader, 4, "t-9", {"email": "c@x.com"})
    loader.page_done(1, PageOutcome())
    loader.finish()
    assert {op.ref: op.upsert for op in target.ops} == {"s1": "email", "s2": "email", "s3": None, "s4": None}
    assert counts == Counter(created=2, updated=2)  # s2 was created by another worker: this run updated it
    assert len(committed) == 1 and len(committed[0].links) == 8


def test_without_an_upsert_key_creates_are_plain() -> None:
    target = Target()
    loader = Loader(target, "target", "people", "src", "src", Counter(), lambda _o: None)
    _plan(loader, 1, None, {"email": "a@x.com"})
    loader.page_done(1, PageOutcome())
    loader.finish()
    assert [op.upsert for op in target.ops] == [None]


def test_a_commit_that_lost_a_crosswalk_race_is_retried_then_gives_up() -> None:
    tries: list[int] = []

    def racing(_outcome: PageOutcome) -> None:
        tries.append(1)
        if len(tries) == 1:
            raise IntegrityError("insert crosswalk", {}, Exception("duplicate key"))

    loader = Loader(Target(), "target", "people", "src", "src", Counter(), racing)
    loader.page_done(1, PageOutcome())
    assert len(tries) == 2

    def always(_outcome: PageOutcome) -> None:
        tries.append(1)
        raise IntegrityError("insert crosswalk", {}, Exception("duplicate key"))

    tries.clear()
    loader = Loader(Target(), "target", "people", "src", "src", Counter(), always)
    with pytest.raises(IntegrityError):
        loader.page_done(1, PageOutcome())
    assert len(tries) == COMMIT_ATTEMPTS


class Refusing(Target):
    """Accepts every write but those whose `stage` is in `refused` (a picklist the target does not allow)."""

    def __init__(self, refused: set[str], fatal: bool = False) -> None:
        super().__init__()
        self.refused, self.fatal = refused, fatal

    def write(self, object: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        self.ops += ops
        code = FailureCode.AUTH_INVALID if self.fatal else FailureCode.PICKLIST_MISMATCH
        return [WriteResult(op.ref, None, error=RemoteError(code, "bad value for restricted picklist field"))
                if op.fields.get("stage") in self.refused else WriteResult(op.ref, f"t-{op.ref}") for op in ops]


def test_only_writes_the_target_accepted_are_handed_on_as_landed() -> None:
    landed: list[list[int]] = []
    loader = Loader(Refusing({"Bogus"}), "target", "people", "src", "src", Counter(), lambda _o: None,
                    landed=lambda writes: landed.append([w.entity for w in writes]))
    _plan(loader, 1, None, {"stage": "Bogus"})
    _plan(loader, 2, None, {"stage": "Won"})
    _plan(loader, 3, "t-3", {"stage": "Bogus"})
    loader.page_done(1, PageOutcome())
    loader.finish()
    assert sorted(e for batch in landed for e in batch) == [2]


def test_writes_that_landed_beside_a_fatal_refusal_are_still_handed_on() -> None:
    """The run stops on the fatal refusal, but the target did take the other records of the batch."""
    landed: list[int] = []
    loader = Loader(Refusing({"Bogus"}, fatal=True), "target", "people", "src", "src", Counter(), lambda _o: None,
                    landed=lambda writes: landed.extend(w.entity for w in writes))
    _plan(loader, 1, None, {"stage": "Bogus"})
    _plan(loader, 2, None, {"stage": "Won"})
    with pytest.raises(FatalError):
        loader.page_done(1, PageOutcome())
    assert landed == [2]
