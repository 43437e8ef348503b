"""`revhub failures show --email ADDRESS`: on-call finds every failure about one person without the
failure log ever printing the address (masked or hashed rows, `[privacy]`)."""
from __future__ import annotations

import json

import pytest

from sync_engine.cli import main
from tests.e2e.conftest import World

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("mode", ["mask", "hash"])
def test_failures_about_one_person_are_found_by_their_address(world: World, mode: str,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("REVHUB_EMAIL_HASH_KEY", "a-key-only-on-call-holds-0123456789")
    world.config.write_text(world.config.read_text() + f'\n[privacy]\nemail_in_failures = "{mode}"\n')
    app = world.app()
    app.sync(["contacts-hubspot-to-salesforce"])
    held = [f for f in app.store.failures() if f["payload"]]
    assert held, "the sample data has people with broken addresses"
    mine = held[0]
    email = next(v for v in mine["payload"]["fields"].values() if isinstance(v, str) and "@" in v)
    app.close()
    capsys.readouterr()

    assert main(["--config", str(world.config), "failures", "show", "--email", f" {email.upper()} ", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [f["id"] for f in shown["failures"]] == [mine["id"]]
    assert (shown["token"] or "").startswith("email#") == (mode == "hash")

    assert main(["--config", str(world.config), "failures", "show", "--email", email]) == 0
    text = capsys.readouterr().out
    assert f"#{mine['id']} " in text and email not in text  # the person is named by mask or token only

    assert main(["--config", str(world.config), "failures", "show"]) == 2  # neither an id nor --email
