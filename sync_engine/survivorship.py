"""Survivorship: which of several records of one entity survives a merge, and which values it keeps.

Pure functions over `Candidate`s (canonical values, modified time, the systems the record's entity is
linked in), so the rules are tested without a store or a CRM. The rules come from `[merge.<system>]`
in the config, in the order given; the first rule that leaves exactly one candidate decides, and its
name goes into the audit row. Ties after every rule go to the smallest id (stable, and usually the
oldest record), reported as `lowest_id`.

Per-field overrides say what the survivor keeps, by canonical field name:
- `never`: the survivor's own value, even when blank (the CRM's merge may still fill it);
- `when_blank`: the survivor's value; if blank, the value of the most recently updated loser that has one;
- `always`: the value of the most recently updated record that has one, survivor included.
Fields without an override keep the survivor's value (`never`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Rule = Literal["source_priority", "most_recent", "most_complete"]
Override = Literal["never", "when_blank", "always"]
RULES: tuple[Rule, ...] = ("source_priority", "most_recent", "most_complete")
TIE_BREAK = "lowest_id"


class MergeConfig(BaseModel):
    """`[merge.<system>]`: whether revhub may merge records inside that system, and how it picks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(False, description="merge duplicates in this system; off: only report them")
    survivor: list[Rule] = Field(default_factory=lambda: list(RULES), min_length=1,
                                 description="survivorship rules, in order")
    source_priority: list[str] = Field(default_factory=list,
                                       description="systems, most trusted first, for `source_priority`")
    fields: dict[str, Override] = Field(default_factory=dict, description="canonical field -> override")


@dataclass(frozen=True, slots=True)
class Candidate:
    """One record that may survive. `sources`: the systems its entity has a record in (its own included)."""

    id: str
    values: Mapping[str, Any]
    modified_at: datetime
    sources: frozenset[str] = field(default_factory=frozenset)

    @property
    def filled(self) -> int:
        return sum(1 for v in self.values.values() if not _blank(v))


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value in ([], {})


def _score(rule: Rule, c: Candidate, priority: Sequence[str]) -> Any:
    if rule == "source_priority":
        ranks = [priority.index(s) for s in c.sources if s in priority]
        return -(min(ranks) if ranks else len(priority))
    if rule == "most_recent":
        return c.modified_at
    return c.filled


def choose(candidates: Sequence[Candidate], rules: Sequence[Rule] = RULES,
           priority: Sequence[str] = ()) -> tuple[Candidate, str]:
    """The survivor and the name of the rule that picked it."""
    if not candidates:
        raise ValueError("no candidates to choose from")
    pool = sorted(candidates, key=lambda c: c.id)
    if len(pool) == 1:
        return pool[0], TIE_BREAK
    for rule in rules:
        best = max(_score(rule, c, priority) for c in pool)
        kept = [c for c in pool if _score(rule, c, priority) == best]
        if len(kept) == 1:
            return kept[0], rule
        pool = kept
    return pool[0], TIE_BREAK


def fill(survivor: Candidate, losers: Sequence[Candidate], overrides: Mapping[str, Override]) -> dict[str, Any]:
    """The canonical values to set on the survivor before merging: only those that change it."""
    newest_first = sorted(losers, key=lambda c: c.modified_at, reverse=True)
    everyone = sorted([survivor, *losers], key=lambda c: c.modified_at, reverse=True)
    out: dict[str, Any] = {}
    for name, how in sorted(overrides.items()):
        mine = survivor.values.get(name)
        if how == "never" or (how == "when_blank" and not _blank(mine)):
            continue
        pool = newest_first if how == "when_blank" else everyone
        value = next((c.values[name] for c in pool if not _blank(c.values.get(name))), None)
        if value is not None and value != mine:
            out[name] = value
    return out
