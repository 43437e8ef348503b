"""Reading `mappings/rules.toml`: every mistake a ConfigError naming file:line, the key and a fix.

Split from `validate`, which judges records by the rules: this module owns the file's shape (pydantic
models, so an unknown key or a wrong type is named) and the checks a rule's parts must pass before a
run uses it (a known field of its kind, a compilable regex, one check per rule, ids used once).
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sync_engine import tomlfile
from sync_engine.canonical import KINDS
from sync_engine.errors import ConfigError
from sync_engine.validate import (
    ACTIONS,
    CHECKS,
    CONDITION_TESTS,
    OPS,
    TODAY,
    Change,
    Compare,
    Condition,
    Rule,
    Transition,
    ordered,
)

__all__ = ["load_rules"]


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
        if test in ("min", "max") and getattr(c, test) != TODAY and ordered(getattr(c, test)) is None:
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
            if value != TODAY and ordered(value) is None:
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
