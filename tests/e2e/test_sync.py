"""The main job end to end: both emulators over real HTTP(S), sample data with real-world mess."""
from __future__ import annotations

import ast
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from sync_engine.cli import main
from sync_engine.identity import normalize_email
from sync_engine.store import locks
from tests.e2e.conftest import World

pytestmark = pytest.mark.e2e


def _people(world: World, system: str) -> Counter[str]:
    obj, field = ("contacts", "email") if system == "hubspot" else ("Contact", "Email")
    rows = world.dump(system, obj)
    values = [(r.get("properties") or {}).get(field) if system == "hubspot" else r.get(field) for r in rows]
    return Counter(normalize_email(v) for v in values if v)


def test_first_run_writes_both_ways_and_a_second_run_writes_nothing(world: World) -> None:
    app = world.app()
    first = {r.pipeline: r for r in app.sync()}
    assert first["contacts-hubspot-to-salesforce"].records["created"] > 0
    assert first["contacts-salesforce-to-hubspot"].records["created"] > 0
    assert first["companies-hubspot-to-salesforce"].records["created"] > 0
    assert first["deals-salesforce-to-hubspot"].records["created"] > 0
    before = {s: world.stats(s) for s in ("hubspot", "salesforce")}
    second = app.sync()
    assert [w for s in ("hubspot", "salesforce") for w in [world.writes(s, before[s])] if w] == []
    assert all(c["write"] == 0 for r in second for c in r.calls.values())
    assert sum(r.records["created"] + r.records["updated"] for r in second) == 0
    app.close()


def test_seeded_duplicates_end_as_one_record_per_system_and_rerun_creates_nothing(world: World) -> None:
    both = [email for email, ids in world.data.truth["people"].items() if ids["hubspot"] and ids["salesforce"]]
    assert both, "the sample data must hold people present in both systems"
    app = world.app()
    app.sync()
    app.sync()
    for system in ("hubspot", "salesforce"):
        people = _people(world, system)
        dupes = {e: n for e, n in people.items() if n > 1}
        assert dupes == {}, f"{system} has duplicates: {sorted(dupes)[:5]}"
        missing = [e for e in world.data.truth["people"] if people[e] == 0]
        assert missing == [] or all(_quarantined(app, e) for e in missing), missing[:5]
    app.close()


def _quarantined(app, email: str) -> bool:  # type: ignore[no-untyped-def]
    return any(f["code"] == "RECORD_INVALID" for f in app.store.failures())


def test_write_calls_are_ceil_of_changed_records_over_batch_size(world: World) -> None:
    app = world.app()
    before = world.stats("salesforce")
    [report] = app.sync(["contacts-hubspot-to-salesforce"])
    # creates carry External_Id__c, the mapping's upsert key: upserted by it (docs/decisions.md 14)
    creates = world.calls_to("salesforce", "PATCH /services/data/v{version}/composite/sobjects/{sobject}/{field}",
                             before)
    updates = world.calls_to("salesforce", "PATCH /services/data/v{version}/composite/sobjects", before)
    assert world.calls_to("salesforce", "POST /services/data/v{version}/composite/sobjects", before) == 0
    assert report.records["created"] > 0
    assert creates == math.ceil(report.records["created"] / 200)
    assert updates == math.ceil(report.records["updated"] / 200)
    assert report.calls["salesforce"]["write"] == creates + updates
    app.close()


def test_invalid_email_is_quarantined_with_reason_and_the_rest_of_its_batch_is_written(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    bad_hubspot = [rid for system, rid in world.data.truth["invalid_emails"] if system == "hubspot"]
    assert bad_hubspot
    app = world.app()
    [report] = app.sync(["contacts-hubspot-to-salesforce"])
    failures = {f["record_id"]: f for f in app.store.failures(pipeline="contacts-hubspot-to-salesforce")}
    for rid in bad_hubspot:
        assert failures[rid]["code"] == "RECORD_INVALID"
        assert "person-email-valid" in failures[rid]["message"]
    assert report.records["created"] + report.records["updated"] + report.records["unchanged"] > 0
    assert report.records["quarantined"] >= len(bad_hubspot)
    assert report.records["failed"] == 0
    app.close()
    assert main(["--config", str(world.config), "failures", "list", "--code", "RECORD_INVALID"]) == 0
    out = capsys.readouterr().out
    assert all(rid in out for rid in bad_hubspot) and "runbooks/RECORD_INVALID.md" in out
    assert "@" not in "".join(line for line in out.splitlines() if "person-email-valid" in line).replace(
        "***@", "")  # emails are masked in the failure log


def test_sync_json_contract_and_exit_code(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--config", str(world.config), "sync", "--json", "companies-hubspot-to-salesforce"])
    doc = json.loads(capsys.readouterr().out)
    [run] = doc["runs"]
    assert code == 0 and run["pipeline"] == "companies-hubspot-to-salesforce"
    assert run["outcome"] == "succeeded"
    assert set(run["records"]) == {"read", "created", "updated", "unchanged", "quarantined", "failed"}
    assert set(run["calls"]) == {"hubspot", "salesforce"} and run["calls"]["hubspot"]["read"] >= 1
    assert main(["--config", str(world.config), "sync", "no-such-pipeline"]) == 2


def test_dry_run_writes_nothing_and_previews_changes(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    before = world.stats("salesforce")
    assert main(["--config", str(world.config), "sync", "--dry-run", "contacts-hubspot-to-salesforce"]) == 0
    out = capsys.readouterr().out
    assert world.writes("salesforce", before) == 0
    assert "create" in out and "email: None ->" in out and "dry_run" in out


def test_expired_token_stops_the_run_with_exit_code_3(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.salesforce.emulator._set_faults({"expire_tokens": ["local-emulator"]})
    code = main(["--config", str(world.config), "sync", "--json", "contacts-salesforce-to-hubspot"])
    [run] = json.loads(capsys.readouterr().out)["runs"]
    assert code == 3 and run["outcome"] == "stopped"
    assert "AUTH_EXPIRED" in run["message"] and "runbooks/AUTH_EXPIRED.md" in run["message"]


def test_a_sync_killed_half_way_resumes_with_every_record_exactly_once(world: World) -> None:
    world.salesforce.emulator._set_faults({"latency_ms": 40})
    world.hubspot.emulator._set_faults({"latency_ms": 40})
    env = {k: v for k, v in os.environ.items() if k != "REVHUB_STORE_URL"}
    proc = subprocess.Popen([sys.executable, "-m", "sync_engine.cli", "--config", str(world.config), "sync"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and world.writes("salesforce") + world.writes("hubspot") < 3:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert world.writes("salesforce") + world.writes("hubspot") >= 3, "the sync never wrote before the kill"
    world.salesforce.emulator._set_faults({"latency_ms": 0})
    world.hubspot.emulator._set_faults({"latency_ms": 0})
    app = world.app()
    app.sync()
    app.sync()
    for system in ("hubspot", "salesforce"):
        assert {e: n for e, n in _people(world, system).items() if n > 1} == {}
    deals = [(d.get("properties") or {}).get("salesforce_opportunity_id") for d in world.dump("hubspot", "deals")]
    synced = [d for d in deals if d]
    assert len(synced) == len(set(synced)) > 0
    app.close()


def test_a_run_whose_lock_was_taken_after_its_lease_ran_out_stops_and_the_next_run_loses_nothing(
        world: World) -> None:
    """A run silent for a whole lease (a hung call) loses its lock to the next run; the first run then
    stops before committing another page, instead of both runs committing side by side."""
    name = "contacts-hubspot-to-salesforce"
    app, other = world.app(), world.app()
    taken: list[str] = []

    def after_page(line: str) -> None:
        if not taken:  # the first page is done: the lease runs out and another run takes the lock
            with app.store.begin() as c:
                c.execute(update(locks).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
            taken.append(other.store.acquire(f"pipeline:{name}") or "")

    [report] = app.sync([name], progress=after_page)
    assert taken and taken[0], "the other run must get the expired lock"
    assert report.outcome.value == "stopped"
    assert "another run took the lock" in report.message
    other.store.release(f"pipeline:{name}", taken[0])
    [again] = app.sync([name])
    assert again.outcome.value in ("succeeded", "partial")
    emails = [normalize_email(e) for e, ids in world.data.truth["people"].items() if ids["hubspot"]]
    people = _people(world, "salesforce")
    assert {e: n for e, n in people.items() if n > 1} == {}
    assert [e for e in emails if people[e] == 0 and not _quarantined(app, e)] == []
    app.close()
    other.close()


def test_a_record_sharing_the_cursor_timestamp_is_not_lost(world: World) -> None:
    """A contact written later with exactly the stamp the cursor stopped at is still read."""
    app = world.app()
    app.sync(["contacts-hubspot-to-salesforce"])
    cursor = app.store.cursor("contacts-hubspot-to-salesforce")
    assert cursor.stamp is not None and cursor.seen
    stamp = cursor.stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{cursor.stamp.microsecond // 1000:03d}Z"
    world.hubspot.emulator.seed({"contacts": [{"id": "999001", "properties": {
        "email": "late.arrival@boundary-test.com", "firstname": "Late", "lastname": "Arrival",
        "createdate": stamp, "lastmodifieddate": stamp}, "createdAt": stamp, "updatedAt": stamp, "archived": False}]})
    [report] = app.sync(["contacts-hubspot-to-salesforce"])
    assert report.records["created"] == 1
    assert _people(world, "salesforce")["late.arrival@boundary-test.com"] == 1
    app.close()


def test_hubspot_write_calls_are_ceil_of_changed_records_over_100(world: World) -> None:
    app = world.app()
    app.sync(["companies-hubspot-to-salesforce", "companies-salesforce-to-hubspot"])
    before = world.stats("hubspot")
    [report] = app.sync(["contacts-salesforce-to-hubspot"])
    creates = world.calls_to("hubspot", "POST /crm/v3/objects/{object}/batch/create", before)
    updates = world.calls_to("hubspot", "POST /crm/v3/objects/{object}/batch/update", before)
    # no other worker: no create is refused as taken, so none is re-sent as an upsert (docs/decisions.md 14)
    assert world.calls_to("hubspot", "POST /crm/v3/objects/{object}/batch/upsert", before) == 0
    assert report.records["created"] > 0
    assert creates == math.ceil(report.records["created"] / 100)
    assert updates == math.ceil(report.records["updated"] / 100)
    app.close()


def test_status_shows_each_pipeline_and_open_failures(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(world.config), "status"]) == 0
    assert "no runs yet" in capsys.readouterr().out
    main(["--config", str(world.config), "sync"])
    capsys.readouterr()
    assert main(["--config", str(world.config), "status", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {r["pipeline"] for r in doc["runs"]} == {
        "companies-hubspot-to-salesforce", "companies-salesforce-to-hubspot", "contacts-hubspot-to-salesforce",
        "contacts-salesforce-to-hubspot", "deals-salesforce-to-hubspot"}
    assert doc["open_failures"] >= len(world.data.truth["invalid_emails"])


def test_dry_run_json_and_csv_list_each_change_and_predict_the_write_calls(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    import csv
    import io

    pipeline = "contacts-hubspot-to-salesforce"
    assert main(["--config", str(world.config), "sync", pipeline, "--dry-run", "--output", "json"]) == 0
    [run] = json.loads(capsys.readouterr().out)["runs"]
    creates = [p for p in run["plan"] if p["action"] == "create"]
    assert len(creates) == run["records"]["created"] > 0
    assert any(c["field"] == "email" and c["old"] is None and "@" in c["new"] for c in creates[0]["changes"])
    quarantined = [p for p in run["plan"] if p["action"] == "quarantine"]
    assert quarantined and all(p["reasons"] for p in quarantined)
    expected = math.ceil(run["records"]["created"] / 200) + math.ceil(run["records"]["updated"] / 200)
    assert run["would_write_calls"] == {"salesforce": expected}
    assert main(["--config", str(world.config), "sync", pipeline, "--dry-run", "--output", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {r["action"] for r in rows} >= {"create", "quarantine"}
    assert any(r["field"] == "last_name" and r["new"] and r["sends"] == f"LastName={r['new']}" for r in rows)
    email = next(c for c in creates[0]["changes"] if c["field"] == "email")
    assert email["sends"] == {"Email": email["new"], "External_Id__c": email["new"]}, "both fields it writes"
    [app_run] = world.app().sync([pipeline])  # and the real run does what the preview said
    assert app_run.records["created"] == run["records"]["created"]
    assert app_run.calls["salesforce"]["write"] == expected


def test_the_dry_run_preview_shows_the_value_sent_when_a_write_transform_changes_it(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """RevOps adding `write = ["upper"]` sees in the preview what Salesforce will receive, not only the
    canonical value revhub decided on."""
    mapping = world.root / "mappings" / "salesforce" / "contact.toml"
    text = mapping.read_text()
    old = 'field = "LastName"\ncanonical = "last_name"\nread = ["strip"]\n'
    mapping.write_text(text.replace(old, old + 'write = ["upper"]\n'))
    assert main(["--config", str(world.config), "sync", "contacts-hubspot-to-salesforce", "--dry-run"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.strip().startswith("last_name:")]
    names = [ast.literal_eval(ln.split(" -> ", 1)[1].split("  (sent as ")[0]) for ln in lines]
    changed = [(ln, n) for ln, n in zip(lines, names, strict=True) if n and n != n.upper()]
    assert changed, "the sample data has last names that upper() changes"
    for line, name in changed:
        assert line.endswith(f"(sent as LastName = {name.upper()!r})"), line


def test_a_person_without_a_company_is_linked_to_the_account_of_their_email_domain(world: World) -> None:
    app = world.app()
    app.sync(["companies-hubspot-to-salesforce", "companies-salesforce-to-hubspot"])
    domain = next(d for d, ids in world.data.truth["companies"].items() if ids["salesforce"])
    stamp = "2026-02-01T00:00:00.000Z"
    contact = {"createdAt": stamp, "updatedAt": stamp, "archived": False}
    world.hubspot.emulator.seed({"contacts": [
        {**contact, "id": "990101", "properties": {"email": f"new.hire@{domain}", "lastname": "Hire",
                                                   "lastmodifieddate": stamp}},
        {**contact, "id": "990102", "properties": {"email": "solo.founder@gmail.com", "lastname": "Founder",
                                                   "lastmodifieddate": stamp}}]})
    app.sync(["contacts-hubspot-to-salesforce"])
    sf = {r["Email"]: r for r in world.dump("salesforce", "Contact") if r.get("Email")}
    assert sf[f"new.hire@{domain}"]["AccountId"] == world.data.truth["companies"][domain]["salesforce"]
    assert sf["solo.founder@gmail.com"]["AccountId"] is None, "free-mail never picks a company"
    app.close()
