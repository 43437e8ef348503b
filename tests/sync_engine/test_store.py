"""The state store on SQLite and PostgreSQL: identity graph, cursor with its page, failures, locks."""
from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, text, update

from sync_engine import merge_log
from sync_engine.errors import LockLost
from sync_engine.store import Cursor, FailureRow, PageOutcome, Store, crosswalk, locks


def _store(url: str) -> Store:
    s = Store(url)
    s.migrate()
    s.migrate()  # idempotent: a restart must not fail on an existing schema
    return s


def test_entities_are_created_once_per_key(store_url: str) -> None:
    s = _store(store_url)
    first = s.entities_by_key("person", ["a@x.com", "b@x.com"], create=True)
    again = s.entities_by_key("person", ["a@x.com", "c@x.com"], create=True)
    assert again["a@x.com"] == first["a@x.com"]
    assert s.entity_count("person") == 3
    assert s.entities_by_key("person", ["zzz@x.com"], create=False) == {}


def test_a_key_merged_away_names_the_survivor_and_is_erased_with_it(store_url: str) -> None:
    """After a merge folded b@x.com's person into a@x.com's, b@x.com seen again is that person (no new
    entity, so no new record anywhere); erasing either address erases the one person and both keys."""
    s = _store(store_url)
    ids = s.entities_by_key("person", ["a@x.com", "b@x.com"], create=True)
    s.commit_page("p", 0, PageOutcome(links=[("hubspot", "contacts", "1", ids["a@x.com"], {}),
                                             ("hubspot", "contacts", "2", ids["b@x.com"], {})]))
    merge_log.merge_away(s, "hubspot", "contacts", "1", "2", fold=(ids["b@x.com"], ids["a@x.com"]))
    assert s.entities_by_key("person", ["b@x.com"], create=True) == {"b@x.com": ids["a@x.com"]}
    assert s.entity_count("person") == 1
    c_id = s.entities_by_key("person", ["c@x.com"], create=True)["c@x.com"]  # a later merge chains
    merge_log.merge_away(s, "hubspot", "contacts", "3", "1", fold=(ids["a@x.com"], c_id))
    assert s.entities_by_key("person", ["a@x.com", "b@x.com"], create=False) == {"a@x.com": c_id, "b@x.com": c_id}
    assert s.purge_person("b@x.com")["entities"] == 1
    assert s.entities_by_key("person", ["a@x.com", "b@x.com", "c@x.com"], create=False) == {}


def test_page_commit_records_links_failures_and_cursor_together(store_url: str) -> None:
    s = _store(store_url)
    run = s.start_run("p", dry_run=False)
    stamp = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    out = PageOutcome(
        links=[("hubspot", "contacts", "101", 1, {"email": "a@x.com"}),
               ("salesforce", "Contact", "003A", 1, {"email": "a@x.com"})],
        failures=[FailureRow("validate", "hubspot", "contacts", "102", "RECORD_INVALID", "bad email", ["r1"])],
        cursor=Cursor(stamp, frozenset({"101", "102"})),
    )
    s.commit_page("p", run, out)
    assert s.cursor("p") == Cursor(stamp, frozenset({"101", "102"}))
    assert s.links_of_entities("salesforce", "Contact", [1])[1].external_id == "003A"
    assert s.links("hubspot", "contacts", ["101"])["101"].shadow == {"email": "a@x.com"}
    [row] = s.failures(pipeline="p")
    assert (row["record_id"], row["code"], row["attempts"]) == ("102", "RECORD_INVALID", 1)
    # the same record failing again is one open failure with two attempts, not two rows
    s.commit_page("p", run, PageOutcome(failures=[FailureRow("validate", "hubspot", "contacts", "102",
                                                             "RECORD_INVALID", "bad email", ["r1"])]))
    [row] = s.failures(pipeline="p")
    assert row["attempts"] == 2
    s.commit_page("p", run, PageOutcome(resolved=["102"]))
    assert s.failures(pipeline="p") == []


def test_processes_starting_together_on_a_new_database_all_get_the_schema(store_url: str) -> None:
    """The daemon and a CLI run (or two replicas) started at once on an empty database: every one of them
    starts, instead of the losers of the CREATE TABLE race failing with "already exists"."""
    stores = [Store(store_url) for _ in range(4)]
    start, errors = threading.Barrier(len(stores)), []

    def migrate(store: Store) -> None:
        start.wait()
        try:
            store.migrate()
        except Exception as exc:  # the test reports any failure, whatever its kind
            errors.append(exc)

    threads = [threading.Thread(target=migrate, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert stores[0].entities_by_key("person", ["a@x.com"], create=True)


def test_pipeline_lock_is_exclusive_until_released(store_url: str) -> None:
    a, b = _store(store_url), Store(store_url)
    holder = a.acquire("pipeline:x")
    assert holder and b.acquire("pipeline:x") is None
    a.release("pipeline:x", holder)
    assert b.acquire("pipeline:x")


def test_a_page_commit_renews_the_lease_and_a_run_whose_lock_was_taken_commits_nothing(store_url: str) -> None:
    """A long run keeps its lock by committing pages; once another run took the lock after the lease ran
    out, the first run's next page is refused whole (no cursor move, no link), so two runs never both land."""
    a, b = _store(store_url), Store(store_url)
    holder = a.acquire("pipeline:x", ttl=timedelta(minutes=30))
    assert holder
    run = a.start_run("x", dry_run=False)
    stamp = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    with a.begin() as c:  # the lease is nearly over: a commit must push it a whole lease ahead
        c.execute(update(locks).values(expires_at=datetime.now(UTC) + timedelta(seconds=5)))
    a.commit_page("x", run, PageOutcome(cursor=Cursor(stamp, frozenset({"1"}))), lock=("pipeline:x", holder))
    assert b.acquire("pipeline:x") is None, "a renewed lease must keep the lock"
    with a.begin() as c:  # now the holder goes silent for a whole lease
        c.execute(update(locks).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    other = b.acquire("pipeline:x")
    assert other
    later = Cursor(datetime(2026, 1, 6, tzinfo=UTC), frozenset({"2"}))
    with pytest.raises(LockLost, match="another run took the lock 'pipeline:x'"):
        a.commit_page("x", run, PageOutcome(links=[("hubspot", "contacts", "2", 1, {})], cursor=later),
                      lock=("pipeline:x", holder))
    assert a.cursor("x") == Cursor(stamp, frozenset({"1"}))
    assert a.links("hubspot", "contacts", ["2"]) == {}
    a.release("pipeline:x", holder)  # the loser's release leaves the new holder's lock alone
    assert Store(store_url).acquire("pipeline:x") is None


def test_two_workers_committing_the_same_crosswalk_row_both_succeed(store_url: str) -> None:
    """Two workers that wrote the same record (an upsert, docs/decisions.md 14) commit the same crosswalk
    key. On PostgreSQL the second commit runs while the first one's insert is still open: it waits on the
    key and then updates the row, where an update-then-insert would fail with a unique violation."""
    first, second = _store(store_url), Store(store_url)
    run = first.start_run("p", dry_run=False)
    key = ("hubspot", "contacts", "101")
    if first.engine.dialect.name == "postgresql":
        errors: list[BaseException] = []

        def commit() -> None:
            try:
                second.commit_page("p", run, PageOutcome(links=[(*key, 2, {"email": "b@x.com"})]))
            except BaseException as exc:
                errors.append(exc)

        with first.begin() as c:
            c.execute(insert(crosswalk).values(system=key[0], object=key[1], external_id=key[2], entity_id=1,
                                               shadow={"email": "a@x.com"}, updated_at=datetime.now(UTC)))
            worker = threading.Thread(target=commit)
            worker.start()
            for _ in range(200):  # until the second worker waits on the first one's uncommitted row
                with first.engine.connect() as probe:
                    if probe.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                          "AND query LIKE 'INSERT INTO crosswalk%'")).scalar():
                        break
                time.sleep(0.05)
        worker.join(30)
        assert errors == []
    else:  # SQLite runs one writer at a time: the commits cannot interleave, the second one updates
        first.commit_page("p", run, PageOutcome(links=[(*key, 1, {"email": "a@x.com"})]))
        second.commit_page("p", run, PageOutcome(links=[(*key, 2, {"email": "b@x.com"})]))
    link = first.links("hubspot", "contacts", ["101"])["101"]
    assert (link.entity_id, link.shadow) == (2, {"email": "b@x.com"}), "one row, holding the later commit"
