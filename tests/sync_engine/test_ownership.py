"""Per-field ownership rules: who wins a field in a two-way pair, echoes, creates, and file errors."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sync_engine.errors import ConfigError
from sync_engine.mapping import Mapping_, load_mapping
from sync_engine.plan import (
    CHANGED_AT,
    Policy,
    Rule,
    RuleSyntaxError,
    SourceState,
    check_rules,
    plan_fields,
    stamp,
    unchanged,
)

ROOT = Path(__file__).resolve().parents[2]
SYSTEMS = ("hubspot", "salesforce")
T0, T1, T2 = (datetime(2026, 1, d, tzinfo=UTC) for d in (1, 2, 3))


def _write(path: Path, system: str, obj: str, fields: list[tuple[str, str, str | None]]) -> Path:
    """A person mapping: (field, canonical, extra line such as `rule = "set if empty"`) per entry."""
    text = f'system = "{system}"\nobject = "{obj}"\ncanonical = "person"\n'
    for name, canonical, extra in fields:
        text += f'\n[[fields]]\nfield = "{name}"\ncanonical = "{canonical}"\n' + (f"{extra}\n" if extra else "")
    path.write_text(text)
    return path


def pair(tmp_path: Path, hs_title: str | None = None, sf_title: str | None = None) -> dict[str, Mapping_]:
    hs = _write(tmp_path / "hs.toml", "hubspot", "contacts",
                [("email", "email", None), ("jobtitle", "title", hs_title), ("phone", "phone", None)])
    sf = _write(tmp_path / "sf.toml", "salesforce", "Contact",
                [("Email", "email", None), ("Title", "title", sf_title), ("Phone", "phone", None)])
    return {"hubspot": load_mapping(hs), "salesforce": load_mapping(sf)}


def title_written(maps: dict[str, Mapping_], source: str, value: str | None, target_value: str | None, *,
                  creating: bool = False, seen: SourceState | None = None,
                  target_times: dict[str, datetime] | None = None) -> bool:
    target = "salesforce" if source == "hubspot" else "hubspot"
    shadow: dict[str, Any] | None = None if creating else {"email": "a@x.com", "title": target_value}
    if shadow is not None and target_times:
        shadow[CHANGED_AT] = {k: v.isoformat() for k, v in target_times.items()}
    changes = plan_fields({"email": "a@x.com", "title": value}, source, maps[source], maps[target], shadow, seen)
    return any(c.field == "title" for c in changes)


HS, SF = "hubspot", "salesforce"
# (rule, source system, source value, target's value, creating, written?)
RULE_TABLE = [
    ("always salesforce", SF, "VP", "CTO", False, True),     # the owner overwrites
    ("always salesforce", SF, "VP", None, False, True),
    ("always salesforce", HS, "CTO", "VP", False, False),    # the other side never overwrites...
    ("always salesforce", HS, "CTO", None, False, False),    # ...not even a blank
    ("always salesforce", HS, "CTO", None, True, True),      # ...except when revhub creates the record
    ("always salesforce", SF, None, "CTO", False, False),    # a blank never clears
    ("always hubspot", HS, "CTO", "VP", False, True),        # the same rule the other way round
    ("always hubspot", SF, "VP", "CTO", False, False),
    ("always hubspot", SF, "VP", None, False, False),
    ("always hubspot", SF, "VP", None, True, True),
    ("prefer salesforce unless blank", SF, "VP", "CTO", False, True),
    ("prefer salesforce unless blank", HS, "CTO", "VP", False, False),
    ("prefer salesforce unless blank", HS, "CTO", None, False, True),   # fills the owner's blank
    ("prefer salesforce unless blank", HS, "CTO", "", False, True),
    ("prefer salesforce unless blank", HS, "CTO", None, True, True),
    ("prefer salesforce unless blank", SF, None, "CTO", False, False),  # the owner's blank clears nothing
    ("prefer hubspot unless blank", HS, "CTO", "VP", False, True),
    ("prefer hubspot unless blank", SF, "VP", "CTO", False, False),
    ("prefer hubspot unless blank", SF, "VP", None, False, True),
    ("latest change wins", HS, "CTO", "VP", False, True),     # without more evidence: the change being read
    ("latest change wins", SF, "VP", "CTO", False, True),
    ("latest change wins", HS, "CTO", None, True, True),
    ("latest change wins", HS, None, "VP", False, False),
    ("set if empty", HS, "CTO", None, False, True),
    ("set if empty", HS, "CTO", "VP", False, False),
    ("set if empty", SF, "VP", None, False, True),
    ("set if empty", SF, "VP", "CTO", False, False),
    ("set if empty", SF, "VP", None, True, True),
    ("never sync", HS, "CTO", None, False, False),
    ("never sync", HS, "CTO", "VP", False, False),
    ("never sync", HS, "CTO", None, True, False),            # not even on create
    ("never sync", SF, "VP", "CTO", False, False),
    ("never sync", SF, "VP", None, True, False),
]


@pytest.mark.parametrize(("rule", "source", "value", "target_value", "creating", "written"), RULE_TABLE)
@pytest.mark.parametrize("stated_in", ["hubspot", "salesforce", "both"])
def test_rule_table(tmp_path: Path, rule: str, source: str, value: str | None, target_value: str | None,
                    creating: bool, written: bool, stated_in: str) -> None:
    line = f'rule = "{rule}"'
    maps = pair(tmp_path, hs_title=line if stated_in in ("hubspot", "both") else None,
                sf_title=line if stated_in in ("salesforce", "both") else None)
    assert title_written(maps, source, value, target_value, creating=creating) is written


@pytest.mark.parametrize("rule", ["always salesforce", "prefer salesforce unless blank", "latest change wins",
                                  "set if empty", "never sync"])
@pytest.mark.parametrize("source", SYSTEMS)
def test_equal_values_are_never_written(tmp_path: Path, rule: str, source: str) -> None:
    maps = pair(tmp_path, sf_title=f'rule = "{rule}"')
    assert not title_written(maps, source, "VP", "VP")
    assert not title_written(maps, source, 250, "250.0")


# latest change wins with what the engine can add: the source's shadow and change times
LATEST_TABLE = [
    # (source shadow title, source time, target's time, written?)
    (None, None, None, True),          # first sight of the source record: its values are new to revhub
    ("VP", None, None, True),          # the source changed VP -> CTO; the target's time is unknown
    ("CTO", None, None, False),        # the source did not change the title (another field changed)
    ("VP", T2, T1, True),              # the source's change is newer
    ("VP", T1, T2, False),             # the target's value is newer: keep it
    ("VP", T1, T1, True),              # a tie goes to the change being read
    ("VP", T1, None, True),
    ("VP", None, T2, True),            # no time for the source: nothing to compare
]


@pytest.mark.parametrize(("source_shadow", "source_time", "target_time", "written"), LATEST_TABLE)
@pytest.mark.parametrize("source", SYSTEMS)
def test_latest_change_wins_uses_the_source_shadow_and_change_times(
        tmp_path: Path, source_shadow: str | None, source_time: datetime | None, target_time: datetime | None,
        written: bool, source: str) -> None:
    maps = pair(tmp_path, hs_title='rule = "latest change wins"')
    seen = SourceState(None if source_shadow is None else {"email": "a@x.com", "title": source_shadow},
                       modified_at=source_time)
    times = {"title": target_time} if target_time else None
    assert title_written(maps, source, "CTO", "ENG", seen=seen, target_times=times) is written


def test_a_per_field_time_beats_the_record_time(tmp_path: Path) -> None:
    maps = pair(tmp_path)  # no rule: latest change wins
    seen = SourceState({"email": "a@x.com", "title": "VP"}, modified_at=T2, field_times={"title": T0})
    assert not title_written(maps, HS, "CTO", "ENG", seen=seen, target_times={"title": T1})
    seen = SourceState({"email": "a@x.com", "title": "VP"}, modified_at=T0, field_times={"title": T2})
    assert title_written(maps, HS, "CTO", "ENG", seen=seen, target_times={"title": T1})


def test_always_an_owner_outside_the_pair_lets_the_followers_relay(tmp_path: Path) -> None:
    maps = pair(tmp_path, hs_title='rule = "always zendesk"')
    assert title_written(maps, HS, "CTO", "VP")
    assert not title_written(maps, HS, "CTO", "VP", seen=SourceState({"email": "a@x.com", "title": "CTO"}))


def test_echo_of_revhubs_own_write_is_unchanged_and_never_flows_back(tmp_path: Path) -> None:
    maps = pair(tmp_path)
    # HubSpot -> Salesforce writes CTO, changed in HubSpot at T1; the Salesforce shadow records it.
    hs_read = {"email": "a@x.com", "title": "CTO", "phone": None}
    [change] = plan_fields(hs_read, HS, maps[HS], maps[SF], {"email": "a@x.com", "title": "VP"},
                           SourceState({"email": "a@x.com", "title": "VP"}, modified_at=T1))
    assert (change.field, change.old, change.new, change.at) == ("title", "VP", "CTO", T1)
    sf_shadow = stamp({"email": "a@x.com", "title": "VP"}, {change.field: change.new}, {change.field: change.at})
    assert sf_shadow[CHANGED_AT] == {"title": T1.isoformat()}
    # Salesforce's next read shows the echo, stamped with the write's time T2: nothing changed.
    echo = {"email": "a@x.com", "title": "CTO"}
    assert unchanged(echo, sf_shadow)
    assert stamp(sf_shadow, echo, {"title": T2, "email": T2})[CHANGED_AT] == {"title": T1.isoformat()}
    # Meanwhile HubSpot changed the title again (revhub read CEO). The echo, read with a phone
    # change, must not carry CTO back over the newer CEO.
    sf_read = {**echo, "phone": "+1 650 253 0000"}
    hs_shadow = {"email": "a@x.com", "title": "CEO", CHANGED_AT: {"title": T2.isoformat()}}
    back = plan_fields(sf_read, SF, maps[SF], maps[HS], hs_shadow, SourceState(sf_shadow, modified_at=T2))
    assert [c.field for c in back] == ["phone"]


def test_stamp_keeps_the_time_of_an_unchanged_value_and_moves_a_changed_one() -> None:
    shadow = stamp(None, {"title": "VP", "phone": None}, {"title": T0, "phone": T0})
    assert shadow[CHANGED_AT] == {"title": T0.isoformat()}  # an empty value has no change time
    shadow = stamp(shadow, {"title": "VP", "phone": "1"}, {"title": T1, "phone": T1})
    assert shadow[CHANGED_AT] == {"title": T0.isoformat(), "phone": T1.isoformat()}
    assert stamp({}, {"title": "VP"}, {}) == {"title": "VP"}


def test_creating_writes_every_rule_but_never_sync(tmp_path: Path) -> None:
    maps = pair(tmp_path, sf_title='rule = "never sync"')
    hs = _write(tmp_path / "hs2.toml", "hubspot", "contacts",
                [("email", "email", None), ("jobtitle", "title", None), ("phone", "phone", 'rule = "set if empty"')])
    created = plan_fields({"email": "a@x.com", "title": "CTO", "phone": "1"}, HS, load_mapping(hs), maps[SF], None)
    assert [(c.field, c.old, c.new) for c in created] == [("email", None, "a@x.com"), ("phone", None, "1")]


# --- the mapping files ---------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("always salesforce", Rule(Policy.ALWAYS, "salesforce")),
    ("  Always   salesforce ", Rule(Policy.ALWAYS, "salesforce")),
    ("prefer hubspot unless blank", Rule(Policy.PREFER, "hubspot")),
    ("Latest change wins", Rule(Policy.LATEST)),
    ("set if empty", Rule(Policy.SET_IF_EMPTY)),
    ("never sync", Rule(Policy.NEVER)),
])
def test_rule_words_parse_into_a_rule(text: str, expected: Rule) -> None:
    assert Rule.parse(text) == expected
    assert Rule.parse(str(expected)) == expected


@pytest.mark.parametrize(("text", "hint"), [
    ("allways salesforce", "did you mean `always salesforce`?"),
    ("prefer hubspot unles blank", "did you mean `prefer hubspot unless blank`?"),
    ("prefer hubspot", "did you mean `prefer hubspot unless blank`?"),
    ("last change wins", "did you mean `latest change wins`?"),
    ("set when empty", "did you mean `set if empty`?"),
    ("set if blank", "did you mean `set if empty`?"),
    ("don't sync", "did you mean `never sync`?"),
    ("sf always", "one of: `always <system>`"),
])
def test_unknown_rule_words_get_a_did_you_mean(text: str, hint: str) -> None:
    with pytest.raises(RuleSyntaxError) as err:
        Rule.parse(text)
    assert err.value.hint.startswith(hint)


def test_an_unknown_rule_in_a_file_names_file_line_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        pair(tmp_path, sf_title='rule = "allways salesforce"')
    e = err.value
    assert (Path(e.file).name, e.line, e.key) == ("sf.toml", 12, "fields[1].rule")
    assert "unknown rule `allways salesforce`" in e.message and e.hint == "did you mean `always salesforce`?"


def test_owner_still_works_and_means_prefer_unless_blank(tmp_path: Path) -> None:
    maps = pair(tmp_path, sf_title='owner = "salesforce"')
    rule = maps[SF].owner_of("title")
    assert rule == Rule(Policy.PREFER, "salesforce") and rule is not None and rule.line == 12
    assert maps[SF].owner_of("phone") is None


@pytest.mark.parametrize(("extra", "message", "key"), [
    ('rule = "set if empty"\nowner = "salesforce"', "both `rule` and `owner` are set", "fields[1].owner"),
    ('owner = "always salesforce"', "`owner` takes one system name", "fields[1].owner"),
])
def test_owner_misuse_is_refused(tmp_path: Path, extra: str, message: str, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        pair(tmp_path, sf_title=extra)
    assert message in err.value.message and err.value.key == key and err.value.line


def test_two_entries_of_one_file_cannot_disagree(tmp_path: Path) -> None:
    path = _write(tmp_path / "sf.toml", "salesforce", "Contact", [
        ("Email", "email", None), ("Title", "title", 'rule = "set if empty"'),
        ("Title_Copy__c", "title", 'direction = "read"\nrule = "never sync"')])
    with pytest.raises(ConfigError) as err:
        load_mapping(path)
    assert "already has the rule `set if empty` (line 12)" in err.value.message and err.value.line == 18


def test_conflicting_rules_across_the_pair_name_both_files_and_lines(tmp_path: Path) -> None:
    maps = pair(tmp_path, hs_title='rule = "prefer hubspot unless blank"', sf_title='rule = "always salesforce"')
    for source, target in ((HS, SF), (SF, HS)):
        with pytest.raises(ConfigError) as err:
            check_rules(maps[source], maps[target], SYSTEMS)
        text = str(err.value)
        assert f"{tmp_path / 'hs.toml'}:12" in text and f"{tmp_path / 'sf.toml'}:12" in text
        with pytest.raises(ConfigError):
            plan_fields({"email": "a@x.com", "title": "CTO"}, source, maps[source], maps[target], {})


def test_agreeing_rules_across_the_pair_are_fine(tmp_path: Path) -> None:
    maps = pair(tmp_path, hs_title='rule = "always salesforce"', sf_title='rule = "ALWAYS  salesforce"')
    check_rules(maps[HS], maps[SF], SYSTEMS)


def test_a_rule_naming_an_unknown_system_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    maps = pair(tmp_path, sf_title='rule = "always salesforse"')
    with pytest.raises(ConfigError) as err:
        check_rules(maps[HS], maps[SF], SYSTEMS)
    e = err.value
    assert e.line == 12 and "salesforse" in e.message and e.hint == "did you mean `salesforce`?"


def test_the_shipped_mappings_pass_the_pair_check() -> None:
    for a, b in (("hubspot/contacts.toml", "salesforce/contact.toml"),
                 ("hubspot/companies.toml", "salesforce/account.toml"),
                 ("hubspot/deals.toml", "salesforce/opportunity.toml")):
        check_rules(load_mapping(ROOT / "mappings" / a), load_mapping(ROOT / "mappings" / b), SYSTEMS)
    sf = load_mapping(ROOT / "mappings/salesforce/contact.toml")
    assert str(sf.owner_of("title")) == "prefer salesforce unless blank"
