"""Decide what to write: diff the desired canonical values against what revhub knows the target holds.

Unchanged fields and echoes of revhub's own writes are dropped here; this is what stops two-way
ping-pong and saves API calls. A per-field rule from the mapping files (`rule = "always salesforce"`)
decides which side may overwrite a value; mappings/README.md "Who wins" explains each rule.
"""
from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sync_engine.errors import ConfigError
from sync_engine.tomlfile import did_you_mean

if TYPE_CHECKING:
    from sync_engine.mapping import Mapping_

CHANGED_AT = "_changed_at"  # shadow key: {canonical field: ISO time the value it holds was made}


def same(a: Any, b: Any) -> bool:
    """Equal as a person would judge: empty is empty, 250 == 250.0 == "250"."""
    if a in (None, "") and b in (None, ""):
        return True
    if a is None or b is None:
        return False
    if isinstance(a, int | float) or isinstance(b, int | float):
        try:
            return float(a) == float(b)
        except (TypeError, ValueError):
            return False
    return str(a) == str(b)


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def unchanged(canonical: Mapping[str, Any], shadow: Mapping[str, Any]) -> bool:
    return all(same(v, shadow.get(k)) for k, v in canonical.items())


class Policy(StrEnum):
    ALWAYS = "always"
    PREFER = "prefer"
    LATEST = "latest change wins"
    SET_IF_EMPTY = "set if empty"
    NEVER = "never sync"


RULE_FORMS = ("always <system>", "prefer <system> unless blank", "latest change wins", "set if empty",
              "never sync")


class RuleSyntaxError(ValueError):
    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True, slots=True)
class Rule:
    """Who wins one canonical field in a two-way pair. Where it was written is not part of equality."""

    policy: Policy
    system: str | None = None  # the system named by `always` / `prefer`
    file: str = field(default="", compare=False)
    line: int | None = field(default=None, compare=False)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    def __str__(self) -> str:
        if self.policy is Policy.ALWAYS:
            return f"always {self.system}"
        if self.policy is Policy.PREFER:
            return f"prefer {self.system} unless blank"
        return self.policy.value

    @classmethod
    def parse(cls, text: str, file: str = "", line: int | None = None) -> Rule:
        """`always salesforce`, `prefer hubspot unless blank`, `latest change wins`, `set if empty`,
        `never sync`; rule words in any case, any spacing. Raises RuleSyntaxError with a did-you-mean."""
        words = text.split()
        low = [w.lower() for w in words]
        if len(low) == 2 and low[0] == "always":
            return cls(Policy.ALWAYS, words[1], file, line)
        if len(low) == 4 and low[0] == "prefer" and low[2:] == ["unless", "blank"]:
            return cls(Policy.PREFER, words[1], file, line)
        for policy in (Policy.LATEST, Policy.SET_IF_EMPTY, Policy.NEVER):
            if low == policy.value.split():
                return cls(policy, None, file, line)
        raise RuleSyntaxError(f"unknown rule `{text}`", _suggest(words) or
                              "one of: " + ", ".join(f"`{f}`" for f in RULE_FORMS))


_SAID_INSTEAD = {"set if blank": "set if empty", "don't sync": "never sync", "do not sync": "never sync",
                 "latest": "latest change wins", "most recent change wins": "latest change wins",
                 "most recent wins": "latest change wins", "two-way": "latest change wins"}


def _suggest(words: list[str]) -> str:
    """The nearest rule form, judged on its rule words only, with the person's system word in its slot."""
    low = [w.lower() for w in words]
    if " ".join(low) in _SAID_INSTEAD:
        return f"did you mean `{_SAID_INSTEAD[' '.join(low)]}`?"
    system = words[1] if len(words) > 1 else "<system>"
    best, score = "", 0.6
    for form in RULE_FORMS:
        slotted = "<system>" in form
        if slotted and low and low[0] == form.split()[0]:
            return f"did you mean `{form.replace('<system>', system)}`?"
        mine = " ".join(low[:1] + low[2:]) if slotted else " ".join(low)
        theirs = " ".join(w for w in form.split() if w != "<system>")
        ratio = difflib.SequenceMatcher(None, mine, theirs).ratio()
        if ratio > score:
            best, score = form.replace("<system>", system), ratio
    return f"did you mean `{best}`?" if best else ""


LATEST_CHANGE_WINS = Rule(Policy.LATEST)  # what a field without a rule does


@dataclass(frozen=True, slots=True)
class SourceState:
    """What the engine knows about the source record beyond its values; every part is optional.

    `shadow`: the source record's shadow before this read (None: revhub never saw the record), which
    tells which fields the source really changed; an echo of revhub's own write equals it.
    `modified_at`: the record's modified stamp. `field_times`: per canonical field, when the source
    changed it, where the API says so (HubSpot property history); the record stamp stands in otherwise.
    """

    shadow: Mapping[str, Any] | None = None
    modified_at: datetime | None = None
    field_times: Mapping[str, datetime] = field(default_factory=dict)

    def changed(self, name: str, value: Any) -> bool:
        return self.shadow is None or not same(value, self.shadow.get(name))

    def time_of(self, name: str) -> datetime | None:
        return self.field_times.get(name) or self.modified_at


@dataclass(frozen=True, slots=True)
class Change:
    field: str
    old: Any
    new: Any
    at: datetime | None = None  # when the source made this value, when known: the target shadow's time for it


def rule_for(name: str, source: Mapping_, target: Mapping_) -> Rule:
    """The rule for one canonical field across a pair; both files may state it, but then identically."""
    a, b = source.owner_of(name), target.owner_of(name)
    if a and b and a != b:
        raise ConfigError(f"`{name}` has two different rules: `{a}` in {a.where or source.path} and `{b}` here",
                          file=b.file or target.path, line=b.line, key=name,
                          hint="state the rule in one of the two files, or make both say the same")
    return a or b or LATEST_CHANGE_WINS


def check_rules(source: Mapping_, target: Mapping_, systems: Collection[str]) -> None:
    """For a pipeline pair at start-up: every rule names a configured system, and the two files agree."""
    for m in (source, target):
        for f in m.fields:
            rule = f.owner
            if rule is not None and rule.system is not None and rule.system not in systems:
                raise ConfigError(f"rule `{rule}` names `{rule.system}`, which is not a configured system",
                                  file=rule.file or m.path, line=rule.line, key=f"{f.canonical}",
                                  hint=did_you_mean(rule.system, systems) or
                                  "systems: " + ", ".join(sorted(systems)))
    for name in {f.canonical for m in (source, target) for f in m.fields if f.owner}:
        rule_for(name, source, target)


def _target_time(shadow: Mapping[str, Any], name: str) -> datetime | None:
    raw = (shadow.get(CHANGED_AT) or {}).get(name)
    try:
        return datetime.fromisoformat(raw) if raw else None
    except (TypeError, ValueError):
        return None


def _source_wins(rule: Rule, name: str, value: Any, source_system: str, target_system: str,
                 shadow: Mapping[str, Any], seen: SourceState) -> bool:
    """On an update, a non-blank source value that differs from the target's: does it overwrite?"""
    old = shadow.get(name)
    p, x = rule.policy, rule.system
    if p is Policy.NEVER:
        return False
    if p is Policy.SET_IF_EMPTY:
        return blank(old)
    if p in (Policy.ALWAYS, Policy.PREFER) and x in (source_system, target_system):
        if source_system == x:
            return True  # the owner's value is the truth, whenever its record syncs
        return p is Policy.PREFER and blank(old)  # `prefer`: the other side fills the owner's blank
    # latest change wins (also between two followers of an owner outside the pair)
    if name not in shadow:
        return True  # revhub never synced this field to this record (a field mapped since): fill it in
    if not seen.changed(name, value):
        return False  # the source did not change it (or it is revhub's own echo): never revert the target
    ours, theirs = seen.time_of(name), _target_time(shadow, name)
    try:
        return ours is None or theirs is None or ours >= theirs
    except TypeError:  # one time without a zone: not comparable, so nothing says the target's is newer
        return True


def plan_fields(canonical: Mapping[str, Any], source_system: str, source: Mapping_, target: Mapping_,
                target_shadow: Mapping[str, Any] | None, seen: SourceState | None = None) -> list[Change]:
    """The canonical fields to write to the target. `target_shadow=None` means the record is new.

    An empty source value never clears a target value (first version: no clears), whatever the rule.
    """
    creating = target_shadow is None
    shadow = target_shadow or {}
    seen = seen or SourceState()
    out: list[Change] = []
    for name, value in canonical.items():
        if target.field_for(name) is None or blank(value):
            continue
        rule = rule_for(name, source, target)
        if creating:
            if rule.policy is not Policy.NEVER:
                out.append(Change(name, None, value, seen.time_of(name)))
            continue
        if same(value, shadow.get(name)):
            continue
        if _source_wins(rule, name, value, source_system, target.system, shadow, seen):
            out.append(Change(name, shadow.get(name), value, seen.time_of(name)))
    return out


def stamp(shadow: Mapping[str, Any] | None, values: Mapping[str, Any], times: Mapping[str, datetime | None]
          ) -> dict[str, Any]:
    """The shadow to keep after a read (values: the canonical record) or a write (values: the changes).

    Values merge over the old shadow; a field whose value changed gets its time from `times` (the
    per-field time, else the record's stamp for a read; `Change.at` for a write). An echo keeps its time.
    """
    old = dict(shadow or {})
    when = dict(old.get(CHANGED_AT) or {})
    for name, value in values.items():
        at = times.get(name)
        if not same(value, old.get(name)) and at is not None:
            when[name] = at.isoformat()
    out = {**old, **values}
    if when:
        out[CHANGED_AT] = when
    return out
