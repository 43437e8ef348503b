"""Validation rules: every check, condition, cross-field and history rule, every action, and the errors
RevOps read when a rules file is wrong (file:line, key, did-you-mean)."""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync_engine import rules_file
from sync_engine import validate as v
from sync_engine.canonical import KINDS, Kind
from sync_engine.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 3, 1)


def load(tmp_path: Path, text: str) -> list[v.Rule]:
    path = tmp_path / "rules.toml"
    path.write_text(text)
    return rules_file.load_rules(path)


def rule(tmp_path: Path, body: str, *, kind: str = "deal", message: str = "m") -> list[v.Rule]:
    return load(tmp_path, f'[[rules]]\nid = "r"\nkind = "{kind}"\nmessage = "{message}"\n{body}\n')


def verdict(rules: list[v.Rule], record: dict[str, Any], *, kind: str = "deal", previous: dict[str, Any] | None
            = None, creating: bool = False, target: str = "hubspot") -> v.Verdict:
    return v.validate(rules, kind, target, record, creating=creating, previous=previous, today=TODAY)


def fails(rules: list[v.Rule], record: dict[str, Any], **kw: Any) -> bool:
    out = verdict(rules, record, **kw)
    return bool(out.quarantine or out.warnings or out.drop_fields or out.fail_run)


def load_error(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as exc:
        load(tmp_path, text)
    return exc.value


# --- the shipped file ---------------------------------------------------------------------------------
def test_shipped_rules_file_loads_and_keeps_todays_rules() -> None:
    rules = {r.id: r for r in rules_file.load_rules(ROOT / "mappings" / "rules.toml")}
    assert {"person-email-valid", "person-email-required", "person-last-name-required-by-salesforce",
            "company-name-required-by-salesforce", "deal-name-required", "deal-stage-known"} <= set(rules)
    assert rules["person-last-name-required-by-salesforce"].when == "create"
    assert rules["person-last-name-required-by-salesforce"].targets == ("salesforce",)


def test_shipped_deal_rules_on_typical_deals() -> None:
    rules = rules_file.load_rules(ROOT / "mappings" / "rules.toml")
    ok = {"source_key": "006A", "name": "Acme - Renewal", "stage": "negotiation", "amount": 50_000.0,
          "close_date": "2026-04-30"}
    assert verdict(rules, ok) == v.Verdict([], [], [], [])
    stale = verdict(rules, {**ok, "close_date": "2026-01-31"})
    assert stale.quarantine == [] and [w.split(":")[0] for w in stale.warnings] == ["deal-close-date-not-in-past"]
    assert verdict(rules, {**ok, "stage": "closed_won", "close_date": "2025-12-01"}).warnings == []
    won_no_amount = verdict(rules, {**ok, "stage": "closed_won", "amount": None})
    assert [q.split(":")[0] for q in won_no_amount.quarantine] == ["deal-won-needs-amount"]
    jump = verdict(rules, {**ok, "stage": "closed_won"}, previous={**ok, "stage": "prospecting"})
    assert [q.split(":")[0] for q in jump.quarantine] == ["deal-no-jump-to-closed-won"]
    swing = verdict(rules, {**ok, "amount": 80_000.0}, previous=ok)
    assert [q.split(":")[0] for q in swing.quarantine] == ["deal-amount-swing"]
    explained = verdict(rules, {**ok, "amount": 80_000.0, "amount_change_reason": "two more teams"}, previous=ok)
    assert explained.quarantine == []
    big = {**ok, "amount": 150_000.0}
    assert [q.split(":")[0] for q in verdict(rules, {**big, "activity_count": 0}).quarantine] == \
        ["deal-large-needs-activity"]
    assert verdict(rules, {**big, "activity_count": 3}).quarantine == []
    assert verdict(rules, {**ok, "activity_count": 0}).quarantine == []  # under 100k: no activity needed


# --- field checks -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("body", "good", "bad"), [
    ('field = "name"\ncheck = "required"', ["x", 0, " "], [None, ""]),
    ('field = "name"\ncheck = "email"', ["a@example.com", None, ""], ["a@", "a@@b.com", "not an email", 5]),
    ('field = "name"\ncheck = "url"', ["https://www.acme.com/about?x=1", "acme.co.uk", "HTTP://ACME.COM",
                                       "www.a.io:8080"],
     ["not a url", "http://", "acme", "https://acme com", "ftp://acme.com", 42]),
    ('field = "name"\ncheck = "regex"\nvalue = \'[A-Z]{2}-\\d+\'', ["AB-12", None], ["ab-12", "AB-12x", "AB-"]),
    ('field = "stage"\ncheck = "one_of"\nvalue = ["a", "b", 1]', ["a", "b", 1, 1.0, None], ["c", "A", True, "1"]),
    ('field = "amount"\ncheck = "min"\nvalue = 0', [0, 0.0, 12.5, "3", None, ""], [-1, -0.01, "-3", "abc", True]),
    ('field = "amount"\ncheck = "max"\nvalue = 1000', [1000, -5, "999.5"], [1000.01, "1e9", "n/a", float("inf")]),
    ('field = "close_date"\ncheck = "min"\nvalue = 2026-01-01', ["2026-01-01", "2026-05-05T10:00:00Z",
                                                               date(2026, 2, 1)], ["2025-12-31", "soon", 20260101]),
    ('field = "close_date"\ncheck = "max"\nvalue = "2026-12-31"', ["2026-12-31"], ["2027-01-01", "2026-13-45"]),
    ('field = "close_date"\ncheck = "min"\nvalue = "today"', ["2026-03-01", "2026-03-02"], ["2026-02-28"]),
    ('field = "name"\ncheck = "min_length"\nvalue = 3', ["abc", 1234], ["ab", 12]),
    ('field = "name"\ncheck = "max_length"\nvalue = 3', ["abc", "", None], ["abcd", 1234]),
])
def test_field_checks(tmp_path: Path, body: str, good: list[Any], bad: list[Any]) -> None:
    rules = rule(tmp_path, body)
    field = rules[0].field
    for value in good:
        assert not fails(rules, {field: value}), value
    for value in bad:
        assert fails(rules, {field: value}), value


def test_empty_values_pass_every_check_but_required(tmp_path: Path) -> None:
    for body in ('check = "email"', 'check = "regex"\nvalue = "x"', 'check = "min_length"\nvalue = 5',
                 'check = "one_of"\nvalue = ["x"]', 'check = "min"\nvalue = 1'):
        rules = rule(tmp_path, f'field = "name"\n{body}')
        assert not fails(rules, {"name": None}) and not fails(rules, {}), body


def test_regex_is_compiled_once_at_load(tmp_path: Path) -> None:
    [r] = rule(tmp_path, 'field = "name"\ncheck = "regex"\nvalue = "[a-z]+"')
    assert r.pattern is not None and r.pattern.pattern == "[a-z]+"


# --- conditions ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("condition", "applies", "skips"), [
    ('{ field = "stage", equals = "closed_won" }', ["closed_won"], ["closed_lost", None]),
    ('{ field = "stage", one_of = ["closed_won", "closed_lost"] }', ["closed_lost"], ["proposal", None]),
    ('{ field = "stage", not_one_of = ["closed_won", "closed_lost"] }', ["proposal", None], ["closed_won"]),
    ('{ field = "stage", not_empty = true }', ["x"], [None, ""]),
    ('{ field = "stage", empty = true }', [None, ""], ["x"]),
])
def test_condition_decides_whether_the_check_applies(tmp_path: Path, condition: str, applies: list[Any],
                                                     skips: list[Any]) -> None:
    rules = rule(tmp_path, f'field = "amount"\ncheck = "required"\nif = {condition}')
    for stage in applies:
        assert fails(rules, {"stage": stage, "amount": None}), stage
        assert not fails(rules, {"stage": stage, "amount": 10}), stage
    for stage in skips:
        assert not fails(rules, {"stage": stage, "amount": None}), stage


def test_numeric_condition_threshold(tmp_path: Path) -> None:
    rules = rule(tmp_path, 'field = "owner"\ncheck = "required"\nif = { field = "amount", min = 100000 }')
    assert fails(rules, {"amount": 100_000})
    assert fails(rules, {"amount": "250000"})
    assert not fails(rules, {"amount": 99_999.99})
    assert not fails(rules, {"amount": None})
    assert not fails(rules, {"amount": 500_000, "owner": "u1"})
    below = rule(tmp_path, 'field = "owner"\ncheck = "required"\nif = { field = "close_date", max = "today" }')
    assert fails(below, {"close_date": "2026-03-01"}) and not fails(below, {"close_date": "2026-03-02"})


# --- cross-field compare ------------------------------------------------------------------------------
def test_compare_with_today_unless_closed(tmp_path: Path) -> None:
    rules = rule(tmp_path, 'compare = { field = "close_date", op = ">=", other = "today" }\n'
                           'if = { field = "stage", not_one_of = ["closed_won", "closed_lost"] }')
    assert fails(rules, {"stage": "proposal", "close_date": "2026-02-28"})
    assert not fails(rules, {"stage": "proposal", "close_date": "2026-03-01"})
    assert not fails(rules, {"stage": "closed_won", "close_date": "2020-01-01"})
    assert not fails(rules, {"stage": "proposal", "close_date": None})  # `required` judges emptiness
    assert fails(rules, {"stage": "proposal", "close_date": "next week"})  # not a date: cannot be >= today


@pytest.mark.parametrize(("op", "left", "right", "ok"), [
    ("<", 1, 2, True), ("<", 2, 2, False), ("<=", 2, 2, True), (">", "10", 9, True), (">=", 1, 2, False),
    ("==", "a", "a", True), ("==", 5, "5.0", True), ("!=", "a", "b", True), ("!=", "a", "a", False),
    ("<", "2026-01-01", "2026-01-02", True), ("<", "2026-01-01", 5, False), ("<", "abc", "abd", False),
])
def test_compare_two_fields(tmp_path: Path, op: str, left: Any, right: Any, ok: bool) -> None:
    rules = rule(tmp_path, f'compare = {{ field = "name", op = "{op}", other = "owner" }}')
    assert fails(rules, {"name": left, "owner": right}) is not ok


# --- history: transition and change -------------------------------------------------------------------
def test_transition_needs_previous_values(tmp_path: Path) -> None:
    rules = rule(tmp_path, 'transition = { field = "stage", from = ["prospecting", "qualification"], '
                           'to = ["closed_won"] }')
    won = {"stage": "closed_won"}
    assert fails(rules, won, previous={"stage": "prospecting"})
    assert fails(rules, won, previous={"stage": "qualification"})
    assert not fails(rules, won, previous={"stage": "negotiation"})
    assert not fails(rules, won, previous=None)  # first time revhub sees the deal: nothing to compare
    assert not fails(rules, won, previous={})
    assert not fails(rules, {"stage": "proposal"}, previous={"stage": "prospecting"})


def test_transition_judges_only_a_change(tmp_path: Path) -> None:
    rules = rule(tmp_path, 'transition = { field = "stage", from = ["a", "b"], to = ["b"] }')
    assert not fails(rules, {"stage": "b"}, previous={"stage": "b"})
    assert fails(rules, {"stage": "b"}, previous={"stage": "a"})


@pytest.fixture
def reason_field(monkeypatch: pytest.MonkeyPatch) -> None:
    """The canonical deal as it will be once the lead adds `amount_change_reason`."""
    deal = KINDS["deal"]
    monkeypatch.setitem(KINDS, "deal", Kind(deal.name, deal.key, deal.fields | {"amount_change_reason"}, deal.refs))


@pytest.mark.usefixtures("reason_field")
def test_change_of_more_than_percent_needs_a_reason(tmp_path: Path) -> None:
    rules = rule(tmp_path, 'change = { field = "amount", more_than_percent = 50, requires = "amount_change_reason" }')
    before = {"amount": 10_000}
    assert fails(rules, {"amount": 15_001}, previous=before)
    assert fails(rules, {"amount": 4_999}, previous=before)
    assert not fails(rules, {"amount": 15_000}, previous=before)  # exactly 50% is not more than 50%
    assert not fails(rules, {"amount": 5_000}, previous=before)
    assert not fails(rules, {"amount": 30_000, "amount_change_reason": "upsell"}, previous=before)
    assert fails(rules, {"amount": 30_000, "amount_change_reason": ""}, previous=before)
    assert not fails(rules, {"amount": 30_000}, previous=None)
    assert not fails(rules, {"amount": 30_000}, previous={"amount": None})  # first amount is not a change
    assert not fails(rules, {"amount": None}, previous=before)  # emptied: `required` judges that
    assert fails(rules, {"amount": 1}, previous={"amount": 0})  # from zero any change is over 50%
    assert not fails(rules, {"amount": 0}, previous={"amount": 0})


def test_change_without_requires_fails_on_any_big_change(tmp_path: Path) -> None:
    rules = rule(tmp_path, 'change = { field = "amount", more_than_percent = 25 }')
    assert fails(rules, {"amount": "130"}, previous={"amount": 100.0})
    assert not fails(rules, {"amount": 125}, previous={"amount": "100"})


# --- actions ------------------------------------------------------------------------------------------
def test_each_action_lands_in_its_place_with_id_and_message(tmp_path: Path) -> None:
    rules = load(tmp_path, "\n".join(
        f'[[rules]]\nid = "{action}-rule"\nkind = "deal"\nfield = "name"\ncheck = "max_length"\nvalue = 3\n'
        f'message = "too long ({action})"\naction = "{action}"\n'
        for action in ("quarantine", "warn", "drop_field", "fail_run")))
    out = verdict(rules, {"name": "abcdef"})
    assert out.quarantine == ["quarantine-rule: too long (quarantine)"]
    assert out.warnings == ["warn-rule: too long (warn)", "drop_field-rule: too long (drop_field) (`name` is not "
                                                          "written)"]
    assert out.drop_fields == ["name"]
    assert out.fail_run == ["fail_run-rule: too long (fail_run)"]
    assert not out.ok
    assert verdict(rules, {"name": "abc"}) == v.Verdict([], [], [], [])


def test_quarantine_is_the_default_action_and_keeps_every_failed_rule(tmp_path: Path) -> None:
    rules = load(tmp_path, '''
[[rules]]
id = "a"
kind = "deal"
field = "name"
check = "required"
message = "needs a name"

[[rules]]
id = "b"
kind = "deal"
field = "amount"
check = "min"
value = 0
message = "no negative amounts"
''')
    assert verdict(rules, {"name": "", "amount": -1}).quarantine == ["a: needs a name", "b: no negative amounts"]


def test_drop_field_lists_each_field_once_and_record_stays_ok(tmp_path: Path) -> None:
    rules = load(tmp_path, "\n".join(
        f'[[rules]]\nid = "r{i}"\nkind = "deal"\nfield = "name"\ncheck = "{check}"\nvalue = {value}\n'
        f'message = "m"\naction = "drop_field"\n'
        for i, (check, value) in enumerate((("max_length", 2), ("regex", '"[0-9]+"')))))
    out = verdict(rules, {"name": "abc"})
    assert out.drop_fields == ["name"] and len(out.warnings) == 2 and out.ok


def test_drop_field_for_compare_drops_the_compared_field(tmp_path: Path) -> None:
    rules = rule(tmp_path, 'compare = { field = "close_date", op = ">=", other = "today" }\naction = "drop_field"')
    assert verdict(rules, {"close_date": "2020-01-01"}).drop_fields == ["close_date"]


def test_kind_targets_and_when_select_rules(tmp_path: Path) -> None:
    rules = rule(tmp_path, 'field = "last_name"\ncheck = "required"\ntargets = ["salesforce"]\nwhen = "create"',
                 kind="person")
    assert not fails(rules, {}, kind="person", target="salesforce")  # always-rules pass: this one is create-only
    assert fails(rules, {}, kind="person", target="salesforce", creating=True)
    assert not fails(rules, {}, kind="person", target="hubspot", creating=True)
    assert not fails(rules, {}, kind="deal", target="salesforce", creating=True)


def test_passes_keeps_its_one_value_form_for_field_checks(tmp_path: Path) -> None:
    [r] = rule(tmp_path, 'field = "name"\ncheck = "max_length"\nvalue = 2')
    assert r.passes("ab") and not r.passes("abc")
    [c] = rule(tmp_path, 'field = "name"\ncheck = "required"\nif = { field = "stage", equals = "x" }')
    assert c.holds({"stage": "y"}) and not c.holds({"stage": "x"}) and not c.applies({"stage": "y"})


# --- load errors: file, line, key, hint ---------------------------------------------------------------
HEAD = '[[rules]]\nid = "ok"\nkind = "deal"\nfield = "name"\ncheck = "required"\nmessage = "m"\n\n'


@pytest.mark.parametrize(("body", "line", "key", "says", "hint"), [
    ('field = "name"\ncheck = "regex"\nvalue = "[a-z"', 13, "rules[1].value", "not a valid regular expression",
     "single quotes"),
    ('field = "stagee"\ncheck = "required"', 11, "rules[1].field", "`stagee` is not a deal field", "`stage`"),
    ('field = "name"\ncheck = "requird"', 12, "rules[1].check", "unknown check `requird`", "`required`"),
    ('field = "name"\ncheck = "required"\naction = "quarantene"', 13, "rules[1].action", "unknown action",
     "`quarantine`"),
    ('compare = { field = "close_date", op = ">=", other = "tody" }', 11, "rules[1].compare.other",
     "`tody` is not a deal field", "`today`"),
    ('compare = { field = "close_date", op = "=>", other = "today" }', 11, "rules[1].compare.op", "unknown op",
     ">="),
    ('transition = { field = "stag", from = ["a"], to = ["b"] }', 11, "rules[1].transition.field", "not a deal",
     "`stage`"),
    ('change = { field = "amount", more_than_percent = 50, requires = "amount_reason" }', 11,
     "rules[1].change.requires", "`amount_reason` is not a deal field", ""),
    ('field = "amount"\ncheck = "required"\nif = { field = "stge", equals = "x" }', 13, "rules[1].if.field",
     "`stge` is not a deal field", "`stage`"),
    ('field = "amount"\ncheck = "required"\nif = { field = "stage" }', 13, "rules[1].if", "exactly one test",
     "equals"),
    ('field = "amount"\ncheck = "required"\nif = { field = "stage", equals = "a", empty = true }', 13, "rules[1].if",
     "exactly one test", ""),
    ('field = "amount"\ncheck = "min"\nvalue = "lots"', 13, "rules[1].value", "needs a number", ""),
    ('field = "amount"\ncheck = "max_length"\nvalue = "80"', 13, "rules[1].value", "whole number", ""),
    ('field = "amount"\ncheck = "one_of"\nvalue = "a"', 13, "rules[1].value", "list", ""),
    ('field = "amount"\ncheck = "email"\nvalue = "x"', 13, "rules[1].value", "takes no value", ""),
    ('field = "amount"', 8, "rules[1]", "nothing to check", "check"),
    ('check = "required"', 8, "rules[1]", "needs the field", "field"),
    ('field = "amount"\ncheck = "required"\nchange = { field = "amount", more_than_percent = 5 }', 13,
     "rules[1].change", "has check and change", "split"),
    ('field = "amount"\ncompare = { field = "amount", op = "<", other = "today" }', 11, "rules[1].field",
     "belongs to field checks", ""),
    ('field = "source_key"\ncheck = "regex"\nvalue = "0.*"\naction = "drop_field"', 14, "rules[1].action",
     "cannot be dropped", "quarantine"),
    ('field = "name"\ncheck = "required"\naction = "drop_field"', 13, "rules[1].action", "nothing to drop", ""),
    ('field = "name"\ncheck = "required"\nwhen = "update"', 13, "rules.1.when", "", ""),
    ('field = "name"\ncheck = "required"\ntargetz = ["x"]', 13, "rules.1.targetz", "", "`targets`"),
    ('field = "amount"\ncheck = "required"\nif = { field = "stage", equal = "x" }', 13, "rules.1.if.equal", "",
     "`equals`"),
])
def test_load_errors_name_file_line_key_and_hint(tmp_path: Path, body: str, line: int, key: str, says: str,
                                                 hint: str) -> None:
    err = load_error(tmp_path, f'{HEAD}[[rules]]\nid = "r"\nkind = "deal"\n{body}\nmessage = "m"\n')
    assert err.file.endswith("rules.toml")
    assert err.line == line, err.render()
    assert err.key == key, err.render()
    assert says in err.message, err.render()
    assert hint in err.hint, err.render()


def test_regex_too_large_to_compile_is_a_file_error(tmp_path: Path) -> None:
    err = load_error(tmp_path, HEAD + '[[rules]]\nid = "r"\nkind = "deal"\nfield = "name"\ncheck = "regex"\n'
                                      'value = "a{99999999999}"\nmessage = "m"\n')
    assert err.line == 13 and "not a valid regular expression" in err.message


def test_duplicate_rule_id_is_refused(tmp_path: Path) -> None:
    err = load_error(tmp_path, HEAD + HEAD.replace('field = "name"', 'field = "stage"'))
    assert err.line == 9 and err.key == "rules[1].id" and "used twice" in err.message and "line 2" in err.hint


def test_unknown_kind_suggests(tmp_path: Path) -> None:
    err = load_error(tmp_path, '[[rules]]\nid = "r"\nkind = "deals"\nfield = "name"\ncheck = "required"\n'
                               'message = "m"\n')
    assert err.line == 3 and "`deal`" in err.hint


@pytest.mark.usefixtures("reason_field")
def test_the_reason_rule_loads_once_the_field_exists(tmp_path: Path) -> None:
    [r] = rule(tmp_path, 'change = { field = "amount", more_than_percent = 50, requires = "amount_change_reason" }')
    assert r.check == "change" and r.field == "amount" and r.change == v.Change("amount", 50.0, "amount_change_reason")


# --- robustness ---------------------------------------------------------------------------------------
VALUES = st.one_of(st.none(), st.text(max_size=20), st.integers(), st.floats(), st.booleans(), st.dates(),
                   st.datetimes(), st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3),
                                                                                         st.integers(), max_size=2),
                   st.sampled_from(["", " ", "2026-02-30", "2026-01-01T00:00:00Z", "1e400", "nan", "-inf", "today",
                                    "closed_won", "prospecting", "a@b.co", "https://x.io"]))
RECORDS = st.dictionaries(st.sampled_from(sorted(KINDS["deal"].fields)), VALUES, max_size=10)

ALL_RULES = '''
[[rules]]
id = "req"
kind = "deal"
field = "name"
check = "required"
message = "m"
''' + "".join(f'''
[[rules]]
id = "{check}"
kind = "deal"
field = "{field}"
check = "{check}"
value = {value}
message = "m"
action = "{action}"
if = {{ field = "stage", {cond} }}
''' for check, field, value, action, cond in [
    ("one_of", "stage", '["a", 1]', "warn", "not_empty = true"),
    ("min", "amount", "0", "drop_field", 'not_one_of = ["x"]'),
    ("max", "close_date", '"today"', "fail_run", "empty = true"),
    ("min_length", "name", "2", "quarantine", 'min = 3'),
    ("max_length", "name", "5", "quarantine", 'max = "today"'),
    ("regex", "name", '"(a|b)+c"', "warn", 'equals = "a"'),
]) + '''
[[rules]]
id = "email"
kind = "deal"
field = "owner"
check = "email"
message = "m"

[[rules]]
id = "url"
kind = "deal"
field = "company"
check = "url"
message = "m"

[[rules]]
id = "cmp"
kind = "deal"
compare = { field = "close_date", op = "<", other = "amount" }
message = "m"

[[rules]]
id = "cmp-today"
kind = "deal"
compare = { field = "close_date", op = ">=", other = "today" }
message = "m"

[[rules]]
id = "eq"
kind = "deal"
compare = { field = "name", op = "!=", other = "stage" }
message = "m"

[[rules]]
id = "tr"
kind = "deal"
transition = { field = "stage", from = ["prospecting", 1], to = ["closed_won", true] }
message = "m"

[[rules]]
id = "ch"
kind = "deal"
change = { field = "amount", more_than_percent = 50, requires = "owner" }
message = "m"
'''


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(record=RECORDS, previous=st.one_of(st.none(), RECORDS), creating=st.booleans())
def test_random_values_never_make_validate_raise(tmp_path: Path, record: dict[str, Any],
                                                 previous: dict[str, Any] | None, creating: bool) -> None:
    rules = load(tmp_path, ALL_RULES)
    out = v.validate(rules, "deal", "hubspot", record, creating=creating, previous=previous)
    assert all(isinstance(x, str) for x in out.quarantine + out.warnings + out.fail_run)
    assert set(out.drop_fields) <= KINDS["deal"].fields


KEYS = ["id", "kind", "field", "check", "value", "message", "action", "targets", "when", "if", "compare",
        "transition", "change", "extra"]
TOML_VALUES = st.sampled_from([
    '""', '"x"', '"name"', '"stage"', '"today"', '"required"', '"regex"', '"min"', '"one_of"', '"drop_field"',
    '"fail_run"', '"[a-"', '"a{99999999999}"', "0", "-1", "3", "1e400", "nan", "inf", "true", "2026-01-31",
    "[]", '["a"]', "[1, [2]]", "{}", '{ field = "stage" }', '{ field = "stage", equals = "a" }',
    '{ field = "amount", min = "x" }', '{ field = "close_date", op = ">=", other = "today" }',
    '{ field = "stage", from = ["a"], to = ["b"] }', '{ field = "amount", more_than_percent = 0 }',
    '{ field = "amount", more_than_percent = 50, requires = "name" }', '{ field = "x", op = "<", other = "y" }',
])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.dictionaries(st.sampled_from(KEYS), TOML_VALUES, max_size=5))
def test_random_rule_edits_load_or_give_a_file_line_error(tmp_path: Path, edits: dict[str, str]) -> None:
    base = {"id": '"r"', "kind": '"deal"', "field": '"amount"', "check": '"min"', "value": "0", "message": '"m"'}
    text = "[[rules]]\n" + "".join(f"{k} = {v}\n" for k, v in {**base, **edits}.items())
    try:
        load(tmp_path, text)
    except ConfigError as err:
        assert err.file.endswith("rules.toml") and err.line, err.render()
