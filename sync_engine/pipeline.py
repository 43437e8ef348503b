"""One run of a pipeline, told as a story: replay pending -> extract -> map -> validate -> identify ->
plan -> load -> record. Business rules live in the step modules; this file only sequences them.
What a run reports (`RunReport`, `RunOutcome`, `Planned`) is in `report.py`, re-exported here.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from connectors.base import Connector, Record
from sync_engine import fingerprint, identify, merge, plan, stage_history, validate
from sync_engine.budget import Budget, Limit
from sync_engine.canonical import KINDS
from sync_engine.config import Config, IdentityConfig, Pipeline
from sync_engine.errors import ConfigError, ConnectorError, FailureCode, FatalError, LockLost, RecordError
from sync_engine.load import Loader, PendingWrite, payload
from sync_engine.mapping import Mapping_
from sync_engine.redact import redact
from sync_engine.report import Planned, RunOutcome, RunReport
from sync_engine.store import RUN_RECORD, Cursor, FailureRow, PageOutcome, Store

Progress = Callable[[str], None]


@dataclass(slots=True)
class _Ctx:
    pipeline: Pipeline
    source: Connector
    target: Connector
    src_map: Mapping_
    tgt_map: Mapping_
    rules: list[validate.Rule]
    store: Store
    dry_run: bool
    run_id: int
    report: RunReport
    ref_objects: dict[tuple[str, str], str]  # (system, kind) -> object
    loader: Loader
    replan: bool = False  # plan every record against the target, even one whose source is unchanged
    identity: IdentityConfig = field(default_factory=IdentityConfig)  # email folding, account tie-breaks


def run_pipeline(config: Config, store: Store, connectors: dict[str, Connector],
                 mappings: dict[tuple[str, str], Mapping_], rules: list[validate.Rule], name: str, *,
                 dry_run: bool = False, full: bool = False, progress: Progress | None = None,
                 replay: Sequence[int] | None = None) -> RunReport:
    """Run one pipeline once. Never raises for sync problems: they are in the report.

    `replay`: replay exactly these failure ids and read nothing new (`revhub failures retry`).
    """
    p = config.pipelines[name]
    report = RunReport(name, keep_plan=dry_run)
    src_map, tgt_map = _mapping(mappings, p.source_system, p.source_object), \
        _mapping(mappings, p.target_system, p.target_object)
    if src_map.kind != tgt_map.kind:
        raise ConfigError(f"pipeline {name} maps a {src_map.kind} onto a {tgt_map.kind}", file=str(config.path),
                          key=f"pipelines.{name}", hint="source and target mappings must share a canonical kind")
    source, target = connectors[p.source_system], connectors[p.target_system]
    before = {s: (c.calls.read, c.calls.write) for s, c in connectors.items()}
    holder = None if dry_run else store.acquire(f"pipeline:{name}")
    if not dry_run and holder is None:
        report.outcome, report.message = RunOutcome.STOPPED, "another run of this pipeline holds its lock"
        return report
    run_id = store.start_run(name, dry_run)
    report.run_id = run_id
    def commit(outcome: PageOutcome) -> None:
        if not dry_run:
            store.commit_page(name, run_id, outcome, lock=(f"pipeline:{name}", holder) if holder else None)

    loader = Loader(target, p.target_system, p.target_object, p.source_system, p.source_object, report.records,
                    commit, dry_run, upsert=tgt_map.upsert,
                    landed=_stages_written(store, p.target_system, run_id) if src_map.kind == "deal" else None)
    ctx = _Ctx(p, source, target, src_map, tgt_map, rules, store, dry_run, run_id, report,
               {(m.system, m.kind): m.object for m in mappings.values()}, loader, identity=config.identity)
    budget = Budget.begin(store, {s: Limit(sc.daily_budget, sc.quota_reserve) for s, sc in config.systems.items()
                                  if s in (p.source_system, p.target_system)},
                          {s: c for s, c in connectors.items() if s in (p.source_system, p.target_system)})
    try:
        budget.check()
        if tgt_map.uses_target_lengths:  # `truncate_to_target`: the target's field lengths, one describe per run
            ctx.tgt_map = tgt_map.with_target_lengths(target.describe(p.target_object))
        followed = merge.follow(config, store, connectors, mappings, p, dry_run=dry_run or replay is not None)
        if followed.warning:
            report.say(followed.warning)
        _replay_pending(ctx, replay, config.max_attempts)
        reads = _reads(store, name, replay)
        mapped_with = fingerprint.of(src_map, tgt_map)
        ctx.replan = full or (reads and fingerprint.changed(store, name, mapped_with))
        if ctx.replan and not full:
            report.say("the mapping files changed since the last run: every record is checked again")
        cursor = Cursor(None, frozenset()) if ctx.replan else store.cursor(name)
        pages_read = [] if not reads else source.read(p.source_object, cursor.stamp, src_map.source_fields())
        for pages, page in enumerate(pages_read, 1):
            fresh = [r for r in page if not (r.modified_at == cursor.stamp and r.id in cursor.seen)]
            outcome = _process(ctx, fresh, pages)
            cursor = _advance(cursor, page)
            outcome.cursor = cursor
            ctx.loader.page_done(pages, outcome)
            if progress:
                progress(_progress_line(name, pages, report))
            budget.check()
        ctx.loader.finish()
        if not dry_run:
            store.expire_payloads(timedelta(days=config.keep_records_days))
            if reads:  # read and wrote to the end: whatever stopped earlier runs is over
                store.resolve_stops(name)
                fingerprint.remember(store, name, mapped_with)
            dead = store.bury(name, [c.value for c in FailureCode if c.retryable], config.max_attempts)
            if dead:
                report.say(f"{len(dead)} failure(s) reached {config.max_attempts} attempts and are now "
                           f"dead: revhub failures list --pipeline {name} --status dead")
    except LockLost as exc:
        report.outcome, report.message = RunOutcome.STOPPED, str(exc)
    except (FatalError, ConnectorError) as exc:
        code = exc.code
        report.outcome = RunOutcome.STOPPED
        report.message = redact(f"{code.value}: {exc.message} (runbook: {code.runbook})")
        if not dry_run:  # a failure row too, so the runbooks' `failures list --code` shows the stop
            system = _stopped_on(exc, p)
            why = redact(f"the run stopped: {exc.message}")
            store.record_stop(name, run_id, FailureRow(
                "run", system, p.source_object if system == p.source_system else p.target_object, RUN_RECORD,
                code.value, why, [why, "the page in flight was not committed: the next run reads it again"]))
    finally:
        if not dry_run:
            budget.record()
        report.calls = {s: {"read": c.calls.read - before[s][0], "write": c.calls.write - before[s][1]}
                        for s, c in connectors.items() if s in (p.source_system, p.target_system)}
        if report.outcome is not RunOutcome.STOPPED:
            report.outcome = _outcome(report, dry_run)
        if dry_run:
            report.would_write = {p.target_system: ctx.loader.predicted_calls}
        store.finish_run(run_id, report.outcome.value, dict(report.records), report.calls, report.message)
        if holder:
            store.release(f"pipeline:{name}", holder)
    return report


def _sends(tgt_map: Mapping_, changes: Sequence[plan.Change], fields: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """For a dry run's preview: which target fields each change writes, with the native value sent."""
    out: dict[str, dict[str, Any]] = {}
    for c in changes:
        sent = {f.field: fields[f.field] for f in tgt_map.fields
                if f.canonical == c.field and f.writes and f.field in fields}
        if sent:
            out[c.field] = sent
    return out


def _mapping(mappings: dict[tuple[str, str], Mapping_], system: str, obj: str) -> Mapping_:
    if (system, obj) not in mappings:
        raise ConfigError(f"no mapping file for {system}.{obj}",
                          hint="add one under mappings/ (see mappings/README.md)")
    return mappings[(system, obj)]


def _reads(store: Store, name: str, replay: Sequence[int] | None) -> bool:
    """Read new changes unless this is a replay of record failures only; replaying a stopped run
    (a `RUN_RECORD` failure) means running the pipeline again."""
    return replay is None or any(f["record_id"] == RUN_RECORD for f in store.failures(
        pipeline=name, ids=replay, status=None))


def _stopped_on(exc: Exception, p: Pipeline) -> str:
    """The system a stop came from: the connector tags its errors; budget stops name the system first."""
    system = str(getattr(exc, "system", "") or "")
    if system in (p.source_system, p.target_system):
        return system
    message = str(getattr(exc, "message", ""))
    return next((s for s in (p.target_system, p.source_system) if message.startswith(s)), p.source_system)


def _outcome(report: RunReport, dry_run: bool) -> RunOutcome:
    if dry_run:
        return RunOutcome.DRY_RUN
    if report.records["failed"]:
        written = report.records["created"] + report.records["updated"] + report.records["unchanged"]
        return RunOutcome.PARTIAL if written else RunOutcome.FAILED
    return RunOutcome.SUCCEEDED


def _progress_line(name: str, pages: int, report: RunReport) -> str:
    r = report.records
    return (f"{name}: page {pages}: {r['read']} read, {r['created']} created, {r['updated']} updated, "
            f"{r['unchanged']} unchanged, {r['quarantined']} quarantined, {r['failed']} failed")


def _advance(cursor: Cursor, page: list[Record]) -> Cursor:
    """Move past this page; remember the ids at the newest stamp so the next read skips only those."""
    if not page:
        return cursor
    top = max(r.modified_at for r in page)
    if cursor.stamp is not None and top < cursor.stamp:
        return cursor
    seen = {r.id for r in page if r.modified_at == top}
    if top == cursor.stamp:
        seen |= cursor.seen
    return Cursor(top, frozenset(seen))


def _replay_pending(ctx: _Ctx, ids: Sequence[int] | None, max_attempts: int) -> None:
    """Finish pending work before new work: retry what the failure log says is retryable.

    With `ids`, replay exactly those failures whatever their code (`revhub failures retry`).
    """
    if ids is not None:
        rows = [f for f in ctx.store.failures(pipeline=ctx.pipeline.name, ids=ids, status=None) if f["payload"]]
    else:
        rows = [f for f in ctx.store.failures(pipeline=ctx.pipeline.name)
                if FailureCode(f["code"]).retryable and f["payload"] and f["attempts"] < max_attempts]
    if not rows:
        return
    records = [Record(object=f["payload"]["object"], id=f["payload"]["id"], fields=f["payload"]["fields"],
                      modified_at=datetime.fromisoformat(f["payload"]["modified_at"]),
                      links={k: tuple(v) for k, v in f["payload"].get("links", {}).items()}) for f in rows]
    ctx.loader.page_done(0, _process(ctx, records, 0))
    ctx.loader.finish()


def _ref_resolver(ctx: _Ctx, system: str, records: Iterable[Any], mapping: Mapping_, to_entity: bool
                  ) -> Callable[[str, Any], Any]:
    """Preload, in one query per referenced kind, the crosswalk rows a page's references need."""
    cache: dict[tuple[str, Any], Any] = {}
    for fm in mapping.fields:
        if not fm.ref:
            continue
        obj = ctx.ref_objects.get((system, fm.ref))
        if obj is None:
            continue
        if to_entity:
            raw = {v for r in records if (v := _raw_ref(r, fm.field)) is not None}
            for ext, link in ctx.store.links(system, obj, raw).items():
                cache[(fm.ref, ext)] = link.entity_id
        else:
            ents = {c.get(fm.canonical) for c in records} - {None}
            if fm.ref == "company":  # several accounts may share a domain: the configured tie-break picks one
                for ent, choice in identify.choose_accounts(ctx.store, system, obj, ents,
                                                            ctx.identity.account_tie_break).items():
                    cache[(fm.ref, ent)] = choice.id
                continue
            for ent, link in ctx.store.links_of_entities(system, obj, ents).items():
                cache[(fm.ref, ent)] = link.external_id
    return lambda kind, value: cache.get((kind, value))


def _raw_ref(record: Record, field_name: str) -> str | None:
    if field_name.startswith("links."):
        ids = record.links.get(field_name[6:], ())
        return ids[0] if ids else None
    value = record.fields.get(field_name)
    return None if value in (None, "") else str(value)


def _fail_run(verdict: validate.Verdict, obj: str, record_id: str) -> None:
    """A `fail_run` rule stops the whole run: the data is wrong in a way a person must look at."""
    if verdict.fail_run:
        raise FatalError(FailureCode.RECORD_INVALID, f"{obj} {record_id}: {'; '.join(verdict.fail_run)}")


def _process(ctx: _Ctx, records: list[Record], page: int) -> PageOutcome:
    """Map, validate, identify and plan one page; its writes go to the loader, the rest is returned."""
    out = PageOutcome()
    report, kind, p = ctx.report, ctx.src_map.kind, ctx.pipeline
    report.records["read"] += len(records)
    src_links = ctx.store.links(p.source_system, p.source_object, [r.id for r in records])
    resolve_in = _ref_resolver(ctx, p.source_system, records, ctx.src_map, to_entity=True)

    def quarantine(r: Record, step: str, code: FailureCode, reasons: list[str]) -> None:
        clean = [redact(x) for x in reasons]
        report.records["quarantined"] += 1
        report.note(Planned(r.id, "quarantine", None, reasons=tuple(clean)))
        out.failures.append(FailureRow(step, p.source_system, p.source_object, r.id, code.value, clean[0], clean,
                                       payload(r)))

    # map -> validate
    ready: list[tuple[Record, dict[str, Any], str | None]] = []
    warnings: dict[str, list[str]] = {}  # `warn` rules: shown in the dry-run preview, never blocking
    mapped: list[tuple[Record, dict[str, Any]]] = []
    for r in sorted(records, key=lambda r: (r.modified_at, r.id)):
        try:
            mapped.append((r, ctx.src_map.to_canonical(r, resolve_in)))
        except RecordError as exc:
            quarantine(r, "map", exc.code, exc.reasons)
    if kind == "person":
        identify.link_to_accounts(ctx.store, [c for _r, c in mapped], ctx.identity.email_options())
    for r, canonical in mapped:
        link = src_links.get(r.id)
        if link and not ctx.replan and plan.unchanged(canonical, link.shadow):
            report.records["unchanged"] += 1
            report.note(Planned(r.id, "unchanged", None))
            out.resolved.append(r.id)
            continue
        verdict = validate.validate(ctx.rules, kind, p.target_system, canonical,
                                    previous=link.shadow if link else None)
        _fail_run(verdict, p.source_object, r.id)
        key = identify.canonical_key(kind, canonical, ctx.identity.email_options())
        reasons = verdict.quarantine or ([] if key or link else [
            f"no usable {KINDS[kind].key}: revhub matches a {kind} by its {KINDS[kind].key}; fill it in "
            f"{p.source_system} (mapping {ctx.src_map.path})"])
        if reasons:
            quarantine(r, "validate", FailureCode.RECORD_INVALID, reasons)
            continue
        canonical = {k: v for k, v in canonical.items() if k not in verdict.drop_fields}
        if verdict.warnings:
            warnings[r.id] = list(verdict.warnings)
        ready.append((r, canonical, key))

    # identify
    ids = identify.EntityIds(ctx.store, kind, ctx.dry_run).resolve(k for r, _c, k in ready
                                                                    if r.id not in src_links and k)
    def entity_id_of(r: Record, key: str | None) -> int:
        if r.id in src_links:
            return src_links[r.id].entity_id
        assert key is not None, "ready holds a record with neither a link nor a key"  # quarantined above
        return ids[key]

    entity_of = {r.id: entity_id_of(r, k) for r, _c, k in ready}
    tgt_links = ctx.store.links_of_entities(p.target_system, p.target_object, entity_of.values())
    unmatched = {entity_of[r.id]: k for r, _c, k in ready if entity_of[r.id] not in tgt_links and k}
    resolve_tgt_in = _ref_resolver(ctx, p.target_system, [], ctx.tgt_map, to_entity=True)
    matched = identify.match_in_target(ctx.target, ctx.tgt_map, kind, unmatched, resolve_tgt_in,
                                       ctx.identity.email_options())

    # plan
    resolve_out = _ref_resolver(ctx, p.target_system, [c for _r, c, _k in ready], ctx.tgt_map, to_entity=False)
    for r, canonical, _key in ready:
        entity = entity_of[r.id]
        pending = ctx.loader.pending(entity)
        if pending is not None:  # already being written in this run: build on that write
            target_id, shadow = pending.target_id, {**pending.shadow, **{
                c.field: c.new for c in pending.changes.values()}}
        elif entity in tgt_links:
            target_id, shadow = tgt_links[entity].external_id, tgt_links[entity].shadow
        elif entity in matched:
            target_id, shadow = matched[entity]
        else:
            target_id, shadow = None, None
        if target_id is None:
            verdict = validate.validate(ctx.rules, kind, p.target_system, canonical, creating=True)
            _fail_run(verdict, p.source_object, r.id)
            if verdict.quarantine:
                quarantine(r, "validate", FailureCode.RECORD_INVALID, verdict.quarantine)
                continue
            canonical = {k: v for k, v in canonical.items() if k not in verdict.drop_fields}
        seen = plan.SourceState(src_links[r.id].shadow if r.id in src_links else None, r.modified_at)
        changes = tuple(plan.plan_fields(canonical, p.source_system, ctx.src_map, ctx.tgt_map,
                                         None if target_id is None else shadow, seen))
        if not changes:
            report.records["unchanged"] += 1
            report.note(Planned(r.id, "unchanged", target_id))
            out.links.append((p.source_system, p.source_object, r.id, entity, canonical))
            if target_id is not None:
                out.links.append((p.target_system, p.target_object, target_id, entity, dict(shadow or {})))
            out.resolved.append(r.id)
            continue
        try:
            fields, links = ctx.tgt_map.to_native({c.field: c.new for c in changes}, resolve_out, canonical)
        except RecordError as exc:
            quarantine(r, "plan", exc.code, exc.reasons)
            continue
        cut = ctx.tgt_map.truncations({c.field: c.new for c in changes}) if ctx.dry_run else []
        report.note(Planned(r.id, "update" if target_id else "create", target_id, changes,
                            tuple(f"warning: {w}" for w in [*warnings.get(r.id, ()), *cut]),
                            _sends(ctx.tgt_map, changes, fields) if ctx.dry_run else {}))
        ctx.loader.plan_write(page, entity, target_id, dict(shadow or {}), fields, links, changes, r, canonical)
    if kind == "deal" and not ctx.dry_run:  # record: the stage each deal is now in, as read (written: the loader)
        failed = {f.record_id for f in out.failures}
        stage_history.record_read(ctx.store, p.source_system, [stage_history.Seen(
            entity_of[r.id], r.modified_at, c) for r, c, _k in ready if r.id not in failed], ctx.run_id)
    return out


def _stages_written(store: Store, target: str, run_id: int) -> Callable[[list[PendingWrite]], None]:
    """The loader's hook for deals: the stage of each write the target accepted, as its latest record had it."""
    def landed(writes: list[PendingWrite]) -> None:
        stage_history.record_written(store, target, [stage_history.Seen(
            w.entity, w.records[-1][0].modified_at, w.records[-1][1]) for w in writes], run_id)
    return landed
