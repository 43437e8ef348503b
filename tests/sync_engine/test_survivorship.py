"""Survivorship: which record survives a merge, which rule decided, and which values it keeps."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sync_engine.survivorship import Candidate, MergeConfig, choose, fill

OLD = datetime(2026, 1, 1, tzinfo=UTC)
NEW = datetime(2026, 3, 1, tzinfo=UTC)


def _c(id: str, when: datetime = OLD, sources: tuple[str, ...] = (), **values: object) -> Candidate:
    return Candidate(id, values, when, frozenset(sources))


def test_source_priority_picks_the_record_linked_to_the_most_trusted_system() -> None:
    linked = _c("b", OLD, ("hubspot", "salesforce"), name="Acme")
    alone = _c("a", NEW, ("hubspot",), name="Acme", phone="1", industry="Tech")
    survivor, rule = choose([alone, linked], ["source_priority", "most_recent"], ["salesforce"])
    assert (survivor.id, rule) == ("b", "source_priority")


def test_a_tie_goes_to_the_next_rule_and_that_rule_is_the_one_named() -> None:
    both = ("hubspot", "salesforce")
    older, newer = _c("a", OLD, both, name="x"), _c("b", NEW, both, name="x")
    survivor, rule = choose([older, newer], ["source_priority", "most_recent"], ["salesforce"])
    assert (survivor.id, rule) == ("b", "most_recent")


def test_most_complete_counts_filled_fields_and_blank_strings_are_empty() -> None:
    sparse = _c("a", NEW, name="Acme", phone="  ", industry=None)
    full = _c("b", OLD, name="Acme", phone="555", industry="Tech")
    assert choose([sparse, full], ["most_complete"]) == (full, "most_complete")


def test_a_full_tie_goes_to_the_lowest_id_and_says_so() -> None:
    assert choose([_c("b", OLD, name="x"), _c("a", OLD, name="x")], ["most_recent", "most_complete"]) == (
        _c("a", OLD, name="x"), "lowest_id")


def test_fill_never_keeps_the_survivor_when_blank_fills_gaps_always_takes_the_newest() -> None:
    survivor = _c("s", OLD, phone=None, industry="Retail", name="Acme", website="")
    newer = _c("l1", NEW, phone="555", industry="Tech", name="ACME Inc", website="acme.com")
    older = _c("l2", OLD, phone="111", industry="Food", name="Acme Old", website="old.com")
    overrides = {"phone": "when_blank", "industry": "always", "name": "never", "website": "when_blank"}
    assert fill(survivor, [older, newer], overrides) == {"phone": "555", "industry": "Tech", "website": "acme.com"}


def test_when_blank_leaves_a_filled_survivor_and_always_keeps_a_newer_survivor() -> None:
    survivor = _c("s", NEW, phone="999", industry="Retail")
    loser = _c("l", OLD, phone="555", industry="Tech")
    assert fill(survivor, [loser], {"phone": "when_blank", "industry": "always"}) == {}


def test_config_rejects_unknown_rules_and_overrides() -> None:
    assert MergeConfig().enabled is False
    assert MergeConfig().survivor == ["source_priority", "most_recent", "most_complete"]
    with pytest.raises(ValueError, match="survivor"):
        MergeConfig(survivor=["newest"])
    with pytest.raises(ValueError, match="fields"):
        MergeConfig(fields={"phone": "sometimes"})
