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
fails that check, an empty value passes every check but `required`. Reading the file (its shape, and
every mistake named by file:line) is `rules_file.load_rules`.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sync_engine import identity

CHECKS = ("required", "email", "url", "regex", "one_of", "min", "max", "min_length", "max_length")
ACTIONS = ("quarantine", "warn", "drop_field", "fail_run")
OPS = ("<", "<=", ">", ">=", "==", "!=")
CONDITION_TESTS = ("equals", "one_of", "not_one_of", "empty", "not_empty", "min", "max")
TODAY = "today"  # the one word `compare.other` and min/max `value` accept besides fields and literals

_URL = re.compile(r"(?i)(?:https?://)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\.?(?::\d{1,5})?"
                  r"(?:[/?#]\S*)?")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ].*)?")


# --- reading values -----------------------------------------------------------------------------------
def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value == "")


def ordered(value: Any) -> tuple[str, Any] | None:
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
    a, b = ordered(left), ordered(right)
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
        old, new = ordered(previous.get(c.field)), ordered(record.get(c.field))
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
