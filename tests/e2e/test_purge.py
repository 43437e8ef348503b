"""Personal data in revhub's own store: `revhub purge --email` erases a person; closed failures expire."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import update

from sync_engine.cli import main
from sync_engine.store import failures, now
from tests.e2e.conftest import World

pytestmark = pytest.mark.e2e


def test_purge_erases_identity_links_and_failures_of_one_person(world: World,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    app = world.app()
    app.sync(["contacts-hubspot-to-salesforce", "contacts-salesforce-to-hubspot"])
    email = next(e for e, ids in world.data.truth["people"].items() if ids["hubspot"] and ids["salesforce"])
    [entity] = app.store.entities_by_key("person", [email], create=False).values()
    assert len(app.store.links_of_entities("hubspot", "contacts", [entity])) == 1
    bad = next(f for f in app.store.failures() if f["payload"])
    bad_email = next(v for v in bad["payload"]["fields"].values() if isinstance(v, str) and "@" in v)
    capsys.readouterr()
    assert main(["--config", str(world.config), "purge", "--email", f"  {email.upper()} ", "--json"]) == 0
    erased = json.loads(capsys.readouterr().out)["erased"]
    assert erased["entities"] == 1 and erased["links"] == 2
    assert app.store.entities_by_key("person", [email], create=False) == {}
    assert app.store.links_of_entities("salesforce", "Contact", [entity]) == {}
    assert main(["--config", str(world.config), "purge", "--email", bad_email.strip()]) == 0
    assert "@" not in capsys.readouterr().out.replace("***@", "")  # the confirmation masks the address
    assert all(f["id"] != bad["id"] for f in app.store.failures(status=None))
    app.close()


def test_closed_failures_lose_their_kept_record_after_the_retention_period(world: World) -> None:
    app = world.app()
    app.sync(["contacts-hubspot-to-salesforce"])
    rows = app.store.failures()
    assert rows and all(f["payload"] for f in rows)
    app.store.set_failure_status([rows[0]["id"]], "ignored")
    with app.store.begin() as c:
        c.execute(update(failures).where(failures.c.id == rows[0]["id"]).values(
            updated_at=now() - timedelta(days=31)))
    app.sync(["contacts-hubspot-to-salesforce"])
    kept = {f["id"]: f["payload"] for f in app.store.failures(status=None)}
    assert kept[rows[0]["id"]] is None
    assert all(kept[f["id"]] for f in rows[1:]), "open failures keep their record for replay"
    app.close()
