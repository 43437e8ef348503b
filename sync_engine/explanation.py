"""What `revhub explain` found about one record, and how it prints (text for people, JSON for scripts).

Split from `explain`, which retraces a record through the pipeline's steps: these dataclasses are the
answer it builds, and the renderers turn that answer into the text an on-call engineer or a RevOps
person reads, or a JSON document whose keys are the dataclasses' fields.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum, StrEnum
from typing import Any

__all__ = ["Decision", "Explanation", "FieldTrace", "IdentityTrace", "PlanTrace", "RecordExplanation", "RuleTrace",
           "Step", "as_json", "render_text"]


class Decision(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    QUARANTINED = "quarantined"
    STOP_RUN = "stop_run"  # a `fail_run` rule failed: the run stops


@dataclass(frozen=True, slots=True)
class Step:
    transform: str
    output: Any


@dataclass(frozen=True, slots=True)
class FieldTrace:
    """Map: one canonical value, from the mapping line and source field through each transform."""

    canonical: str
    source_field: str
    mapping: str  # file:line
    raw: Any
    steps: tuple[Step, ...]
    value: Any
    reference: str | None = None  # how a link to another record became an entity id
    error: str | None = None
    sensitivity: str | None = None


@dataclass(frozen=True, slots=True)
class IdentityTrace:
    key_field: str
    raw: Any
    key: str | None
    steps: tuple[str, ...]  # what normalization did to the raw value
    invalid: str  # why there is no key; "" when there is one
    entity_id: int | None  # None: no entity yet, a run would make one
    source_linked: bool  # the crosswalk already knows this source record
    target_id: str | None
    matched_by: str  # crosswalk | lookup | none


@dataclass(frozen=True, slots=True)
class RuleTrace:
    id: str
    field: str
    check: str
    when: str  # always | create
    action: str  # quarantine | warn | drop_field | fail_run
    value: Any
    passed: bool
    message: str
    applies: bool = True  # False: its `if` condition does not hold, so it passes


@dataclass(frozen=True, slots=True)
class PlanTrace:
    canonical: str
    target_field: str | None
    mapping: str | None  # target file:line
    old: Any
    new: Any
    written: bool
    reason: str
    native: Any = None  # the value sent, after the target's write transforms
    steps: tuple[Step, ...] = ()
    sensitivity: str | None = None


@dataclass(frozen=True, slots=True)
class RecordExplanation:
    system: str
    object: str
    id: str
    modified_at: datetime
    decision: Decision
    step: str  # the step that decided: map | validate | plan
    fields: tuple[FieldTrace, ...]
    identity: IdentityTrace | None
    rules: tuple[RuleTrace, ...]
    plan: tuple[PlanTrace, ...]
    changed: tuple[str, ...] = ()  # canonical fields a run would write
    rule_ids: tuple[str, ...] = ()  # rules that quarantine it (or stop the run)
    reasons: tuple[str, ...] = ()
    old_from: str = ""  # where old values come from: crosswalk shadow, lookup, or "" when creating
    stage_history: tuple[str, ...] = ()  # deals: each stage change recorded, oldest first


@dataclass(frozen=True, slots=True)
class Explanation:
    pipeline: str
    source: str  # system.object
    target: str
    key: str
    key_kind: str  # email | domain | id
    found: bool
    message: str
    records: tuple[RecordExplanation, ...] = ()


# --- output --------------------------------------------------------------------------------------
def as_json(expl: Explanation) -> dict[str, Any]:
    """A JSON-ready dict (`json.dumps` needs no `default`)."""
    return _plain(dataclasses.asdict(expl))


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def render_text(expl: Explanation) -> str:
    lines = [f"explain {expl.pipeline} ({expl.source} -> {expl.target}) {expl.key} (by {expl.key_kind})"]
    if not expl.found:
        return "\n".join([*lines, f"  {expl.message}"])
    for rec in expl.records:
        lines += ["", *_render_record(rec, expl.target)]
    return "\n".join(lines)


def _render_record(rec: RecordExplanation, target: str) -> list[str]:
    what = f" ({', '.join(rec.changed)})" if rec.changed else ""
    rules = f" by {', '.join(rec.rule_ids)}" if rec.rule_ids else ""
    out = [f"{rec.system} {rec.object} {rec.id} (modified {rec.modified_at.isoformat()}): "
           f"{rec.decision.value.upper()}{rules}{what} at {rec.step}", "  map:"]
    for f in rec.fields:
        tag = f" [{f.sensitivity}]" if f.sensitivity else ""
        out.append(f"    {f.canonical}{tag} <- {f.source_field} ({f.mapping}): {f.raw!r}")
        out += [f"      {s.transform} -> {s.output!r}" for s in f.steps]
        if f.reference:
            out.append(f"      {f.reference}")
        out.append(f"      error: {f.error}" if f.error else f"      = {f.value!r}")
    if rec.identity:
        i = rec.identity
        how = f" ({', '.join(i.steps)})" if i.steps else ""
        out += ["  identify:", f"    key {i.key_field}: {i.raw!r} -> {i.key!r}{how}"
                + (f": {i.invalid}" if i.invalid else ""),
                f"    {rec.system} {rec.object} {rec.id}: " + (f"linked to entity {i.entity_id} by the crosswalk"
                if i.source_linked else f"known entity {i.entity_id}" if i.entity_id is not None
                else "not in the crosswalk: a run makes a new entity")]
        match = {"crosswalk": f"{i.target_id} (linked by the crosswalk)",
                 "lookup": f"{i.target_id} (found by lookup on its key; a run would link it)"}
        out.append(f"    {target}: {match.get(i.matched_by, 'no match: it would be created')}")
    if rec.rules:
        out.append("  validate:")
        for r in rec.rules:
            verdict = "FAIL" if not r.passed else "pass" if r.applies else "pass (its `if` does not hold)"
            when = ", on create" if r.when == "create" else ""
            action = "" if r.action == "quarantine" else f", {r.action}"
            out.append(f"    {verdict} {r.id} ({r.field}: {r.check}{when}{action})"
                       + ("" if r.passed else f": {r.message}"))
    if rec.plan:
        out.append(f"  plan ({target}{', old values from ' + rec.old_from if rec.old_from else ', new record'}):")
        for t in rec.plan:
            head = f"    {t.target_field or '-'} <- {t.canonical} ({t.mapping}): {t.old!r} -> {t.new!r}"
            out.append(f"{head}: write {t.native!r} ({t.reason})" if t.written else f"{head}: {t.reason}")
            out += [f"      {s.transform} -> {s.output!r}" for s in t.steps]
    out += [f"  reason: {reason}" for reason in rec.reasons]
    if rec.stage_history:
        out += ["  stage history:", *(f"    {row}" for row in rec.stage_history)]
    return out

