"""Never a duplicate under two workers: a create refused as taken is upserted by its key (docs/decisions.md 14).

Two workers, each with its own App (store session and connectors), run pipelines that write the same
new people into HubSpot (or Salesforce) at the same moment. Both look the people up before either writes (a barrier
holds each after its lookup), so match-before-create alone would create every person twice.
"""
from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.hubspot import writer
from sync_engine.app import App
from tests.e2e.conftest import World, make_world

pytestmark = pytest.mark.e2e

PIPELINE = "contacts-salesforce-to-hubspot"
TWIN = "contacts-salesforce-to-hubspot-twin"  # same source and target, its own lock: a second worker
SF_PIPELINE = "contacts-hubspot-to-salesforce"
SF_TWIN = "contacts-hubspot-to-salesforce-twin"


@pytest.fixture
def two_worker_world(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("REVHUB_STORE_URL", store_url)
    for world in make_world(tmp_path, companies=15, contacts=90, opportunities=5):
        text = world.config.read_text()
        world.config.write_text(text + f'\n[pipelines.{TWIN}]\nfrom = "salesforce.Contact"\n'
                                       'to = "hubspot.contacts"\nevery_minutes = 5\n'
                                       f'\n[pipelines.{SF_TWIN}]\nfrom = "hubspot.contacts"\n'
                                       'to = "salesforce.Contact"\nevery_minutes = 5\n')
        yield world


def _emails(world: World) -> Counter[str]:
    return Counter(c["properties"]["email"].lower() for c in world.dump("hubspot", "contacts")
                   if c["properties"].get("email"))


def _race(world: World, target: str = "hubspot", pipelines: tuple[str, str] = (PIPELINE, TWIN)) -> list[Any]:
    """Run both pipelines at once, each worker waiting after every lookup until the other has looked too."""
    apps = [world.app(), world.app()]
    for app in apps:  # open the stores one after the other: two first connections to one new SQLite
        app.store.entity_count()  # file race on `PRAGMA journal_mode=WAL` (store.py; a daemon opens once)
    barrier = threading.Barrier(2, timeout=20)
    for app in apps:
        connector = app.connectors[target]
        lookup = connector.lookup

        def held(*args: Any, _lookup: Any = lookup, **kwargs: Any) -> Any:
            found = _lookup(*args, **kwargs)
            with contextlib.suppress(threading.BrokenBarrierError):  # the other worker is done: no race left
                barrier.wait()
            return found

        connector.lookup = held  # type: ignore[method-assign]
    reports: list[Any] = [None, None]
    errors: list[BaseException] = []

    def work(i: int, app: App, name: str) -> None:
        try:
            [reports[i]] = app.sync([name])
        except BaseException as exc:
            errors.append(exc)
        finally:
            barrier.abort()

    threads = [threading.Thread(target=work, args=(i, app, name))
               for i, (app, name) in enumerate(zip(apps, pipelines, strict=True))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for app in apps:
        app.close()
    assert not errors, errors
    return reports


def test_two_workers_creating_the_same_new_people_leave_each_person_once(two_worker_world: World) -> None:
    world = two_worker_world
    before = _emails(world)
    sf_emails = {c["Email"].lower() for c in world.dump("salesforce", "Contact") if c.get("Email")}
    reports = _race(world)
    after = _emails(world)
    new = {e for e in sf_emails if e in after and e not in before}
    assert len(new) > 20, "the race must be about people HubSpot did not have"
    assert {e: after[e] for e in new if after[e] != 1} == {}, "a person created twice"
    assert all(after[e] == before[e] for e in before), "an existing contact was duplicated"
    created = sum(r.records["created"] for r in reports)
    assert created == len(new), "each new person counts as created once; the loser of the race updated"
    assert all(r.outcome.value == "succeeded" for r in reports), [r.message for r in reports]


def test_without_upserts_the_loser_of_the_same_race_fails_its_creates(two_worker_world: World,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: with plain batch creates and no upsert after a refusal, match-before-create loses this
    race. HubSpot's unique email refuses the second create, so the losing worker ends partial, its people
    left as conflict failures."""
    monkeypatch.setattr(writer, "upsert_key", lambda obj, op: None)
    reports = _race(two_worker_world)
    assert sum(r.records["failed"] for r in reports) > 0
    assert {r.outcome.value for r in reports} & {"partial", "failed"}


def _sf_emails(world: World) -> Counter[str]:
    return Counter(c["Email"].lower() for c in world.dump("salesforce", "Contact")
                   if c.get("Email") and not c.get("IsDeleted"))


def test_two_workers_creating_the_same_new_people_in_salesforce_leave_each_person_once(
        two_worker_world: World) -> None:
    """Salesforce creates carry External_Id__c (the normalized email) and go through the collections
    upsert by it: the second worker's create updates the first one's record."""
    world = two_worker_world
    before = _sf_emails(world)
    hs_emails = {c["properties"]["email"].lower() for c in world.dump("hubspot", "contacts")
                 if c["properties"].get("email")}
    reports = _race(world, "salesforce", (SF_PIPELINE, SF_TWIN))
    after = _sf_emails(world)
    new = {e for e in hs_emails if e in after and e not in before}
    assert len(new) > 20, "the race must be about people Salesforce did not have"
    assert {e: after[e] for e in new if after[e] != 1} == {}, "a person created twice"
    assert all(after[e] == before[e] for e in before), "an existing contact was duplicated"
    assert sum(r.records["created"] for r in reports) == len(new), "the loser of the race updated"
    assert all(r.outcome.value == "succeeded" for r in reports), [r.message for r in reports]
