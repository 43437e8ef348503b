"""Lead-to-account tie-breaks end to end: several Salesforce accounts share a person's email domain."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sync_engine.explain import explain, render_text
from tests.e2e.conftest import World

pytestmark = pytest.mark.e2e


def test_explain_names_the_account_a_new_person_links_to_and_the_rule_that_chose_it(world: World) -> None:
    # size before recent activity (the newer account is also the more recently synced one)
    text = world.config.read_text()
    rule = 'account_tie_break = ["owner_present", "customer", "recent_activity", "size"]'
    assert rule in text
    world.config.write_text(text.replace(rule, 'account_tie_break = ["owner_present", "customer", "size"]'))
    app = world.app()
    app.sync(["companies-hubspot-to-salesforce", "companies-salesforce-to-hubspot"])
    domain, ids = next((d, ids) for d, ids in sorted(world.data.truth["companies"].items()) if ids["salesforce"])
    original = next(a for a in world.dump("salesforce", "Account") if a["Id"] == ids["salesforce"])
    later = datetime.now(UTC) + timedelta(minutes=1)  # after the echoes of the first sync's own writes
    stamp = later.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    bigger = {"attributes": {"type": "Account"}, "Id": "001000000000ZZZAAA", "Name": "Holding of " + domain,
              "Website": f"https://{domain}", "NumberOfEmployees": (original["NumberOfEmployees"] or 0) + 10_000,
              "CreatedDate": stamp, "LastModifiedDate": stamp, "SystemModstamp": stamp, "IsDeleted": False}
    world.salesforce.emulator.seed({"Account": [bigger]})
    app.sync(["companies-salesforce-to-hubspot"])  # the second account joins the same company entity
    hs_stamp = later.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    world.hubspot.emulator.seed({"contacts": [{
        "id": "990201", "createdAt": hs_stamp, "updatedAt": hs_stamp, "archived": False,
        "properties": {"email": f"new.hire@{domain}", "lastname": "Hire", "lastmodifieddate": hs_stamp}}]})
    text = render_text(explain(app, "contacts-hubspot-to-salesforce", f"new.hire@{domain}"))
    assert "2 accounts share the domain" in text, text
    assert "001000000000ZZZAAA won by size" in text, text
    app.close()
