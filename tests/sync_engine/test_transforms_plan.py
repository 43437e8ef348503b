"""Mapping transforms and the plan step: what gets written, and what is recognised as unchanged."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.base import Record
from sync_engine import transforms
from sync_engine.errors import FailureCode, RecordError
from sync_engine.mapping import load_mapping
from sync_engine.plan import plan_fields, same, unchanged

ROOT = Path(__file__).resolve().parents[2]


def test_map_values_policies() -> None:
    _, keep = transforms.build({"map_values": {"Closed Won": "closedwon"}, "unknown": "keep"})
    _, quarantine = transforms.build({"map_values": {"Closed Won": "closedwon"}, "unknown": "quarantine"})
    assert keep("closed won") == "closedwon" and keep("Other") == "Other"
    with pytest.raises(RecordError) as exc:
        quarantine("Other")
    assert exc.value.code is FailureCode.PICKLIST_MISMATCH


def test_transform_option_errors() -> None:
    with pytest.raises(ValueError, match="needs a value"):
        transforms.build("default")
    with pytest.raises(ValueError, match="unknown option"):
        transforms.build({"map_values": {"a": "b"}, "unkown": "keep"})
    with pytest.raises(KeyError):
        transforms.build("eval")


def test_same_treats_empty_and_numbers_like_a_person() -> None:
    assert same(None, "") and same(250, "250") and same(250.0, 250)
    assert not same("a", None) and not same("Acme", "acme")


def test_hubspot_contact_maps_to_canonical_and_salesforce_fields() -> None:
    hs = load_mapping(ROOT / "mappings/hubspot/contacts.toml")
    sf = load_mapping(ROOT / "mappings/salesforce/contact.toml")
    rec = Record("contacts", "101", {"email": " Jane.Doe@Acme.com ", "firstname": "Jane", "lastname": "Doe",
                                     "jobtitle": "CFO"}, datetime(2026, 1, 5, tzinfo=UTC), {"companies": ("7",)})
    canonical = hs.to_canonical(rec, lambda kind, value: {"7": 70}.get(value) if kind == "company" else None)
    assert canonical["email"] == "jane.doe@acme.com" and canonical["company"] == 70
    fields, links = sf.to_native(canonical, lambda kind, ent: {70: "001AAA"}.get(ent))
    assert fields["Email"] == "jane.doe@acme.com" and fields["AccountId"] == "001AAA" and links == {}
    assert "LifecycleStage" not in fields


def test_ownership_keeps_salesforce_title_on_update_but_fills_it_on_create() -> None:
    hs = load_mapping(ROOT / "mappings/hubspot/contacts.toml")
    sf = load_mapping(ROOT / "mappings/salesforce/contact.toml")
    canonical = {"email": "a@acme.com", "title": "CFO", "first_name": "Ann"}
    created = {c.field for c in plan_fields(canonical, "hubspot", hs, sf, None)}
    assert created == {"email", "title", "first_name"}
    updated = plan_fields(canonical, "hubspot", hs, sf, {"email": "a@acme.com", "title": "CEO", "first_name": "A"})
    assert [(c.field, c.old, c.new) for c in updated] == [("first_name", "A", "Ann")]
    assert unchanged({"email": "a@acme.com", "phone": None}, {"email": "a@acme.com"})


def test_concat_reads_several_fields_and_must_come_first(tmp_path: Path) -> None:
    from sync_engine.errors import ConfigError

    m = tmp_path / "contact.toml"
    m.write_text('system = "salesforce"\nobject = "Contact"\ncanonical = "person"\n\n'
                 '[[fields]]\nfield = "Email"\ncanonical = "email"\n\n'
                 '[[fields]]\nfield = "Name"\ncanonical = "title"\ndirection = "read"\n'
                 'read = [{ concat = ["Title", "Department"], separator = ", " }]\n')
    mapping = load_mapping(m)
    assert {"Title", "Department"} <= set(mapping.source_fields())
    rec = Record("Contact", "003A", {"Email": "a@x.com", "Title": "VP", "Department": "Sales"},
                 datetime(2026, 1, 5, tzinfo=UTC))
    assert mapping.to_canonical(rec, lambda k, v: None)["title"] == "VP, Sales"
    m.write_text(m.read_text().replace('read = [{ concat', 'read = ["strip", { concat'))
    with pytest.raises(ConfigError, match="concat must be the first transform") as exc:
        load_mapping(m)
    assert exc.value.line == len(m.read_text().splitlines())
