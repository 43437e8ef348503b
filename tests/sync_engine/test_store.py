"""The state store on SQLite and PostgreSQL: identity graph, cursor with its page, failures, locks."""
from __future__ import annotations

from datetime import UTC, datetime

from sync_engine.store import Cursor, FailureRow, PageOutcome, Store


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
