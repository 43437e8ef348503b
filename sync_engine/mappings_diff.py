"""Review a mapping change: the same source records through the mapping and rule files at a git revision
and as they are now (map -> validate -> plan-to-native), and the records whose outcome would differ.

`revhub mappings diff --base REV` is the review step of a pull request. It writes nothing anywhere: the
source connectors only `read` (and the target's `describe`, for `truncate_to_target`), and the state
store is not opened, so no crosswalk is consulted either. That makes it a comparison of the two
versions of the files, not a prediction of the next run: it compares what each version would send for
a record if revhub wrote every mapped field, so echo checks, who-wins rules and `transition`/`change`
rules (which need the last synced values) are not simulated; changed who-wins rules are listed per
pipeline instead. Links to other records are compared as the source's ids.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.base import Connector, Record
from sync_engine import identify, plan, rules_file, validate
from sync_engine.app import App
from sync_engine.canonical import KINDS
from sync_engine.config import Config
from sync_engine.errors import ConfigError, RecordError
from sync_engine.mapping import Mapping_, load_mappings
from sync_engine.redact import redact

__all__ = ["EXIT_DIFFERENCES", "Diff", "FieldChange", "PipelineDiff", "RecordDiff", "as_json", "diff_mappings",
           "export_files", "render_text"]

EXIT_DIFFERENCES = 1  # `revhub mappings diff` finished and found records that would change (docs/decisions.md)
OWNER = "owner"  # the canonical field that routes a record to a person: its changes are called out


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str  # the target system's field
    old: Any  # the value the base version would write (None: not written)
    new: Any
    owner: bool = False  # the record's owner (routing) changes


@dataclass(frozen=True, slots=True)
class RecordDiff:
    source_id: str
    key: str | None  # the email, domain or source key, masked
    changes: tuple[FieldChange, ...]
    held_before: tuple[str, ...]  # why the base version would hold the record back (rule ids, map errors)
    held_after: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PipelineDiff:
    pipeline: str
    source: str  # system.object
    target: str
    read: int = 0
    records: tuple[RecordDiff, ...] = ()
    rules: tuple[str, ...] = ()  # who-wins rules that changed: "title: latest change wins -> always salesforce"
    message: str = ""


@dataclass(frozen=True, slots=True)
class Diff:
    base: str
    commit: str
    pipelines: tuple[PipelineDiff, ...] = field(default_factory=tuple)

    @property
    def differs(self) -> bool:
        return any(p.records or p.rules or p.message for p in self.pipelines)


# --- the files at REV ------------------------------------------------------------------------------
def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    git = shutil.which("git")
    if git is None:
        raise ConfigError("git is not installed", hint="mappings diff reads the files at REV with git")
    return subprocess.run([git, "-C", str(cwd), *args], capture_output=True, check=False)  # noqa: S603


def export_files(config: Config, rev: str, into: Path) -> tuple[str, Path, Path | None]:
    """Write the mapping folder and the rules file as they were at `rev` under `into`.

    Returns (commit, mappings folder, rules file). ConfigError when the config's folder is not in a git
    work tree, `rev` is unknown, or the files did not exist there.
    """
    where = config.path.parent
    top = _git(where, "rev-parse", "--show-toplevel")
    if top.returncode:
        raise ConfigError(f"{where} is not in a git work tree", file=str(config.path),
                          hint="mappings diff compares with a git revision: run it inside the repository "
                               "that holds the mapping files")
    root = Path(top.stdout.decode().strip()).resolve()
    found = _git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if found.returncode or rev.startswith("-"):
        raise ConfigError(f"unknown revision `{rev}`", hint="a branch, tag or commit, e.g. --base main, --base HEAD~1 "
                                                           "or --base origin/main (fetch it first)")
    commit = found.stdout.decode().strip()

    def inside(path: Path) -> str:
        try:
            return path.resolve().relative_to(root).as_posix()
        except ValueError:
            raise ConfigError(f"{path} is outside the git work tree {root}", file=str(config.path),
                              hint="keep the mapping and rule files in the repository") from None

    folder = inside(config.mappings_dir)
    listed = _git(root, "ls-tree", "-r", "-z", "--name-only", commit, "--", folder)
    names = [n for n in listed.stdout.decode().split("\0") if n]
    if not names:
        raise ConfigError(f"the mappings folder `{folder}` did not exist at {rev}", file=str(config.path),
                          hint="pick a revision that has it")
    for name in names:
        _write_blob(root, commit, name, into)
    rules = None
    if config.rules_file is not None:
        rel = inside(config.rules_file)
        if not (into / rel).exists():
            if _git(root, "cat-file", "-e", f"{commit}:{rel}").returncode:
                raise ConfigError(f"the rules file `{rel}` did not exist at {rev}", file=str(config.path),
                                  hint="pick a revision that has it")
            _write_blob(root, commit, rel, into)
        rules = into / rel
    return commit, into / folder, rules


def _write_blob(root: Path, commit: str, name: str, into: Path) -> None:
    shown = _git(root, "show", f"{commit}:{name}")
    if shown.returncode:
        raise ConfigError(f"cannot read {name} at {commit[:12]}: {shown.stderr.decode().strip()}")
    out = into / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(shown.stdout)


def _at_rev(exc: ConfigError, into: Path, rev: str) -> ConfigError:
    """An error in the old files, naming them as `REV:mappings/x.toml` instead of a temporary path."""
    prefix = str(into).rstrip("/") + "/"

    def name(text: str) -> str:
        return text.replace(prefix, f"{rev}:")
    return ConfigError(name(exc.message), file=name(exc.file), line=exc.line, key=exc.key, hint=name(exc.hint))


# --- one record through one version ----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Outcome:
    written: Mapping[str, Any]  # target field -> value sent
    held: tuple[str, ...]  # why it is held back; empty when it would be written
    key: str | None


def _outcome(src: Mapping_, tgt: Mapping_, rules: list[validate.Rule], target: str, r: Record) -> _Outcome:
    """`pipeline._process` without the store: map, validate (both kinds of rule), then the write's fields."""
    kind = src.kind
    try:
        canonical = src.to_canonical(r, lambda _k, value: f"{src.system} id {value}")
    except RecordError as exc:
        return _Outcome({}, tuple(f"{exc.code.value}: {reason}" for reason in exc.reasons), None)
    key = identify.canonical_key(kind, canonical)
    held: list[str] = []
    drop: list[str] = []
    for creating in (False, True):
        verdict = validate.validate(rules, kind, target, canonical, creating=creating)
        suffix = " (when creating)" if creating else ""
        held += [f"{_rule_id(x)}{suffix}" for x in verdict.quarantine]
        held += [f"{_rule_id(x)}{suffix} (stops the run)" for x in verdict.fail_run]
        drop += verdict.drop_fields
    if not key:
        held.append(f"no usable {KINDS[kind].key}")
    if held:
        return _Outcome({}, tuple(held), key)
    try:
        fields, links = tgt.to_native({k: v for k, v in canonical.items() if k not in drop}, lambda _k, v: v)
    except RecordError as exc:
        return _Outcome({}, tuple(f"{exc.code.value}: {reason}" for reason in exc.reasons), key)
    written = {**fields, **{f"links.{name}": ids[0] for name, ids in links.items() if ids}}
    return _Outcome(written, (), key)


def _rule_id(reason: str) -> str:
    return reason.split(":", 1)[0]


def _compare(old: _Outcome, new: _Outcome, owner_fields: set[str], source_id: str) -> RecordDiff | None:
    """The differences a reviewer needs: a record newly held back (or released) is that, not a list of
    every field it would (no longer) write; otherwise each written field whose value changes."""
    names = [] if old.held or new.held else dict.fromkeys([*old.written, *new.written])
    changes = tuple(FieldChange(name, _masked(old.written.get(name)), _masked(new.written.get(name)),
                                name in owner_fields)
                    for name in names if not plan.same(old.written.get(name), new.written.get(name)))
    if not changes and old.held == new.held:
        return None
    key = new.key or old.key
    return RecordDiff(source_id, redact(key) if key else None, changes, old.held, new.held)


def _masked(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


# --- the whole comparison --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Version:
    mappings: dict[tuple[str, str], Mapping_]
    rules: list[validate.Rule]


def diff_mappings(app: App, base: str, pipelines: list[str] | None = None) -> Diff:
    """Compare the mapping and rule files at `base` with the current ones over every selected pipeline.

    ConfigError: not a git work tree, unknown revision, or a broken file in either version (file:line;
    an old file is named `REV:path`). ConnectorError: a source could not be read.
    """
    names = app.pipeline_names(pipelines)
    new = _Version(app.mappings, app.rules)
    with tempfile.TemporaryDirectory(prefix="revhub-diff-") as tmp:
        into = Path(tmp)
        commit, folder, old_rules = export_files(app.config, base, into)
        try:
            old = _Version(load_mappings(folder), rules_file.load_rules(old_rules))
        except ConfigError as exc:
            raise _at_rev(exc, into, base) from None
    reads: dict[tuple[str, str], list[Record]] = {}
    schemas: dict[tuple[str, str], Any] = {}
    out = []
    for name in names:
        out.append(_diff_pipeline(app, name, base, old, new, reads, schemas))
    return Diff(base, commit, tuple(out))


def _diff_pipeline(app: App, name: str, base: str, old: _Version, new: _Version,
                   reads: dict[tuple[str, str], list[Record]], schemas: dict[tuple[str, str], Any]) -> PipelineDiff:
    p = app.config.pipelines[name]
    src_key, tgt_key = (p.source_system, p.source_object), (p.target_system, p.target_object)
    source, target = f"{p.source_system}.{p.source_object}", f"{p.target_system}.{p.target_object}"
    missing = [f"{s}.{o}" for s, o in (src_key, tgt_key) if (s, o) not in old.mappings]
    if missing:
        return PipelineDiff(name, source, target, message=f"no mapping file for {' and '.join(missing)} at {base}: "
                                                          "every record this pipeline writes is new")
    connectors = app.connectors
    versions = []
    for v in (old, new):
        src, tgt = v.mappings[src_key], v.mappings[tgt_key]
        if tgt.uses_target_lengths:
            if tgt_key not in schemas:
                schemas[tgt_key] = connectors[p.target_system].describe(p.target_object)
            tgt = tgt.with_target_lengths(schemas[tgt_key])
        versions.append((src, tgt, v.rules))
    if src_key not in reads:
        wanted = sorted({*old.mappings[src_key].source_fields(), *new.mappings[src_key].source_fields()})
        reads[src_key] = _read_all(connectors[p.source_system], p.source_object, wanted)
    owner_fields = {f.field for _s, tgt, _r in versions for f in tgt.fields if f.canonical == OWNER}
    records = []
    for r in reads[src_key]:
        before, after = (_outcome(src, tgt, rules, p.target_system, r) for src, tgt, rules in versions)
        diff = _compare(before, after, owner_fields, r.id)
        if diff is not None:
            records.append(diff)
    return PipelineDiff(name, source, target, len(reads[src_key]), tuple(records),
                        _rule_changes(versions[0][:2], versions[1][:2]))


def _read_all(connector: Connector, obj: str, fields: list[str]) -> list[Record]:
    """Every record of the source (not only changes: the review is about all of them), deleted ones left out."""
    return [r for page in connector.read(obj, None, fields) for r in page if not r.deleted]


def _rule_changes(old: tuple[Mapping_, Mapping_], new: tuple[Mapping_, Mapping_]) -> tuple[str, ...]:
    """Who-wins rules (mappings/README.md) that differ between the versions, per canonical field written."""
    names: Iterable[str] = dict.fromkeys(f.canonical for m in (*old, *new) for f in m.fields)
    out = []
    for name in names:
        before, after = plan.rule_for(name, *old), plan.rule_for(name, *new)
        if before != after:
            out.append(f"{name}: {before} -> {after}")
    return tuple(out)


# --- output ----------------------------------------------------------------------------------------
def render_text(diff: Diff, limit: int | None = None) -> str:
    lines = [f"mappings diff: the files at {diff.base} ({diff.commit[:12]}) -> as they are now"]
    total = 0
    for p in diff.pipelines:
        total += len(p.records)
        head = f"{p.pipeline} ({p.source} -> {p.target}): {p.read} read, "
        lines.append(head + (f"{len(p.records)} would change" if p.records else "no record changes"))
        if p.message:
            lines.append(f"  {p.message}")
        lines += [f"  who wins {rule}" for rule in p.rules]
        for rec in p.records[:limit]:
            lines.append(f"  {p.source} {rec.source_id}" + (f" ({rec.key})" if rec.key else ""))
            if rec.held_before != rec.held_after:
                lines.append(f"    held back: {_held(rec.held_before)} -> {_held(rec.held_after)}")
            for c in rec.changes:
                lines.append(f"    {'owner ' if c.owner else ''}{c.field}: {_value(c.old)} -> {_value(c.new)}")
        if limit is not None and len(p.records) > limit:
            lines.append(f"  ... and {len(p.records) - limit} more (--limit)")
    lines.append(f"{total} record(s) would change in {sum(bool(p.records) for p in diff.pipelines)} pipeline(s)"
                 if diff.differs else "no differences")
    return "\n".join(lines)


def _held(reasons: tuple[str, ...]) -> str:
    return "no" if not reasons else "yes (" + "; ".join(reasons) + ")"


def _value(value: Any) -> str:
    return "(not written)" if value is None else repr(value)


def as_json(diff: Diff, limit: int | None = None) -> dict[str, Any]:
    """For CI: one object; `differs` says what the exit code says."""
    return {"base": diff.base, "commit": diff.commit, "differs": diff.differs, "pipelines": [
        {"pipeline": p.pipeline, "source": p.source, "target": p.target, "read": p.read, "changed": len(p.records),
         "message": p.message, "rules": list(p.rules),
         "records": [{"source_id": r.source_id, "key": r.key,
                      "held_back": {"old": list(r.held_before), "new": list(r.held_after)},
                      "changes": [{"field": c.field, "old": c.old, "new": c.new, "owner": c.owner}
                                  for c in r.changes]} for r in p.records[:limit]]}
        for p in diff.pipelines]}
