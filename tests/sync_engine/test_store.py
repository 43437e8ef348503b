"""The state store on SQLite and PostgreSQL: identity graph, cursor with its page, failures, locks."""
from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from sqlalchemy import insert, text

from sync_engine.store import Cursor, FailureRow, PageOutcome, Store, crosswalk


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


def test_pipeline_lock_is_exclusive_until_released(store_url: str) -> None:
    a, b = _store(store_url), Store(store_url)
    holder = a.acquire("pipeline:x")
    assert holder and b.acquire("pipeline:x") is None
    a.release("pipeline:x", holder)
    assert b.acquire("pipeline:x")


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
