"""`truncate_to_target` on the emulators: a HubSpot company name longer than Salesforce's Account Name
(describe length 255) is refused as sent, and cut to the describe length once the mapping says so."""
from __future__ import annotations

import pytest

from sync_engine.explain import explain, render_text
from tests.e2e.conftest import World

pytestmark = pytest.mark.e2e

COMPANIES = "companies-hubspot-to-salesforce"
LONG_NAME = "Northwind Holdings Worldwide " * 12  # 348 characters; Account.Name holds 255
SITE = "https://northwind-holdings-worldwide.com"


def _account(world: World) -> dict | None:
    return next((r for r in world.dump("salesforce", "Account") if r.get("Website") == SITE), None)


def test_a_long_account_name_is_cut_to_the_describe_length_instead_of_rejected(world: World) -> None:
    world.hubspot.emulator.seed({"companies": [{"id": "599999", "properties": {
        "name": LONG_NAME, "domain": "northwind-holdings-worldwide.com", "website": SITE}}]})
    app = world.app()
    (first,) = app.sync([COMPANIES])
    assert first.records["failed"] == 1 and _account(world) is None  # as shipped: Salesforce refuses it
    (failure,) = app.store.failures(pipeline=COMPANIES, code="REMOTE_REJECTED")
    assert failure["record_id"] == "599999" and "(max length=255)" in failure["message"]
    app.close()

    account = world.root / "mappings" / "salesforce" / "account.toml"
    text = account.read_text()
    assert 'field = "Name"\ncanonical = "name"\nread = ["strip"]\n' in text
    account.write_text(text.replace('field = "Name"\ncanonical = "name"\nread = ["strip"]\n',
                                    'field = "Name"\ncanonical = "name"\nread = ["strip"]\n'
                                    'write = ["truncate_to_target"]\n'))
    app = world.app()
    (preview,) = app.sync([COMPANIES], dry_run=True, full=True)
    planned = next(p for p in preview.planned if p.source_id == "599999")
    assert planned.action == "create"
    assert any(r.startswith("warning: Name (mapping line ") and "truncated from 347 to 255 characters" in r
               for r in planned.reasons), planned.reasons  # `strip` on read: 347

    (rec,) = explain(app, COMPANIES, "northwind-holdings-worldwide.com").records
    name = next(t for t in rec.plan if t.canonical == "name")
    assert name.written and name.native == LONG_NAME[:255] and "truncated from 347 to 255" in name.reason
    assert "truncate_to_target -> " in render_text(explain(app, COMPANIES, "599999"))

    (retried,) = app.retry_failures(app.store.failures(pipeline=COMPANIES, code="REMOTE_REJECTED"))
    assert retried.records["created"] == 1 and retried.records["failed"] == 0
    row = _account(world)
    assert row is not None and row["Name"] == LONG_NAME[:255].rstrip() and len(row["Name"]) == 255
    assert app.store.failures(pipeline=COMPANIES, code="REMOTE_REJECTED") == []
    app.close()
