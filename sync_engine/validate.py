"""Declarative validation rules on canonical records; a failing record is quarantined with every reason.

Rules live in a TOML file RevOps edit (`mappings/rules.toml`, documented in `mappings/README.md`).
Each rule has an id, the kind it checks, one check, a message and an action. The vocabulary is closed
(no expressions, no eval):

- field checks (`field` + `check` + `value`): required, email, url, regex, one_of, min, max,
  min_length, max_length;
- `compare = { field, op, other }`: one field against another field of the same record or `today`;
- `transition = { field, from, to }`: a value may not move from one set straight into another
  (needs the values revhub last synced, `previous`);
- `change = { field, more_than_percent, requires }`: a number moving by more than that share of its
  last synced value needs the `requires` field filled in (or, without `requires`, fails);
- `if = { field, equals | one_of | not_one_of | empty | not_empty | min | max }`: the rule only applies
  when the condition holds;
- actions: `quarantine` (default), `warn`, `drop_field` (the record is written without the field),
  `fail_run` (the engine stops the run).

`validate` never raises on record values: a value a check cannot read (text where a number belongs)
fails that check, an empty value passes every check but `required`.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sync_engine import identity, tomlfile
from sync_engine.canonical import KINDS
from sync_engine.errors import ConfigError

CHECKS = ("required", "email", "url", "regex", "one_of", "min", "max", "min_length", "max_length")
ACTIONS = ("quarantine", "warn", "drop_field", "fail_run")
OPS = ("<", "<=", ">", ">=", "==", "!=")
CONDITION_TESTS = ("equals", "one_of", "not_one_of", "empty", "not_empty", "min", "max")
TODAY = "today"  # the one word `compare.other` and min/max `value` accept besides fields and literals

_URL = re.compile(r"(?i)(?:https?://)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\.?(?::\d{1,5})?"
                  r"(?:[/?#]\S*)?")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ].*)?")


# --- the file's shape ---------------------------------------------------------------------------------
class _ConditionModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str
    equals: Any = None
    one_of: list[Any] | None = None
    not_one_of: list[Any] | None = None
    empty: bool | None = None
    not_empty: bool | None = None
    min: Any = None
    max: Any = None


class _CompareModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str
    op: str
    other: str


class _TransitionModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str
    from_: list[Any] = Field(alias="from", min_length=1)
    to: list[Any] = Field(min_length=1)


class _ChangeModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str
    more_than_percent: float = Field(gt=0)
    requires: str | None = None


class _RuleModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    kind: str
    field: str | None = None
    check: str | None = None
    value: Any = None
    compare: _CompareModel | None = None
    transition: _TransitionModel | None = None
    change: _ChangeModel | None = None
    if_: _ConditionModel | None = Field(default=None, alias="if")
    message: str
    action: str = "quarantine"
    targets: list[str] = Field(default_factory=list)
    when: Literal["always", "create"] = "always"


class _RulesModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: list[_RuleModel] = Field(default_factory=list)


# --- reading values -----------------------------------------------------------------------------------
def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value == "")


def _ordered(value: Any) -> tuple[str, Any] | None:
    """A value as ("number", float) or ("date", date) so it can be ordered; None when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
        return ("number", number) if math.isfinite(number) else None
    if isinstance(value, datetime):
        return "date", value.date()
    if isinstance(value, date):
        return "date", value
    if isinstance(value, str):
        text = value.strip()
        if _ISO_DATE.fullmatch(text):
            try:
                return "date", date.fromisoformat(text[:10])
            except ValueError:
                return None
        try:
            number = float(text)
        except ValueError:
            return None
        return ("number", number) if math.isfinite(number) else None
    return None


def _compare(left: Any, op: str, right: Any) -> bool:
    """`left op right`; an order between values that are not both numbers or both dates is false."""
    a, b = _ordered(left), _ordered(right)
    if a is None or b is None or a[0] != b[0]:
        if op in ("==", "!="):
            same = str(left).strip() == str(right).strip()
            return same if op == "==" else not same
        return False
    x, y = a[1], b[1]
    return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y, "==": x == y, "!=": x != y}[op]


def _member(value: Any, choices: Sequence[Any]) -> bool:
    try:
        return any(value == c and isinstance(value, bool) == isinstance(c, bool) for c in choices)
    except Exception:  # a value with a strange __eq__ is simply not a member
        return False


# --- rules --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Condition:
    """`if = { field = "stage", one_of = [...] }`: the rule applies only when this holds."""

    field: str
    test: str  # one of CONDITION_TESTS
    value: Any = None

    def holds(self, record: Mapping[str, Any], today: date | None = None) -> bool:
        value = record.get(self.field)
        if self.test == "empty":
            return _empty(value)
        if self.test == "not_empty":
            return not _empty(value)
        if self.test == "equals":
            return _member(value, (self.value,))
        if self.test == "one_of":
            return _member(value, self.value)
        if self.test in ("min", "max"):  # an empty value is neither above nor below a bound
            bound = _today(today) if self.value == TODAY else self.value
            return not _empty(value) and _compare(value, ">=" if self.test == "min" else "<=", bound)
        return not _member(value, self.value)  # not_one_of


@dataclass(frozen=True, slots=True)
class Compare:
    field: str
    op: str
    other: str  # a field of the same record, or "today"


@dataclass(frozen=True, slots=True)
class Transition:
    field: str
    from_: tuple[Any, ...]
    to: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Change:
    field: str
    more_than_percent: float
    requires: str | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule. `field`/`check` name what it looks at; for the record-level rules `check` is
    "compare", "transition" or "change" and `field` the field inside that table."""

    id: str
    kind: str
    field: str
    check: str
    value: Any
    message: str
    action: str
    targets: tuple[str, ...]
    when: str = "always"
    condition: Condition | None = None
    compare: Compare | None = None
    transition: Transition | None = None
    change: Change | None = None
    pattern: re.Pattern[str] | None = None  # the compiled `value` of a regex check

    def passes(self, value: Any, *, today: date | None = None) -> bool:
        """The field check alone on one value (no condition). Record-level rules need `holds`."""
        if self.check == "required":
            return not _empty(value)
        if _empty(value):
            return True  # only `required` judges emptiness
        if self.check == "email":
            return isinstance(value, str) and identity.is_valid_email(value)
        if self.check == "url":
            return isinstance(value, str) and _URL.fullmatch(value.strip()) is not None
        if self.check == "one_of":
            return _member(value, self.value)
        if self.check in ("min", "max"):
            bound = _today(today) if self.value == TODAY else self.value
            return _compare(value, ">=" if self.check == "min" else "<=", bound)
        if self.check in ("min_length", "max_length"):
            n = len(str(value))
            return n >= int(self.value) if self.check == "min_length" else n <= int(self.value)
        if self.check == "regex":
            pattern = self.pattern or re.compile(str(self.value))
            return pattern.fullmatch(str(value)) is not None
        return True  # compare / transition / change judge a whole record: see `holds`

    def applies(self, record: Mapping[str, Any], *, today: date | None = None) -> bool:
        """False when the rule's `if` condition does not hold for this record."""
        return self.condition is None or self.condition.holds(record, today)

    def holds(self, record: Mapping[str, Any], previous: Mapping[str, Any] | None = None, *,
              today: date | None = None) -> bool:
        """True when the record passes this rule (a rule whose condition does not hold passes).

        `previous`: the record's values as revhub last synced them; None for a record not seen before,
        which passes every `transition` and `change` rule.
        """
        if not self.applies(record, today=today):
            return True
        if self.compare is not None:
            left, other = record.get(self.compare.field), self.compare.other
            right = _today(today) if other == TODAY else record.get(other)
            return _empty(left) or _empty(right) or _compare(left, self.compare.op, right)
        if self.transition is not None:
            if previous is None:
                return True
            t = self.transition
            old, new = previous.get(t.field), record.get(t.field)
            return _member(old, (new,)) or not (_member(old, t.from_) and _member(new, t.to))
        if self.change is not None:
            return previous is None or not self._big_change(record, previous)
        return self.passes(record.get(self.field), today=today)

    def _big_change(self, record: Mapping[str, Any], previous: Mapping[str, Any]) -> bool:
        c = self.change
        assert c is not None
        old, new = _ordered(previous.get(c.field)), _ordered(record.get(c.field))
        if old is None or new is None or old[0] != "number" or new[0] != "number":
            return False  # no earlier number to compare with, or not numbers: other rules judge
        before, after = old[1], new[1]
        moved = abs(after - before) > abs(before) * c.more_than_percent / 100 if before else after != 0
        return moved and (c.requires is None or _empty(record.get(c.requires)))


def _today(today: date | None) -> date:
    return today if today is not None else datetime.now(UTC).date()


@dataclass(frozen=True, slots=True)
class Verdict:
    quarantine: list[str]  # "rule-id: message" for each failed quarantine rule
    warnings: list[str]  # "rule-id: message" for each failed warn rule, and each dropped field
    drop_fields: list[str] = field(default_factory=list)  # canonical fields to leave out of the write
    fail_run: list[str] = field(default_factory=list)  # "rule-id: message" for each failed fail_run rule

    @property
    def ok(self) -> bool:
        """Nothing stops this record (warnings and dropped fields do not)."""
        return not self.quarantine and not self.fail_run


def validate(rules: list[Rule], kind: str, target: str, record: Mapping[str, Any], *, creating: bool = False,
             previous: Mapping[str, Any] | None = None, today: date | None = None) -> Verdict:
    """Check `record` against the rules for its kind and target.

    `creating=False` checks the rules that always apply; `creating=True` only the `when = "create"`
    ones, which the engine checks once it knows the target has no such record yet (a field the
    target requires on create is not needed to update a record that already has it).
    `previous`: the canonical values revhub last synced from the same source record (its source
    shadow), for `transition` and `change` rules; None for a record revhub has not seen before.
    `today`: the date `today` means in compare/min/max rules (default: today in UTC).
    """
    bad: list[str] = []
    warn: list[str] = []
    drop: list[str] = []
    stop: list[str] = []
    for rule in rules:
        if rule.kind != kind or (rule.targets and target not in rule.targets):
            continue
        if (rule.when == "create") != creating:
            continue
        if rule.holds(record, previous, today=today):
            continue
        reason = f"{rule.id}: {rule.message}"
        if rule.action == "quarantine":
            bad.append(reason)
        elif rule.action == "fail_run":
            stop.append(reason)
        elif rule.action == "drop_field":
            warn.append(f"{reason} (`{rule.field}` is not written)")
            if rule.field not in drop:
                drop.append(rule.field)
        else:
            warn.append(reason)
    return Verdict(bad, warn, drop, stop)


# --- loading ------------------------------------------------------------------------------------------
class _Loader:
    def __init__(self, f: tomlfile.TomlFile) -> None:
        self.f = f

    def error(self, message: str, loc: Sequence[str | int], hint: str = "") -> ConfigError:
        key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        return ConfigError(message, file=self.f.path, line=self.f.line_of(loc), key=key, hint=hint)

    def field_of(self, kind: str, name: str, loc: Sequence[str | int], *, extra: Sequence[str] = ()) -> str:
        fields = KINDS[kind].fields
        if name not in fields and name not in extra:
            choices = [*sorted(fields), *extra]
            raise self.error(f"`{name}` is not a {kind} field", loc,
                             tomlfile.did_you_mean(name, choices) or f"{kind} fields: {', '.join(sorted(fields))}")
        return name

    def condition(self, kind: str, c: _ConditionModel, loc: list[str | int]) -> Condition:
        self.field_of(kind, c.field, [*loc, "field"])
        given = [t for t in CONDITION_TESTS if getattr(c, t) is not None]
        if len(given) != 1:
            raise self.error(f"a condition needs exactly one test, found {len(given)}", loc,
                             f"add one of {', '.join(CONDITION_TESTS)}, e.g. "
                             f'if = {{ field = "{c.field}", equals = "..." }}')
        test = given[0]
        if test in ("empty", "not_empty") and getattr(c, test) is not True:
            raise self.error(f"write `{test} = true`", [*loc, test])
        if test in ("one_of", "not_one_of") and not getattr(c, test):
            raise self.error(f"`{test}` needs at least one value", [*loc, test])
        if test in ("min", "max") and getattr(c, test) != TODAY and _ordered(getattr(c, test)) is None:
            raise self.error(f"`{test}` needs a number, a date (2026-01-31) or \"today\"", [*loc, test])
        return Condition(c.field, test, getattr(c, test))

    def check_value(self, check: str, value: Any, loc: list[str | int]) -> re.Pattern[str] | None:
        vloc = [*loc, "value"]
        if check in ("required", "email", "url"):
            if value is not None:
                raise self.error(f"`{check}` takes no value", vloc, "remove the `value = ...` line")
        elif check == "regex":
            if not isinstance(value, str):
                raise self.error("`regex` needs a pattern", vloc, "add `value = '^[A-Z]{2}-\\d+$'` (single quotes "
                                 "keep backslashes as they are)")
            try:
                return re.compile(value)
            except (re.error, OverflowError, RecursionError) as exc:
                raise self.error(f"not a valid regular expression: {exc}", vloc,
                                 "check brackets and escapes; in TOML write the pattern in 'single quotes'"
                                 ) from None
        elif check == "one_of":
            if not isinstance(value, list) or not value:
                raise self.error("`one_of` needs a list of allowed values", vloc, 'e.g. value = ["a", "b"]')
        elif check in ("min", "max"):
            if value != TODAY and _ordered(value) is None:
                raise self.error(f"`{check}` needs a number, a date (2026-01-31) or \"today\"", vloc)
        elif isinstance(value, bool) or not isinstance(value, int) or value < 0:  # min_length / max_length
            raise self.error(f"`{check}` needs a whole number of characters", vloc, "e.g. value = 80")
        return None

    def rule(self, i: int, r: _RuleModel) -> Rule:
        loc: list[str | int] = ["rules", i]
        if r.kind not in KINDS:
            raise self.error(f"unknown kind `{r.kind}`", [*loc, "kind"], tomlfile.did_you_mean(r.kind, KINDS))
        if r.action not in ACTIONS:
            raise self.error(f"unknown action `{r.action}`", [*loc, "action"],
                             tomlfile.did_you_mean(r.action, ACTIONS) or f"use one of {', '.join(ACTIONS)}")
        given = [k for k in ("check", "compare", "transition", "change") if getattr(r, k) is not None]
        if not given:
            raise self.error("the rule says nothing to check", loc,
                             "add `field = ...` and `check = ...`, or a `compare`, `transition` or `change` table")
        if len(given) > 1:
            raise self.error(f"a rule has one check; this one has {' and '.join(given)}", [*loc, given[1]],
                             "split it into two rules, each with its own id")
        condition = None if r.if_ is None else self.condition(r.kind, r.if_, [*loc, "if"])
        rule_of = partial(Rule, id=r.id, kind=r.kind, message=r.message, action=r.action,
                          targets=tuple(r.targets), when=r.when, condition=condition)
        if r.check is not None:
            if r.check not in CHECKS:
                raise self.error(f"unknown check `{r.check}`", [*loc, "check"],
                                 tomlfile.did_you_mean(r.check, CHECKS) or f"checks: {', '.join(CHECKS)}")
            if r.field is None:
                raise self.error(f"`{r.check}` needs the field it checks", loc, "add `field = ...`")
            self.field_of(r.kind, r.field, [*loc, "field"])
            pattern = self.check_value(r.check, r.value, loc)
            rule = rule_of(field=r.field, check=r.check, value=r.value, pattern=pattern)
        else:
            if r.field is not None or r.value is not None:
                extra = "field" if r.field is not None else "value"
                raise self.error(f"`{extra}` belongs to field checks; this rule checks `{given[0]}`",
                                 [*loc, extra], f"remove the `{extra} = ...` line")
            if r.compare is not None:
                c, cloc = r.compare, [*loc, "compare"]
                self.field_of(r.kind, c.field, [*cloc, "field"])
                self.field_of(r.kind, c.other, [*cloc, "other"], extra=(TODAY,))
                if c.op not in OPS:
                    raise self.error(f"unknown op `{c.op}`", [*cloc, "op"], f"use one of {' '.join(OPS)}")
                rule = rule_of(field=c.field, check="compare", value=None, compare=Compare(c.field, c.op, c.other))
            elif r.transition is not None:
                t = r.transition
                self.field_of(r.kind, t.field, [*loc, "transition", "field"])
                rule = rule_of(field=t.field, check="transition", value=None,
                               transition=Transition(t.field, tuple(t.from_), tuple(t.to)))
            else:
                ch = r.change
                assert ch is not None
                self.field_of(r.kind, ch.field, [*loc, "change", "field"])
                if ch.requires is not None:
                    self.field_of(r.kind, ch.requires, [*loc, "change", "requires"])
                rule = rule_of(field=ch.field, check="change", value=None,
                               change=Change(ch.field, ch.more_than_percent, ch.requires))
        if r.action == "drop_field":
            if rule.check == "required":
                raise self.error("`drop_field` on a `required` check has nothing to drop", [*loc, "action"],
                                 "use quarantine or warn")
            if rule.field == KINDS[r.kind].key:
                raise self.error(f"`{rule.field}` identifies a {r.kind}; it cannot be dropped", [*loc, "action"],
                                 "use quarantine")
        return rule


def load_rules(path: Path | None) -> list[Rule]:
    """Read a rules file; every problem is a ConfigError naming file:line, the key and a hint."""
    if path is None:
        return []
    f = tomlfile.load(path)
    model = tomlfile.validate(f, _RulesModel)
    loader = _Loader(f)
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for i, r in enumerate(model.rules):
        if r.id in seen:
            raise loader.error(f"rule id `{r.id}` is used twice", ["rules", i, "id"],
                               f"ids name a rule in the failure log; rename one (first at line "
                               f"{f.line_of(['rules', seen[r.id], 'id'])})")
        seen[r.id] = i
        rules.append(loader.rule(i, r))
    return rules
