"""Identify: the key-only fast path, `[identity]` options at every call, lead-to-account tie-breaks, upsert keys."""
from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.identity_bench import FOLDING, reserved_names
from bench.identity_truth import generate
from sync_engine import identify, identity
from sync_engine.config import load_config
from sync_engine.errors import ConfigError
from sync_engine.identify import AccountCandidate, choose_account, choose_accounts
from sync_engine.identity import EmailOptions, analyze_email, email_keys
from sync_engine.mapping import load_mapping
from sync_engine.store import PageOutcome, Store

ROOT = Path(__file__).resolve().parents[2]
OPTION_SETS = (EmailOptions(), EmailOptions(fold_plus_tags=True), EmailOptions(fold_gmail_dots=True), FOLDING)
AWKWARD = [None, "", "   ", 42, "Jane.Doe+News@Acme.COM", " mailto:J.Ane@GoogleMail.com?subject=hi ",
           "Jane Doe <j.a.n.e+x@gmail.com>", "+tag@acme.com", "a@b@acme.com", "jane@acme.test", "jane@xn--bcher-kva.de",
           "JÖRG@Bücher.de", "jane..doe@acme.com", "jane@-acme.com", "info@acme.co.uk", "x@localhost",
           "jane@acme.com.", "a" * 250 + "@acme.com", "jane@sub.acme.myshopify.com", "jane@gmail.com",
           "j.ane+1@googlemail.com", "\tjane@acme.com\n", "MAILTO:<jane@acme.com>"]


def test_the_fast_path_gives_exactly_analyze_emails_keys_on_every_bench_variant() -> None:
    truth = generate(3000, 11, reserved_names())
    raws = [o.raw for o in truth.person_observations] + [p.email for p in truth.people] + AWKWARD
    for options in OPTION_SETS:
        for raw in raws:
            full = analyze_email(raw, options)
            assert email_keys(raw, options) == ((full.value if full.valid else None), full.company_domain), raw


def test_folding_options_reach_the_canonical_key_and_the_target_match() -> None:
    person = {"email": "J.Ane+news@gmail.com"}
    assert identify.canonical_key("person", person) == "j.ane+news@gmail.com"
    assert identify.canonical_key("person", person, FOLDING) == "jane@gmail.com"
    assert identify.canonical_key("company", {"website": "https://www.acme.co.uk/x"}) == "acme.co.uk"
    assert identify.canonical_key("deal", {"source_key": 7}) == "7"


def test_example_config_has_identity_defaults_and_a_bad_tie_break_names_its_line(tmp_path: Path) -> None:
    shutil.copy(ROOT / "config.example.toml", tmp_path / "config.toml")
    shutil.copytree(ROOT / "mappings", tmp_path / "mappings")
    cfg = tmp_path / "config.toml"
    config = load_config(cfg)
    assert config.identity.email_options() == EmailOptions()
    assert config.identity.account_tie_break == list(identify.TIE_BREAKS)
    text = cfg.read_text().replace("fold_plus_tags = false", "fold_plus_tags = true")
    cfg.write_text(text.replace('"recent_activity", "size"]', '"recent_activty", "size"]'))
    with pytest.raises(ConfigError) as exc:
        load_config(cfg)
    assert "account_tie_break" in exc.value.key
    assert exc.value.line is not None and "recent_activty" in cfg.read_text().splitlines()[exc.value.line - 1]
    cfg.write_text(text)
    assert load_config(cfg).identity.email_options() == EmailOptions(fold_plus_tags=True)


def _account(id: str, **values: object) -> AccountCandidate:
    seen = values.pop("seen", None)
    return AccountCandidate(id, values, seen)  # type: ignore[arg-type]


def test_tie_break_rules_apply_in_order_and_say_why() -> None:
    old = datetime(2025, 1, 1, tzinfo=UTC)
    new = datetime(2026, 1, 1, tzinfo=UTC)
    a = _account("001A", owner="ann", lifecycle_stage="lead", employees=500, seen=new)
    b = _account("001B", owner="bob", lifecycle_stage="customer", employees=10, seen=old)
    c = _account("001C", owner=None, lifecycle_stage="customer", employees=9000, seen=new)
    won = choose_account([a, b, c])
    assert won.id == "001B" and "customer" in won.reason and "3 accounts" in won.reason
    assert choose_account([a, b, c], ["size"]).id == "001C"
    assert choose_account([a, b, c], ["recent_activity", "size"]).id == "001C"
    assert choose_account([a, b, c], ["owner_present", "recent_activity"]).id == "001A"


def test_a_tie_no_rule_separates_goes_to_the_oldest_record_every_time() -> None:
    twins = [_account("0019"), _account("0011"), _account("00110")]
    first = choose_account(twins)
    assert first.id == "0011" and "no rule" in first.reason
    assert choose_account(list(reversed(twins))) == first
    assert choose_account([_account("5")]).reason == ""


def test_choose_accounts_reads_every_account_of_an_entity_from_the_crosswalk(store_url: str) -> None:
    store = Store(store_url)
    store.migrate()
    [company] = store.entities_by_key("company", ["acme.com"], create=True).values()
    run = store.start_run("p", dry_run=False)
    store.commit_page("p", run, PageOutcome(links=[
        ("salesforce", "Account", "001A", company, {"domain": "acme.com", "owner": None}),
        ("salesforce", "Account", "001B", company, {"domain": "acme.com", "owner": "005X"}),
        ("hubspot", "companies", "77", company, {"domain": "acme.com"}),
    ]))
    assert store.links_of_entities("salesforce", "Account", [company])[company].external_id in {"001A", "001B"}
    chosen = choose_accounts(store, "salesforce", "Account", [company])
    assert chosen[company].id == "001B" and "owner_present" in chosen[company].reason
    assert choose_accounts(store, "hubspot", "companies", [company])[company].id == "77"


def test_lead_to_account_uses_the_folding_options(store_url: str) -> None:
    store = Store(store_url)
    store.migrate()
    ids = store.entities_by_key("company", ["acme.com"], create=True)
    people = [{"email": "Jane+x@ACME.com", "company": None}, {"email": "jane@gmail.com", "company": None},
              {"email": "not an email", "company": None}, {"email": "b@acme.com", "company": 99}]
    identify.link_to_accounts(store, people, FOLDING)
    assert [p["company"] for p in people] == [ids["acme.com"], None, None, 99]


def test_a_mapping_upsert_key_must_be_a_field_the_file_writes(tmp_path: Path) -> None:
    src = (ROOT / "mappings" / "hubspot" / "contacts.toml").read_text()
    assert load_mapping(ROOT / "mappings" / "hubspot" / "contacts.toml").upsert == "email"
    bad = tmp_path / "contacts.toml"
    bad.write_text(src.replace('upsert = "email"', 'upsert = "emial"'))
    with pytest.raises(ConfigError) as exc:
        load_mapping(bad)
    assert exc.value.key == "upsert" and "did you mean `email`" in (exc.value.hint or "")
    assert exc.value.line is not None and "emial" in bad.read_text().splitlines()[exc.value.line - 1]


def test_identity_exports_the_fast_path() -> None:
    assert {"email_keys", "entity_key"} <= set(identity.__all__)
