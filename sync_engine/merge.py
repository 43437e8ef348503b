"""Merges: follow the ones made inside a CRM, and make them (write-back) where the config allows.

Propagation (`follow`, called once at the start of every run): the pipeline's source connector lists
the merges made since the last look (HubSpot `hs_merged_object_ids`, Salesforce deleted records with a
`MasterRecordId`). For each loser revhub has not followed yet:
- the loser's crosswalk row goes and its id is kept in `merged_ids`, so no pipeline can write to it or
  re-create it (a loser's entity still has its records in the other systems, which would otherwise
  look "missing" there and be created again);
- if the survivor and the loser were two canonical entities, they become one: every record of the
  loser's entity, in every system, now belongs to the survivor's;
- if that leaves two records of the one entity in another system (each side had its twin there), they
  are merged there too when `[merge.<system>] enabled = true` (the survivor's twin survives, following
  the decision made in the CRM), or recorded as a pending duplicate for `revhub duplicates` otherwise.
  Never silently two.

Write-back (`write_back`, `revhub merge`): the duplicate clusters `revhub duplicates` finds in one
system are merged there, the survivor picked by the configured survivorship (`survivorship.py`),
its fields filled by the per-field overrides before the merge call; then the same crosswalk steps.

Every merge writes one audit row (`merge_log.py`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connectors.base import Connector
from sync_engine import merge_log, survivorship
from sync_engine.config import Config, Pipeline
from sync_engine.errors import ConfigError, ConnectorError, RecordError
from sync_engine.mapping import Mapping_
from sync_engine.redact import redact
from sync_engine.store import Cursor, PageOutcome, Store, crosswalk

__all__ = ["Followed", "MergePlan", "MergeReport", "follow", "write_back"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class _Env:
    config: Config
    store: Store
    connectors: Mapping[str, Connector]
    mappings: Mapping[tuple[str, str], Mapping_]


# --- propagation ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Followed:
    losers: int = 0
    warning: str = ""  # merges may have been missed: the last look is older than the system remembers


def follow(config: Config, store: Store, connectors: Mapping[str, Connector],
           mappings: Mapping[tuple[str, str], Mapping_], pipeline: Pipeline, *, dry_run: bool = False) -> Followed:
    """Follow the merges made in the pipeline's source since the last look.

    A dry run follows nothing (it would change the crosswalk). Connector errors propagate: the run
    stops before reading, as it would on the read itself. Every look is remembered (the cursor's save
    time), so a look longer ago than the system keeps merges (`Connector.merge_memory`, Salesforce's
    ~15 days) comes back with a warning: merges in that gap are gone from the API.
    """
    if dry_run:
        return Followed()
    env = _Env(config, store, connectors, mappings)
    system, obj = pipeline.source_system, pipeline.source_object
    name = f"merges:{system}.{obj}"
    cursor = store.cursor(name)
    source = connectors[system]
    warning = ""
    memory, last = source.merge_memory, cursor.saved_at
    if memory is not None and last is not None and datetime.now(UTC) - last > memory:
        warning = (f"the last look for {system} {obj} merges was {(datetime.now(UTC) - last).days} days ago and "
                   f"{system} keeps merges about {memory.days} days: some may have been missed; "
                   f"`revhub duplicates` lists the twins left behind")
    found = source.merges(obj, cursor.stamp)
    count = 0
    for m in sorted(found, key=lambda m: m.merged_at):
        known = merge_log.followed(store, system, obj, m.loser_ids)
        for loser in m.loser_ids:
            if loser in known or loser == m.survivor_id:
                continue
            _apply(env, system, obj, m.survivor_id, loser, action="followed", rule=f"merged in {system}",
                   merged_at=m.merged_at)
            count += 1
    top = max(m.merged_at for m in found) if found else cursor.stamp
    store.commit_page(name, 0, PageOutcome(cursor=Cursor(top, frozenset())))  # also: when this look was
    return Followed(count, warning)


def _apply(env: _Env, system: str, obj: str, survivor_id: str, loser_id: str, *, action: str, rule: str,
           fields: Sequence[str] = (), merged_at: datetime | None = None, renamed_from: str | None = None) -> None:
    """The crosswalk side of one merge in `system`, then its twins elsewhere."""
    store = env.store
    links = store.links(system, obj, [i for i in (survivor_id, loser_id, renamed_from) if i])
    kept = links.get(survivor_id) or (links.get(renamed_from) if renamed_from else None)
    gone = links.get(loser_id)
    fold: tuple[int, int] | None = None
    twins: list[tuple[str, str, str, str]] = []  # (system, object, survivor's twin, loser's twin)
    if kept and gone and kept.entity_id != gone.entity_id:
        mine = {(r.system, r.object): r.external_id for r in merge_log.entity_rows(store, kept.entity_id)}
        for r in merge_log.entity_rows(store, gone.entity_id):
            if (r.system, r.object) != (system, obj) and (r.system, r.object) in mine:
                twins.append((r.system, r.object, mine[(r.system, r.object)], r.external_id))
        fold = (gone.entity_id, kept.entity_id)
    elif gone and not kept:
        merge_log.link(store, system, obj, survivor_id, gone.entity_id, gone.shadow)
    merge_log.merge_away(store, system, obj, survivor_id, loser_id, merged_at, fold=fold, renamed_from=renamed_from)
    stale = [f["id"] for f in store.failures(system=system) if f["object"] == obj and f["record_id"] == loser_id]
    store.set_failure_status(stale, "resolved")  # nothing left to retry: the record is merged away
    merge_log.resolve_pending(store, system, obj, [loser_id])
    merge_log.audit(store, system, obj, action, survivor_id, [loser_id], rule, fields)
    because = f"{system} {obj} {loser_id} merged into {survivor_id}"
    for s2, o2, twin_kept, twin_gone in twins:
        _merge_twins(env, s2, o2, twin_kept, twin_gone, because)


def _merge_twins(env: _Env, system: str, obj: str, survivor_id: str, loser_id: str, because: str) -> None:
    """Two records of one entity in `system`: merge them there if allowed, else report them."""
    mc = env.config.merge.get(system)
    rule = f"follows {because}"
    if mc is None or not mc.enabled:
        merge_log.audit(env.store, system, obj, "pending", survivor_id, [loser_id], rule,
                        message=f"merge write-back is off for {system}: merge them there, or set "
                                f"[merge.{system}] enabled = true and run `revhub merge --system {system} "
                                f"--object {obj}`")
        return
    changes = _twin_fill(env, system, obj, survivor_id, loser_id, mc)
    native = _native(env, system, obj, changes)
    try:
        new_id = env.connectors[system].merge(obj, survivor_id, loser_id, native)
    except ConnectorError as exc:
        merge_log.audit(env.store, system, obj, "failed", survivor_id, [loser_id], rule, native,
                        message=redact(f"{exc.code.value}: {exc.message} (runbook: {exc.code.runbook})"))
        return
    _apply(env, system, obj, new_id, loser_id, action="merged", rule=rule, fields=list(native),
           renamed_from=survivor_id)


def _twin_fill(env: _Env, system: str, obj: str, survivor_id: str, loser_id: str,
               mc: survivorship.MergeConfig) -> dict[str, Any]:
    """Per-field overrides for twins, from what revhub last saw of each (the crosswalk shadows)."""
    if not mc.fields:
        return {}
    with env.store.begin() as c:
        rows = {r.external_id: r for r in c.execute(crosswalk.select().where(
            crosswalk.c.system == system, crosswalk.c.object == obj,
            crosswalk.c.external_id.in_([survivor_id, loser_id])))}
    if survivor_id not in rows or loser_id not in rows:
        return {}

    def candidate(i: str) -> survivorship.Candidate:
        stamp = rows[i].updated_at or _EPOCH
        return survivorship.Candidate(i, dict(rows[i].shadow or {}),
                                      stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC))
    return survivorship.fill(candidate(survivor_id), [candidate(loser_id)], mc.fields)


def _native(env: _Env, system: str, obj: str, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Canonical values -> the system's fields. Links (references) are left to the CRM's own merge."""
    mapping = env.mappings.get((system, obj))
    if mapping is None or not changes:
        return {}
    plain = {k: v for k, v in changes.items() if (f := mapping.field_for(k)) is not None and not f.ref}
    try:
        fields, _links = mapping.to_native(plain, lambda _kind, _value: None)
    except RecordError:
        return {}
    return fields


# --- write-back -------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class MergePlan:
    survivor_id: str
    loser_ids: tuple[str, ...]
    rule: str
    fields: tuple[str, ...]          # native names of the fields set on the survivor
    source: str                      # "duplicates" (a cluster found now) or "pending" (recorded by a run)
    merged_id: str | None = None     # the id the system answered (dry runs: None)
    error: str | None = None


@dataclass(slots=True)
class MergeReport:
    system: str
    object: str
    dry_run: bool
    plans: list[MergePlan] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(1 for p in self.plans if p.error)

    def as_json(self) -> dict[str, Any]:
        return {"system": self.system, "object": self.object, "dry_run": self.dry_run,
                "merges": [{"survivor_id": p.survivor_id, "loser_ids": list(p.loser_ids), "rule": p.rule,
                            "fields": list(p.fields), "source": p.source, "merged_id": p.merged_id,
                            "error": p.error} for p in self.plans]}


def write_back(config: Config, store: Store, connectors: Mapping[str, Connector],
               mappings: Mapping[tuple[str, str], Mapping_], clusters: Sequence[Any], system: str, obj: str, *,
               dry_run: bool) -> MergeReport:
    """Merge each automatic duplicate cluster of `system`.`obj`, and the pending twins runs recorded.

    `clusters` are `duplicates.Cluster`s. Raises ConfigError unless `[merge.<system>] enabled = true`
    (a dry run only previews, so it needs no permission).
    """
    mc = config.merge.get(system)
    if not dry_run and (mc is None or not mc.enabled):
        raise ConfigError(f"merge write-back is off for {system}", file=str(config.path),
                          line=config.line_of(["merge", system]), key=f"merge.{system}.enabled",
                          hint=f"set [merge.{system}] enabled = true (or preview with --dry-run)")
    mc = mc or survivorship.MergeConfig(enabled=False)
    env = _Env(config, store, connectors, mappings)
    report = MergeReport(system, obj, dry_run)
    planned = _plans(env, clusters, system, obj, mc)
    for survivor, losers, rule, changes, source in planned:
        native = _native(env, system, obj, changes)
        if dry_run:
            report.plans.append(MergePlan(survivor, losers, rule, tuple(native), source))
            continue
        current, error = survivor, None
        for n, loser in enumerate(losers):
            values = native if n == 0 else {}
            try:
                new_id = connectors[system].merge(obj, current, loser, values)
            except ConnectorError as exc:
                error = redact(f"{exc.code.value}: {exc.message} (runbook: {exc.code.runbook})")
                merge_log.audit(store, system, obj, "failed", current, [loser], rule, values, message=error)
                break
            _apply(env, system, obj, new_id, loser, action="merged", rule=rule, fields=list(values),
                   renamed_from=current)
            current = new_id
        report.plans.append(MergePlan(survivor, losers, rule, tuple(native), source, current, error))
    return report


def _plans(env: _Env, clusters: Sequence[Any], system: str, obj: str, mc: survivorship.MergeConfig
           ) -> list[tuple[str, tuple[str, ...], str, dict[str, Any], str]]:
    store = env.store
    members = [m for c in clusters if c.rule.automatic for m in c.members]
    links = store.links(system, obj, [m.id for m in members])
    systems_of: dict[int, frozenset[str]] = {}
    for link in links.values():
        if link.entity_id not in systems_of:
            systems_of[link.entity_id] = frozenset(r.system for r in merge_log.entity_rows(store, link.entity_id))
    out: list[tuple[str, tuple[str, ...], str, dict[str, Any], str]] = []
    taken: set[str] = set()
    for cluster in clusters:
        if not cluster.rule.automatic:
            continue
        candidates = [survivorship.Candidate(
            m.id, dict(m.values), m.modified_at,
            systems_of.get(links[m.id].entity_id, frozenset()) if m.id in links else frozenset({system}))
            for m in cluster.members]
        survivor, rule = survivorship.choose(candidates, mc.survivor, mc.source_priority)
        losers = [c for c in candidates if c.id != survivor.id]
        out.append((survivor.id, tuple(c.id for c in losers), rule, survivorship.fill(survivor, losers, mc.fields),
                    "duplicates"))
        taken |= {c.id for c in candidates}
    for row in merge_log.entries(store, system=system, object=obj, actions=["pending", "failed"]):
        ids = [row["survivor_id"], *row["loser_ids"]]
        if not taken & set(ids):
            out.append((row["survivor_id"], tuple(row["loser_ids"]), row["rule"], {}, "pending"))
            taken |= set(ids)
    return out
