"""Explain: follow one record through map -> validate -> identify -> plan, read-only, and say why.

`revhub explain PIPELINE KEY` finds the source record(s) by system id, email (people) or domain
(companies) and retraces `pipeline._process` step by step with the same step modules, recording
which mapping line, transform, match, rule and ownership decided each value. Nothing is written:
entities are looked up with `create=False`, the connectors only `lookup`. The answer's shape and its
text and JSON forms are in `explanation.py` (re-exported here).
"""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from connectors.base import Record
from connectors.errors import ConnectorError, FailureCode
from sync_engine import identify, identity, plan, stage_history, transforms, validate
from sync_engine.app import App
from sync_engine.canonical import KINDS
from sync_engine.errors import RecordError
from sync_engine.explanation import (
    Decision,
    Explanation,
    FieldTrace,
    IdentityTrace,
    PlanTrace,
    RecordExplanation,
    RuleTrace,
    Step,
    as_json,
    render_text,
)
from sync_engine.mapping import LINK_PREFIX, FieldMap, Mapping_, Resolver
from sync_engine.redact import redact
from sync_engine.store import Link

__all__ = ["ID_FIELDS", "Decision", "Explanation", "FieldTrace", "IdentityTrace", "PlanTrace", "RecordExplanation",
           "RuleTrace", "Step", "as_json", "explain", "render_text"]

# The field a system's lookup finds a record by its own id (HubSpot: a property; Salesforce: a column).
ID_FIELDS = {"hubspot": "hs_object_id", "salesforce": "Id"}
# A lookup the system refuses for this key (a malformed id) means "not there", not a broken run.
_NOT_THERE = (FailureCode.REMOTE_REJECTED, FailureCode.RECORD_NOT_FOUND, FailureCode.RECORD_INVALID)


def explain(app: App, pipeline: str, key: str, *, mask: bool = False) -> Explanation:
    """Why a run of `pipeline` would do what it does with the record(s) `key` names. Writes nothing.

    Raises ConfigError for an unknown pipeline; a key that finds nothing is `found=False`.
    """
    (name,) = app.pipeline_names([pipeline])
    p = app.config.pipelines[name]
    src_map, tgt_map = app.mappings[(p.source_system, p.source_object)], app.mappings[(p.target_system,
                                                                                        p.target_object)]
    if tgt_map.uses_target_lengths:  # `truncate_to_target` cuts to the lengths a run reads from describe
        tgt_map = tgt_map.with_target_lengths(app.connectors[p.target_system].describe(p.target_object))
    key = key.strip()
    key_kind, records, message = _find(app, p.source_system, src_map, key)
    ctx = _Ctx(app, p.source_system, p.target_system, src_map, tgt_map, app.config.path.parent)
    out = Explanation(name, f"{p.source_system}.{p.source_object}", f"{p.target_system}.{p.target_object}", key,
                      key_kind, bool(records), message, tuple(_with_stages(app, ctx.record(r)) for r in records))
    return _masked(out) if mask else out


def _with_stages(app: App, rec: RecordExplanation) -> RecordExplanation:
    """A deal's recorded stage changes (sync_engine.stage_history), per system, oldest first."""
    entity = rec.identity.entity_id if rec.identity else None
    if entity is None or app.mappings.get((rec.system, rec.object)) is None or \
            app.mappings[(rec.system, rec.object)].kind != "deal":
        return rec
    rows = tuple(f"{c.changed_at:%Y-%m-%d %H:%M} {c.system} ({c.how}): {c.pipeline or '-'}: "
                 f"{c.from_stage or '(first seen)'} -> {c.to_stage}" for c in stage_history.history(app.store, entity))
    return dataclasses.replace(rec, stage_history=rows)


# --- finding the source record -------------------------------------------------------------------
def _find(app: App, system: str, m: Mapping_, key: str) -> tuple[str, list[Record], str]:
    connector, where = app.connectors[system], f"{system} {m.object}"
    if "@" in key or "." in key:
        key_kind = "email" if "@" in key else "domain"
        wanted_kind = "person" if key_kind == "email" else "company"
        if m.kind != wanted_kind or not m.lookup:
            by = f"its {m.lookup} or " if m.lookup else ""
            return key_kind, [], f"{key} is {'an email' if '@' in key else 'a domain'}; a {m.kind} in {where} is " \
                                 f"found by {by}its id"
        norm = identity.normalize_email(key) if key_kind == "email" else identity.registrable_domain(key)
        found = connector.lookup(m.object, m.lookup, [norm or key], m.source_fields())
        records = [r for r in found if _same_key(key_kind, r.fields.get(m.lookup), norm, key)]
        return key_kind, _oldest_first(records), "" if records else f"{key} not found in {where} (by {m.lookup})"
    field = getattr(connector, "id_field", None) or ID_FIELDS.get(system, "id")
    try:
        found = connector.lookup(m.object, field, [key], m.source_fields())
    except ConnectorError as exc:
        if exc.code not in _NOT_THERE:
            raise
        return "id", [], f"{key} not found in {where} ({system} answered: {exc.message})"
    records = [r for r in found if r.id == key]
    return "id", records, "" if records else f"{key} not found in {where} (by {field})"


def _same_key(key_kind: str, raw: Any, norm: str | None, key: str) -> bool:
    """Re-check a lookup candidate with revhub's own normalization, as `identify.match_in_target` does."""
    if raw in (None, ""):
        return False
    if key_kind == "domain":
        try:
            return norm is not None and identity.registrable_domain(raw) == norm
        except ValueError:
            return False
    return (norm is not None and identity.normalize_email(raw) == norm) or str(raw).strip().lower() == key.lower()


def _oldest_first(records: list[Record]) -> list[Record]:
    return sorted(records, key=lambda r: (r.modified_at, r.id))


# --- retracing one record ------------------------------------------------------------------------
@dataclass(slots=True)
class _Ctx:
    app: App
    source: str
    target: str
    src_map: Mapping_
    tgt_map: Mapping_
    base: Path

    def rel(self, path: str) -> str:
        """A mapping file as the person knows it: relative to the config's folder."""
        base = str(self.base).rstrip("/") + "/"
        return path[len(base):] if path.startswith(base) else path

    def where(self, m: Mapping_, fm: FieldMap | None) -> str:
        return f"{self.rel(m.path)}:{fm.line}" if fm is not None and fm.line else self.rel(m.path)

    def resolver(self, system: str, to_entity: bool, notes: dict[str, str] | None = None) -> Resolver:
        """The crosswalk look-ups `pipeline._ref_resolver` preloads, one at a time and noted for the trace."""
        objects = {(m.system, m.kind): m.object for m in self.app.mappings.values()}
        store = self.app.store

        def resolve(kind: str, value: Any) -> Any:
            obj = objects.get((system, kind))
            found: int | str | None = None
            tie = ""
            if obj is None:
                pass
            elif to_entity:
                link = store.links(system, obj, [str(value)]).get(str(value))
                found = link.entity_id if link else None
            elif kind == "company":  # lead-to-account: several accounts may share the domain (identify.py)
                choice = identify.choose_accounts(store, system, obj, [value],
                                                  self.app.config.identity.account_tie_break).get(value)
                found, tie = (choice.id, choice.reason) if choice else (None, "")
            else:
                link = store.links_of_entities(system, obj, [value]).get(value)
                found = link.external_id if link else None
            if notes is not None:
                notes[kind] = (f"{system} {obj} {value} is {kind} entity {found} (crosswalk)" if found is not None
                               else f"{system} {obj or kind} {value} is not linked yet: empty until it is synced")
                if not to_entity and kind == "company" and tie:
                    notes[kind] += f"; {tie}"
            return found
        return resolve

    def record(self, r: Record) -> RecordExplanation:
        src_map, kind, store = self.src_map, self.src_map.kind, self.app.store
        fields = tuple(self.trace_read(fm, r) for fm in src_map.fields if fm.reads)
        decided = functools.partial(RecordExplanation, self.source, src_map.object, r.id, r.modified_at)
        try:  # the authoritative values: exactly what a run computes
            canonical = src_map.to_canonical(r, self.resolver(self.source, to_entity=True))
        except RecordError as exc:
            return decided(Decision.QUARANTINED, "map", fields, None, (), (), reasons=tuple(exc.reasons))
        if kind == "person":  # as the run does: no company -> the company of the email's domain
            identify.link_to_accounts(store, [canonical], self.app.config.identity.email_options())
        key = identify.canonical_key(kind, canonical, self.app.config.identity.email_options())
        link = store.links(self.source, src_map.object, [r.id]).get(r.id)
        entity, target_id, shadow, matched_by = self.identify(link, key)
        ident = self.trace_identity(fields, canonical, key, entity, link is not None, target_id, matched_by)
        if link and plan.unchanged(canonical, link.shadow):
            return decided(Decision.UNCHANGED, "map", fields, ident, (), (), reasons=(
                f"{self.source} {src_map.object} {r.id} holds the values revhub last synced (crosswalk shadow): "
                f"a run skips it",))
        previous = link.shadow if link else None  # what `transition` / `change` rules compare with
        rules = self.trace_rules(canonical, previous, creating=False)
        if target_id is None:
            rules += self.trace_rules(canonical, previous, creating=True)
        for action, decision in (("fail_run", Decision.STOP_RUN), ("quarantine", Decision.QUARANTINED)):
            failed = [t for t in rules if not t.passed and t.action == action]
            no_key = decision is Decision.QUARANTINED and not (key or link)
            if failed or no_key:
                reasons = tuple(f"{t.id}: {t.message}" for t in failed) + ((
                    f"no usable {KINDS[kind].key}: revhub matches a {kind} by its {KINDS[kind].key}",) if no_key
                    else ())
                return decided(decision, "validate", fields, ident, rules, (), rule_ids=tuple(t.id for t in failed),
                               reasons=reasons)
        dropped = {t.field: t.id for t in rules if not t.passed and t.action == "drop_field"}
        wanted = {k: v for k, v in canonical.items() if k not in dropped}
        seen = plan.SourceState(previous, r.modified_at)
        changes = plan.plan_fields(wanted, self.source, src_map, self.tgt_map, None if target_id is None else shadow,
                                   seen)
        try:
            self.tgt_map.to_native({c.field: c.new for c in changes}, self.resolver(self.target, to_entity=False),
                                   canonical)
        except RecordError as exc:
            return decided(Decision.QUARANTINED, "plan", fields, ident, rules, (), reasons=tuple(exc.reasons))
        planned = self.trace_plan(canonical, target_id is None, shadow or {}, {c.field for c in changes}, seen,
                                  dropped)
        action = Decision.UNCHANGED if not changes else Decision.UPDATE if target_id else Decision.CREATE
        links = (f"a run links {self.source} {src_map.object} {r.id} and {self.target} {self.tgt_map.object} "
                 f"{target_id} in the crosswalk",) \
            if matched_by == "lookup" else ()
        return decided(action, "plan", fields, ident, rules, planned, changed=tuple(c.field for c in changes),
                       old_from="" if target_id is None else f"{matched_by} ({self.target} {target_id})",
                       reasons=links)

    def identify(self, link: Link | None, key: str | None
                 ) -> tuple[int | None, str | None, Mapping[str, Any] | None, str]:
        """Entity, target id, target values and how it was matched: crosswalk, else lookup, else none."""
        store, kind = self.app.store, self.src_map.kind
        if link is not None:
            entity: int | None = link.entity_id
        else:  # create=False: explain never makes an entity; a run would, for a new key
            entity = store.entities_by_key(kind, [key], create=False).get(key) if key else None
        tgt_link = store.links_of_entities(self.target, self.tgt_map.object, [entity]).get(entity) \
            if entity is not None else None
        if tgt_link is not None:
            return entity, tgt_link.external_id, tgt_link.shadow, "crosswalk"
        if key:
            matched = identify.match_in_target(self.app.connectors[self.target], self.tgt_map, kind,
                                               {entity if entity is not None else -1: key},
                                               self.resolver(self.target, to_entity=True))
            for target_id, values in matched.values():
                return entity, target_id, values, "lookup"
        return entity, None, None, "none"

    def trace_read(self, fm: FieldMap, r: Record) -> FieldTrace:
        """`Mapping_.to_canonical` for one field, keeping every transform's output."""
        raw: Any
        value: Any
        if fm.read and isinstance(fm.read[0][1], transforms.Concat):
            raw, value = {n: r.fields.get(n) for n in fm.read[0][1].fields}, r.fields
        elif fm.field.startswith(LINK_PREFIX):
            ids = r.links.get(fm.field[len(LINK_PREFIX):], ())
            raw = value = ids[0] if ids else None
        else:
            raw = value = r.fields.get(fm.field)
            if value is None and fm.field.lower() == "id":
                raw = value = r.id
        steps, value, error = _apply(fm.read, value)
        if value == "":
            value = None
        reference = None
        if fm.ref and value is not None and error is None:
            notes: dict[str, str] = {}
            value = self.resolver(self.source, to_entity=True, notes=notes)(fm.ref, str(value))
            reference = notes.get(fm.ref)
        return FieldTrace(fm.canonical, fm.field, self.where(self.src_map, fm), raw, steps, value, reference, error,
                          getattr(fm, "sensitivity", None))

    def trace_identity(self, fields: tuple[FieldTrace, ...], canonical: Mapping[str, Any], key: str | None,
                       entity: int | None, linked: bool, target_id: str | None, matched_by: str) -> IdentityTrace:
        kind = self.src_map.kind
        by_name = {t.canonical: t for t in fields}
        key_field = KINDS[kind].key
        if kind == "company" and not canonical.get("domain") and canonical.get("website"):
            key_field = "website"  # `canonical_key` falls back to the website
        raw = by_name[key_field].raw if key_field in by_name else canonical.get(key_field)
        if kind == "person":
            email = identity.analyze_email(raw)
            steps, invalid = email.steps, email.reason
        elif kind == "company":
            try:
                domain = identity.analyze_domain(raw)
                steps, invalid = domain.steps, domain.reason
            except ValueError as exc:
                steps, invalid = (), str(exc)
        else:
            steps, invalid = (), "" if key else "empty"
        return IdentityTrace(key_field, raw, key, tuple(steps), "" if key else invalid or "empty", entity, linked,
                             target_id, matched_by if target_id else "none")

    def trace_rules(self, canonical: Mapping[str, Any], previous: Mapping[str, Any] | None, *, creating: bool
                    ) -> tuple[RuleTrace, ...]:
        """Each rule `validate.validate` checks here, judged by `validate.validate` itself, one at a time."""
        out = []
        for rule in self.app.rules:
            if rule.kind != self.src_map.kind or (rule.targets and self.target not in rule.targets) or \
                    (rule.when == "create") != creating:
                continue
            verdict = validate.validate([rule], self.src_map.kind, self.target, canonical, creating=creating,
                                        previous=previous)
            passed = not (verdict.quarantine or verdict.warnings or verdict.drop_fields or verdict.fail_run)
            out.append(RuleTrace(rule.id, rule.field, rule.check, rule.when, rule.action, canonical.get(rule.field),
                                 passed, rule.message, rule.applies(canonical)))
        return tuple(out)

    def trace_plan(self, canonical: Mapping[str, Any], creating: bool, shadow: Mapping[str, Any],
                   written: set[str], seen: plan.SourceState, dropped: Mapping[str, str]) -> tuple[PlanTrace, ...]:
        """`plan.plan_fields` field by field, with why each field is or is not written."""
        out = []
        for name, value in canonical.items():
            fm = self.tgt_map.field_for(name)
            old = None if creating else shadow.get(name)
            if fm is None:
                read_only = next((f for f in self.tgt_map.fields if f.canonical == name), None)
                why = (f"read-only in the {self.target} mapping (direction = \"read\")" if read_only else
                       f"the {self.target} mapping has no field for `{name}`")
                out.append(PlanTrace(name, None, self.where(self.tgt_map, read_only), old, value, False,
                                     f"not written: {why}"))
                continue
            where, sensitivity = self.where(self.tgt_map, fm), getattr(fm, "sensitivity", None)
            if name in written:
                steps, native, note = self.trace_write(fm, canonical)
                out.append(PlanTrace(name, fm.field, where, old, value, True, note or ("new record" if creating
                                     else "changed"), native, steps, sensitivity))
                continue
            if name in dropped:
                reason = f"not written: rule {dropped[name]} failed (action drop_field)"
            elif plan.blank(value):
                reason = "not written: empty in the source, and an empty value never clears the target"
            elif not creating and plan.same(value, old):
                reason = "not written: unchanged"
            else:
                reason = self.kept_by_rule(plan.rule_for(name, self.src_map, self.tgt_map), name, value, seen)
            out.append(PlanTrace(name, fm.field, where, old, value, False, reason, sensitivity=sensitivity))
        return tuple(out)

    def kept_by_rule(self, rule: plan.Rule, name: str, value: Any, seen: plan.SourceState) -> str:
        """Why `plan._source_wins` kept the target's value (mappings/README.md "Who wins")."""
        stated = f"rule `{rule}` ({self.rel(rule.where)})" if rule.file else f"`{rule}` (no rule in the mappings)"
        why = {plan.Policy.NEVER: "the field is never synced",
               plan.Policy.SET_IF_EMPTY: f"{self.target} already has a value"}.get(rule.policy)
        if why is None and rule.policy in (plan.Policy.ALWAYS, plan.Policy.PREFER) and rule.system == self.target:
            why = f"owned by {rule.system}" + (", which has a value" if rule.policy is plan.Policy.PREFER else "")
        if why is None:
            why = (f"{self.source} did not change it since the last sync (or it is revhub's own write coming back)"
                   if not seen.changed(name, value) else f"{self.target} changed it more recently")
        return f"not written: {stated}: {why}"

    def trace_write(self, fm: FieldMap, canonical: Mapping[str, Any]) -> tuple[tuple[Step, ...], Any, str]:
        """`Mapping_.to_native` for one field: the value sent and each write transform's output."""
        value: Any = canonical if fm.write and isinstance(fm.write[0][1], transforms.Concat) else canonical[
            fm.canonical]
        note = ""
        if fm.ref and value is not None:
            notes: dict[str, str] = {}
            value = self.resolver(self.target, to_entity=False, notes=notes)(fm.ref, value)
            if value is None:
                return (), None, f"the linked {fm.ref} is not in {self.target} yet: the link is left alone"
            note = f"link: {notes.get(fm.ref, '')}"
        cut = transforms.truncation(fm.write, value)
        steps, value, error = _apply(fm.write, value)
        return steps, value, error or "; ".join(n for n in (note, cut) if n)


def _apply(chain: tuple[tuple[str, transforms.Fn], ...], value: Any) -> tuple[tuple[Step, ...], Any, str | None]:
    steps: list[Step] = []
    for name, fn in chain:
        try:
            value = fn(value)
        except RecordError as exc:
            return tuple(steps), None, "; ".join(exc.reasons)
        steps.append(Step(name, value))
    return tuple(steps), value, None


def _masked(obj: Any) -> Any:
    """Every email in the explanation as `j***@acme.com` (`redact`); enums and numbers untouched."""
    if isinstance(obj, Enum):
        return obj
    if isinstance(obj, str):
        return redact(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.replace(obj, **{f.name: _masked(getattr(obj, f.name)) for f in dataclasses.fields(obj)})
    if isinstance(obj, tuple | list):
        return type(obj)(_masked(x) for x in obj)
    if isinstance(obj, dict):
        return {k: _masked(v) for k, v in obj.items()}
    return obj
