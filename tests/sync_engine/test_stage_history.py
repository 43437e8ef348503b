"""Stage history on SQLite and PostgreSQL: a row per stage a deal enters, per system, and time in stage."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sync_engine import stage_history
from sync_engine.stage_history import Seen
from sync_engine.store import Store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _store(url: str) -> Store:
    s = Store(url)
    s.migrate()
    return s


def _seen(entity: int, at: datetime, stage: str, pipeline: str = "new_business") -> Seen:
    return Seen(entity, at, {"name": "Acme", "pipeline": pipeline, "stage": stage})


def _record(s: Store, seen: list[Seen], run_id: int | None = None) -> int:
    """A page whose deals were all read from Salesforce and all landed in HubSpot."""
    return (stage_history.record_read(s, "salesforce", seen, run_id)
            + stage_history.record_written(s, "hubspot", seen, run_id))


def test_first_sighting_then_each_change_is_one_row_and_a_rerun_adds_none(store_url: str) -> None:
    s = _store(store_url)
    assert _record(s, [_seen(1, T0, "prospecting")], run_id=1) == 2
    first = stage_history.history(s, 1, "salesforce")
    assert [(c.from_stage, c.to_stage, c.changed_at, c.how) for c in first] == [(None, "prospecting", T0, "read")]
    # the same page read again (a crash before its commit): nothing new
    assert _record(s, [_seen(1, T0, "prospecting")]) == 0
    moved = T0 + timedelta(days=3)
    assert _record(s, [_seen(1, moved, "qualification")]) == 2
    rows = stage_history.history(s, 1, "salesforce")
    assert [(c.from_stage, c.to_stage, c.changed_at) for c in rows] == [
        (None, "prospecting", T0), ("prospecting", "qualification", moved)]
    written = stage_history.history(s, 1, "hubspot")
    assert [(c.from_stage, c.to_stage, c.how) for c in written] == [
        (None, "prospecting", "write"), ("prospecting", "qualification", "write")]


def test_a_stage_read_but_not_written_leaves_the_target_history_alone(store_url: str) -> None:
    """A deal whose write the target refused: its stage was read, but it never moved in the target."""
    s = _store(store_url)
    _record(s, [_seen(2, T0, "prospecting")])
    assert stage_history.record_read(s, "salesforce", [_seen(2, T0 + timedelta(days=1), "closed_won")]) == 1
    assert [c.to_stage for c in stage_history.history(s, 2, "salesforce")] == ["prospecting", "closed_won"]
    assert [c.to_stage for c in stage_history.history(s, 2, "hubspot")] == ["prospecting"]
    # the next run's write lands: the target's row goes from the stage it was really in
    assert stage_history.record_written(s, "hubspot", [_seen(2, T0 + timedelta(days=1), "closed_won")]) == 1
    assert [(c.from_stage, c.to_stage) for c in stage_history.history(s, 2, "hubspot")] == [
        (None, "prospecting"), ("prospecting", "closed_won")]


def test_a_pipeline_move_with_the_same_stage_name_is_a_change(store_url: str) -> None:
    s = _store(store_url)
    _record(s, [_seen(7, T0, "closed_won")])
    _record(s, [_seen(7, T0 + timedelta(hours=1), "closed_won", "renewal")])
    rows = stage_history.history(s, 7, "salesforce")
    assert [(c.pipeline, c.to_stage) for c in rows] == [("new_business", "closed_won"), ("renewal", "closed_won")]


def test_time_in_stage_counts_each_span_and_the_current_one_up_to_now(store_url: str) -> None:
    s = _store(store_url)
    _record(s, [
        _seen(3, T0, "prospecting"), _seen(4, T0, "proposal")])
    _record(s, [_seen(3, T0 + timedelta(days=2), "qualification")])
    spans = stage_history.time_in_stage(s, 3, "salesforce", at=T0 + timedelta(days=5))
    assert [(x.stage, x.seconds / 86400, x.left_at is None) for x in spans] == [
        ("prospecting", 2.0, False), ("qualification", 3.0, True)]
    assert [x.stage for x in stage_history.time_in_stage(s, 4, "salesforce", at=T0)] == ["proposal"]


def test_records_without_stage_fields_are_ignored(store_url: str) -> None:
    s = _store(store_url)
    assert _record(s, [Seen(9, T0, {"name": "no stage"})]) == 0
    assert stage_history.history(s, 9) == []
