"""A create whose answer never came back (the vendor applied it, the client timed out) must not become
a duplicate: the run stops without sending it again, and the rerun finds the record it created.

The emulators' admin API `lose_write_answers` applies the next write and then holds its answer past
the client's timeout before dropping the connection: a real lost answer, on the real client libraries.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

import pytest

from sync_engine.cli import main
from sync_engine.identity import normalize_email
from tests.e2e.conftest import World

pytestmark = pytest.mark.e2e

# (pipeline, target, the new source record, how to read its key in a target dump, does the run stop?)
_ACCOUNT = ("companies-hubspot-to-salesforce", "salesforce", "Account",
            {"companies": [{"properties": {"name": "Lost Answer Ltd", "domain": "lost-answer-example.com",
                                           "website": "https://www.lost-answer-example.com"}}]},
            lambda r: r.get("Name"), "Lost Answer Ltd", True)
CASES = {
    "salesforce-account-create": _ACCOUNT,  # POST collections, no upsert key: never resent, the rerun matches
    # the connection closed at once, without an answer (a reset, not a read timeout): still never resent
    "salesforce-account-create-connection-drop": _ACCOUNT,
    "salesforce-contact-upsert": (  # collections upsert by External_Id__c (decision 14): resent at once, one record
        "contacts-hubspot-to-salesforce", "salesforce", "Contact",
        {"contacts": [{"properties": {"email": "lost.answer@walkthrough-example.com", "firstname": "Lost",
                                      "lastname": "Answer"}}]},
        lambda r: normalize_email(r.get("Email")), "lost.answer@walkthrough-example.com", False),
    "hubspot-company-create": (  # batch/create: never resent, the run stops, the rerun matches by domain
        "companies-salesforce-to-hubspot", "hubspot", "companies",
        {"Account": [{"Name": "Lost Answer Ltd", "Website": "https://www.lost-answer-example.com"}]},
        lambda r: r["properties"].get("domain"), "lost-answer-example.com", True),
    "hubspot-contact-create": (  # batch/create (decision 14): never resent, the run stops, the rerun matches
        "contacts-salesforce-to-hubspot", "hubspot", "contacts",
        {"Contact": [{"FirstName": "Lost", "LastName": "Answer", "Email": "lost.answer@walkthrough-example.com"}]},
        lambda r: normalize_email(r["properties"].get("email")), "lost.answer@walkthrough-example.com", True),
}


def _keys(world: World, system: str, obj: str, key: Callable[[dict], str | None]) -> Counter[str | None]:
    return Counter(key(r) for r in world.dump(system, obj) if not r.get("archived") and not r.get("IsDeleted"))


def _sync(world: World, capsys: pytest.CaptureFixture[str], pipeline: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["--config", str(world.config), "sync", "--json", pipeline])
    return code, json.loads(capsys.readouterr().out)["runs"][0]


@pytest.mark.parametrize("case", list(CASES))
def test_a_create_whose_answer_is_lost_is_not_duplicated(
        world: World, capsys: pytest.CaptureFixture[str], case: str) -> None:
    pipeline, target, obj, seed, key, wanted, stops = CASES[case]
    source = "hubspot" if target == "salesforce" else "salesforce"
    world.config.write_text(world.config.read_text().replace(
        f'connector = "{target}"\n', f'connector = "{target}"\ntimeout = 1\n'))
    assert _sync(world, capsys, pipeline)[0] == 0, "the steady state: every existing record synced"
    getattr(world, source).emulator.seed(seed)
    held = 0 if case.endswith("connection-drop") else 1500
    answer = getattr(world, target).emulator._set_faults({"lose_write_answers": 1, "lost_answer_ms": held})
    assert answer["lose_write_answers"] == 1
    before = world.stats(target)

    code, run = _sync(world, capsys, pipeline)
    assert getattr(world, target).emulator.faults.lose_write_answers == 0, "a write's answer was lost"
    assert _keys(world, target, obj, key)[wanted] == 1, "the vendor applied the write although its answer was lost"
    if stops:
        assert code == 3 and run["outcome"] == "stopped" and run["message"].startswith("NETWORK: "), run
        assert world.writes(target, before) == 1, "the create was not sent again after its lost answer"
        code, run = _sync(world, capsys, pipeline)
    assert code == 0 and run["outcome"] == "succeeded", run
    keys = _keys(world, target, obj, key)
    assert keys[wanted] == 1, "the record exists once: found, not created again"
    assert not {k: n for k, n in keys.items() if k and n > 1}
    assert main(["--config", str(world.config), "failures", "list", "--code", "NETWORK", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["failures"] == [], "no stop left open"
