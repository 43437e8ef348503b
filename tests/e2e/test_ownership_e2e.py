"""Ownership rules end to end: people edit both CRMs, the rules in the mapping file decide who wins."""
from __future__ import annotations

from typing import Any

import pytest

from connectors.base import WriteOp
from sync_engine.app import App
from tests.e2e.conftest import World

pytestmark = pytest.mark.e2e

CONTACTS = ["contacts-hubspot-to-salesforce", "contacts-salesforce-to-hubspot"]


def _set_rules(world: World) -> None:
    """Title: `always salesforce`; Phone: `set if empty` (in the world's own copy of the mappings)."""
    path = world.root / "mappings" / "salesforce" / "contact.toml"
    text = path.read_text()
    title = next(line for line in text.splitlines() if line.startswith("rule = ") and "salesforce" in line)
    text = text.replace(title, 'rule = "always salesforce"')
    text = text.replace('field = "Phone"\ncanonical = "phone"\n', 'field = "Phone"\ncanonical = "phone"\n'
                        'rule = "set if empty"\n')
    path.write_text(text)


def _person(world: World, system: str, email: str) -> dict[str, Any]:
    if system == "hubspot":
        return next(r["properties"] for r in world.dump("hubspot", "contacts")
                    if (r["properties"].get("email") or "").strip().lower() == email)
    return next(r for r in world.dump("salesforce", "Contact") if (r.get("Email") or "").strip().lower() == email)


def _edit(app: App, system: str, email: str, world: World, fields: dict[str, Any]) -> None:
    """A person edits the record in the CRM (not through revhub)."""
    rid = world.data.truth["people"][email][system]
    obj = "contacts" if system == "hubspot" else "Contact"
    [result] = app.connectors[system].write(obj, [WriteOp("edit", rid, fields)])
    assert result.error is None, result.error


def _linked(world: World, n: int) -> list[str]:
    """People who were in both systems before revhub and are in both after the first sync."""
    hs = {(r["properties"].get("email") or "").strip().lower() for r in world.dump("hubspot", "contacts")}
    sf = {(r.get("Email") or "").strip().lower() for r in world.dump("salesforce", "Contact")}
    both = [e for e, ids in world.data.truth["people"].items()
            if ids["hubspot"] and ids["salesforce"] and e in hs and e in sf]
    assert len(both) >= n
    return both[:n]


def test_always_salesforce_keeps_title_and_set_if_empty_fills_only_an_empty_phone(world: World) -> None:
    _set_rules(world)
    app = world.app()
    assert str(app.mappings[("salesforce", "Contact")].owner_of("title")) == "always salesforce"
    app.sync()
    titled, blank_phone, both_phones = _linked(world, 3)

    # Salesforce: a title, and a phone cleared; revhub reads them (the title is written to HubSpot)
    _edit(app, "salesforce", titled, world, {"Title": "VP Sales"})
    _edit(app, "salesforce", blank_phone, world, {"Phone": None})
    _edit(app, "salesforce", both_phones, world, {"Phone": "+14155550100"})
    app.sync(CONTACTS)
    assert _person(world, "hubspot", titled)["jobtitle"] == "VP Sales"

    # HubSpot: a different job title and phones for both
    _edit(app, "hubspot", titled, world, {"jobtitle": "Chief Fun Officer"})
    _edit(app, "hubspot", blank_phone, world, {"phone": "+16502530000"})
    _edit(app, "hubspot", both_phones, world, {"phone": "+16502530099"})
    [to_sf, _to_hs] = app.sync(CONTACTS)
    assert to_sf.records["failed"] == 0
    assert _person(world, "salesforce", titled)["Title"] == "VP Sales"          # always salesforce
    assert _person(world, "hubspot", titled)["jobtitle"] == "Chief Fun Officer"  # until Salesforce's next sync
    assert _person(world, "salesforce", blank_phone)["Phone"] == "+16502530000"  # set if empty: filled
    assert _person(world, "salesforce", both_phones)["Phone"] == "+14155550100"  # set if empty: kept
    assert _person(world, "hubspot", both_phones)["phone"] == "+16502530099"     # ... on both sides

    # The Salesforce Contact changes again (another field): its title is re-asserted in HubSpot.
    _edit(app, "salesforce", titled, world, {"FirstName": "Alex"})
    app.sync(CONTACTS)
    assert _person(world, "hubspot", titled)["jobtitle"] == "VP Sales"
    assert _person(world, "salesforce", titled)["Title"] == "VP Sales"

    # and nothing ping-pongs: a further run writes nothing
    assert all(c["write"] == 0 for r in app.sync(CONTACTS) for c in r.calls.values())
    app.close()
