"""`revhub mappings diff --base REV` on the emulators: the shipped mappings committed in a temp git repo, a value
map and a rule changed in the work tree, and the diff names exactly the records whose write changes."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from sync_engine.cli import main
from tests.e2e.conftest import World

pytestmark = pytest.mark.e2e

HS_TO_SF = "companies-hubspot-to-salesforce"
PEOPLE_AND_COMPANIES = (HS_TO_SF, "companies-salesforce-to-hubspot", "contacts-hubspot-to-salesforce",
                        "contacts-salesforce-to-hubspot")
NOT_BANKING = '''
[[rules]]
id = "company-no-banks-in-salesforce"
kind = "company"
field = "industry"
check = "one_of"
value = ["Technology", "Software", "Telecommunications", "Education", "Retail", "Insurance", "Other",
         "Biotechnology", "Machinery", "Food & Beverage", "Healthcare"]
targets = ["salesforce"]
message = "banks are not synced to Salesforce"
'''


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), "-c", "user.name=RevOps", "-c", "user.email=revops@example.com",
                           *args], check=True, capture_output=True, text=True).stdout


def _commit_all(world: World) -> None:
    _git(world.root, "init", "-q", "-b", "main")
    _git(world.root, "add", "config.toml", "mappings")
    _git(world.root, "commit", "-q", "-m", "the shipped mappings")


def _run(world: World, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["mappings", "diff", "--config", str(world.config), *args])
    out, err = capsys.readouterr()
    return code, out, err


def _hubspot_companies(world: World, industry: str) -> set[str]:
    return {c["id"] for c in world.data.hubspot["companies"] if c["properties"].get("industry") == industry}


def test_a_value_map_and_a_rule_change_list_exactly_the_records_they_change(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    _commit_all(world)
    before = {s: world.stats(s) for s in ("hubspot", "salesforce")}
    code, out, err = _run(world, capsys, "--base", "main", *PEOPLE_AND_COMPANIES)
    assert code == 0, out + err  # nothing changed yet: exit 0

    companies = world.root / "mappings" / "hubspot" / "companies.toml"
    companies.write_text(companies.read_text().replace('COMPUTER_SOFTWARE = "Technology"',
                                                       'COMPUTER_SOFTWARE = "Software"'))
    rules = world.root / "mappings" / "rules.toml"
    rules.write_text(rules.read_text() + NOT_BANKING)
    code, out, _err = _run(world, capsys, "--base", "main", "--json", *PEOPLE_AND_COMPANIES)
    assert code == 1
    doc = json.loads(out)
    assert doc["differs"] and len(doc["commit"]) == 40
    by_pipeline = {p["pipeline"]: p for p in doc["pipelines"]}
    assert {n for n, p in by_pipeline.items() if p["records"]} == {HS_TO_SF}  # the other pipelines: untouched
    records = {r["source_id"]: r for r in by_pipeline[HS_TO_SF]["records"]}
    software, banks = _hubspot_companies(world, "COMPUTER_SOFTWARE"), _hubspot_companies(world, "BANKING")
    assert software and banks and set(records) == software | banks
    for rid in software:
        assert records[rid]["changes"] == [{"field": "Industry", "old": "Technology", "new": "Software",
                                            "owner": False}]
        assert records[rid]["held_back"] == {"old": [], "new": []}
    for rid in banks:
        assert records[rid]["held_back"] == {"old": [], "new": ["company-no-banks-in-salesforce"]}
        assert records[rid]["changes"] == []  # held back says it all: nothing of it is written
    assert by_pipeline[HS_TO_SF]["read"] == len(world.data.hubspot["companies"])

    code, text, _err = _run(world, capsys, "--base", "main", HS_TO_SF, "--limit", "1")
    assert code == 1
    assert f"{HS_TO_SF} (hubspot.companies -> salesforce.Account): {len(world.data.hubspot['companies'])} read, " \
           f"{len(software | banks)} would change" in text
    assert f"... and {len(software | banks) - 1} more (--limit)" in text
    assert "Industry: 'Technology' -> 'Software'" in text or \
        "held back: no -> yes (company-no-banks-in-salesforce)" in text
    assert world.writes("hubspot", before["hubspot"]) == 0 and world.writes("salesforce", before["salesforce"]) == 0
    assert not (world.root / "state.db").exists()  # not even revhub's own store was touched


def test_people_are_masked_and_a_new_field_shows_old_and_new(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    _commit_all(world)
    contact = world.root / "mappings" / "salesforce" / "contact.toml"
    contact.write_text(contact.read_text() + '''
[[fields]]
field = "LeadSource"
canonical = "lifecycle_stage"
write = [{ map_values = { lead = "Web", subscriber = "Web" }, unknown = "empty" }]

[[fields]]
field = "OwnerId"
canonical = "owner"
direction = "write"
''')
    hs_contacts = world.root / "mappings" / "hubspot" / "contacts.toml"
    hs_contacts.write_text(hs_contacts.read_text() + '\n[[fields]]\nfield = "hubspot_owner_id"\ncanonical = "owner"\n'
                           'direction = "read"\n')
    code, text, _err = _run(world, capsys, "--base", "HEAD", "contacts-hubspot-to-salesforce", "--limit", "500")
    assert code == 1
    assert "LeadSource: (not written) -> 'Web'" in text
    assert "    owner OwnerId: (not written) -> '" in text  # routing changes are called out
    emails = [p["properties"]["email"] for p in world.data.hubspot["contacts"] if p["properties"].get("email")]
    assert not any(e.strip().lower() in text for e in emails if "@" in e)  # emails are masked
    assert "***@" in text


def test_refusals_name_the_cause(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = _run(world, capsys, "--base", "main")
    assert code == 2 and "is not in a git work tree" in err
    _commit_all(world)
    code, _out, err = _run(world, capsys, "--base", "no-such-branch")
    assert code == 2 and "unknown revision `no-such-branch`" in err and "hint:" in err

    account = world.root / "mappings" / "salesforce" / "account.toml"
    good = account.read_text()
    account.write_text(good.replace('read = ["strip"]', 'read = ["stripp"]', 1))
    code, _out, err = _run(world, capsys, "--base", "main", HS_TO_SF)
    assert code == 2 and "mappings/salesforce/account.toml:" in err and "did you mean `strip`" in err

    _git(world.root, "commit", "-q", "-am", "a typo")  # broken at HEAD, fixed in the work tree
    account.write_text(good)
    code, _out, err = _run(world, capsys, "--base", "HEAD", HS_TO_SF)
    assert code == 2 and "error: HEAD:mappings/salesforce/account.toml:" in err and "unknown transform `stripp`" in err
