"""Loads and compiles the mapping files RevOps edit: one file per (system object <-> canonical kind).

A mapping turns a system's record into canonical fields (read) and canonical fields into the
system's fields (write). References to other records (a contact's company) travel as canonical
entity ids; the caller resolves them through the identity graph.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from connectors.base import ObjectSchema, Record
from sync_engine import stages, tomlfile, transforms
from sync_engine.canonical import KINDS, REF_KIND
from sync_engine.errors import ConfigError, FailureCode, RecordError
from sync_engine.plan import Policy, Rule, RuleSyntaxError
from sync_engine.stages import StageMap

LINK_PREFIX = "links."  # `links.companies`: an association kept outside the record's fields


class _FieldModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str
    canonical: str
    direction: Literal["both", "read", "write"] = "both"
    read: list[Any] = Field(default_factory=list)
    write: list[Any] = Field(default_factory=list)
    rule: str | None = None  # who wins in a two-way pair: "always salesforce", "set if empty", ...
    owner: str | None = None  # older spelling: owner = "X" is rule = "prefer X unless blank"
    sensitivity: str | None = None  # e.g. "personal", "revenue", "competitive": who may receive it


class _MappingModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    system: str
    object: str
    canonical: str
    lookup: str | None = None
    upsert: str | None = None  # a unique field this file writes: creates become create-or-update by it
    fields: list[_FieldModel]


@dataclass(frozen=True, slots=True)
class FieldMap:
    field: str
    canonical: str
    direction: str
    read: tuple[tuple[str, transforms.Fn], ...]
    write: tuple[tuple[str, transforms.Fn], ...]
    owner: Rule | None  # the field's ownership rule (`rule = ...` in the file), if it states one
    ref: str | None  # kind this field links to, when canonical is a reference
    line: int | None
    sensitivity: str | None = None

    @property
    def reads(self) -> bool:
        return self.direction in ("both", "read")

    @property
    def writes(self) -> bool:
        return self.direction in ("both", "write")


Resolver = Callable[[str, str], Any]  # (kind, value) -> resolved value or None


@dataclass(frozen=True, slots=True)
class Mapping_:
    path: str
    system: str
    object: str
    kind: str
    lookup: str | None
    fields: tuple[FieldMap, ...]
    stages: StageMap | None = None  # deals: (pipeline, stage) pairs go through mappings/stages.toml
    upsert: str | None = None  # the unique field creates are upserted by (docs/decisions.md 14)

    def source_fields(self) -> list[str]:
        """Native fields to ask the connector for when reading (with those a `concat` reads)."""
        names = {f.field for f in self.fields if f.reads and not f.field.startswith(LINK_PREFIX)}
        for f in self.fields:
            if f.reads and f.read and isinstance(f.read[0][1], transforms.Concat):
                names |= set(f.read[0][1].fields)
        return sorted(names)

    def field_for(self, canonical: str) -> FieldMap | None:
        return next((f for f in self.fields if f.canonical == canonical and f.writes), None)

    def sensitivity_of(self, canonical: str) -> tuple[str, FieldMap] | None:
        """The sensitivity class this file tags a canonical field with, and the entry that says so."""
        return next(((f.sensitivity, f) for f in self.fields if f.canonical == canonical and f.sensitivity), None)

    def owner_of(self, canonical: str) -> Rule | None:
        return next((f.owner for f in self.fields if f.canonical == canonical and f.owner), None)

    @property
    def uses_target_lengths(self) -> bool:
        """Some write uses `truncate_to_target`, so a run must read the target's field lengths first."""
        return any(isinstance(fn, transforms.TruncateToTarget) for f in self.fields for _n, fn in f.write)

    def with_target_lengths(self, schema: ObjectSchema) -> Mapping_:
        """This mapping with each `truncate_to_target` bound to its field's length in `schema` (one describe
        per run, not per record). A field the schema gives no length keeps its value whole."""
        lower = {name.lower(): fs for name, fs in schema.fields.items()}
        fields = tuple(dataclasses.replace(f, write=transforms.bind_lengths(
            f.write, getattr(schema.fields.get(f.field) or lower.get(f.field.lower()), "length", None)))
            if f.write else f for f in self.fields)
        return dataclasses.replace(self, fields=fields)

    def truncations(self, canonical: Mapping[str, Any]) -> list[str]:
        """What `truncate_to_target` cuts when these canonical values are written: shown by the dry run."""
        notes = []
        for f in self.fields:
            concat = bool(f.write) and isinstance(f.write[0][1], transforms.Concat)
            if f.writes and f.write and not f.ref and (concat or f.canonical in canonical):
                note = transforms.truncation(f.write, canonical if concat else canonical[f.canonical])
                if note:
                    notes.append(f"{f.field} (mapping line {f.line}): {note}")
        return notes

    def to_canonical(self, record: Record, resolve: Resolver) -> dict[str, Any]:
        """Apply read transforms. Raises RecordError listing every field that failed."""
        out: dict[str, Any] = {}
        reasons: list[str] = []
        code = FailureCode.MAPPING_ERROR
        for f in self.fields:
            if not f.reads:
                continue
            if f.read and isinstance(f.read[0][1], transforms.Concat):
                value: Any = record.fields  # concat reads several fields of the record
            elif f.field.startswith(LINK_PREFIX):
                ids = record.links.get(f.field[len(LINK_PREFIX):], ())
                value = ids[0] if ids else None
            else:
                value = record.fields.get(f.field)
                if value is None and f.field.lower() == "id":
                    value = record.id
            try:
                for _name, fn in f.read:
                    value = fn(value)
            except RecordError as exc:
                code = exc.code
                reasons += [f"{f.field} (mapping line {f.line}): {r}" for r in exc.reasons]
                continue
            if value == "":
                value = None
            if f.ref and value is not None:
                value = resolve(f.ref, str(value))
            out[f.canonical] = value
        if self.stages is not None and not reasons:
            try:
                out.update(self.stages.to_canonical(self.system, out))
            except RecordError as exc:
                code, reasons = exc.code, exc.reasons
        if reasons:
            raise RecordError(code, reasons)
        return out

    def to_native(self, canonical: Mapping[str, Any], resolve: Resolver, context: Mapping[str, Any] | None = None
                  ) -> tuple[dict[str, Any], dict[str, tuple[str, ...]]]:
        """Canonical values -> (fields, links) for a write. Only canonical keys present are written.

        `context`: the record's full canonical values, for the stage map (a stage id needs its pipeline).
        """
        if self.stages is not None:
            canonical = self.stages.to_native(self.system, canonical, context)
        fields: dict[str, Any] = {}
        links: dict[str, tuple[str, ...]] = {}
        reasons: list[str] = []
        code = FailureCode.MAPPING_ERROR
        for f in self.fields:
            concat = f.write[0][1] if f.write and isinstance(f.write[0][1], transforms.Concat) else None
            if not f.writes or (f.canonical not in canonical and not (
                    concat and any(n in canonical for n in concat.fields))):
                continue
            value: Any = canonical if concat else canonical[f.canonical]  # concat reads several fields
            if f.ref and value is not None:
                value = resolve(f.ref, value)
                if value is None:
                    continue  # the linked record is not in this system yet; leave the link alone
            try:
                for _name, fn in f.write:
                    value = fn(value)
            except RecordError as exc:
                code = exc.code
                reasons += [f"{f.field} (mapping line {f.line}): {r}" for r in exc.reasons]
                continue
            if f.field.startswith(LINK_PREFIX):
                if value is not None:
                    links[f.field[len(LINK_PREFIX):]] = (str(value),)
            else:
                fields[f.field] = value
        if reasons:
            raise RecordError(code, reasons)
        return fields, links


def load_mapping(path: str | Path) -> Mapping_:
    f = tomlfile.load(path)
    model = tomlfile.validate(f, _MappingModel)
    if model.canonical not in KINDS:
        raise ConfigError(f"unknown canonical kind `{model.canonical}`", file=str(path),
                          line=f.line_of(["canonical"]), key="canonical",
                          hint=tomlfile.did_you_mean(model.canonical, KINDS) or f"one of {', '.join(KINDS)}")
    kind = KINDS[model.canonical]
    seen_targets: dict[str, int] = {}
    compiled: list[FieldMap] = []
    for i, fm in enumerate(model.fields):
        line = f.line_of(["fields", i])
        if fm.canonical not in kind.fields:
            raise ConfigError(f"`{fm.canonical}` is not a {kind.name} field", file=str(path),
                              line=f.line_of(["fields", i, "canonical"]), key=f"fields[{i}].canonical",
                              hint=tomlfile.did_you_mean(fm.canonical, kind.fields) or
                              f"{kind.name} fields: {', '.join(sorted(kind.fields))}")
        if fm.direction in ("both", "write"):
            field_line = f.line_of(["fields", i, "field"])
            if fm.field in seen_targets:
                raise ConfigError(f"`{fm.field}` is written by two mappings (also line {seen_targets[fm.field]})",
                                  file=str(path), line=field_line, key=f"fields[{i}].field",
                                  hint="keep one, or make one of them direction = \"read\"")
            seen_targets[fm.field] = field_line or 0
        steps = {}
        for which in ("read", "write"):
            built = []
            for j, spec in enumerate(getattr(fm, which)):
                try:
                    built.append(transforms.build(spec))
                except KeyError as exc:
                    name = exc.args[0]
                    raise ConfigError(f"unknown transform `{name}`", file=str(path),
                                      line=f.line_of(["fields", i, which]), key=f"fields[{i}].{which}[{j}]",
                                      hint=tomlfile.did_you_mean(name, transforms.REGISTRY) or
                                      "see mappings/README.md for the list") from None
                except ValueError as exc:
                    raise ConfigError(str(exc), file=str(path), line=f.line_of(["fields", i, which]),
                                      key=f"fields[{i}].{which}[{j}]") from None
            for j, (name, _fn) in enumerate(built):
                if name in transforms.RECORD_TRANSFORMS and j:
                    raise ConfigError(f"{name} must be the first transform of its list", file=str(path),
                                      line=f.line_of(["fields", i, which]), key=f"fields[{i}].{which}[{j}]",
                                      hint=f"move {name} to the start of `{which} = [...]`")
                if name in transforms.WRITE_TRANSFORMS and which == "read":
                    raise ConfigError(f"{name} works only when writing: it cuts to the length of the field "
                                      "written to", file=str(path), line=f.line_of(["fields", i, which]),
                                      key=f"fields[{i}].read[{j}]",
                                      hint="move it to `write = [...]`, or use { truncate = N } on read")
            if which == "write" and built and built[0][0] in transforms.RECORD_TRANSFORMS:
                unknown = [n for n in built[0][1].fields if n not in kind.fields]  # type: ignore[attr-defined]
                if unknown:
                    raise ConfigError(f"concat names `{unknown[0]}`, which is not a {kind.name} field",
                                      file=str(path), line=f.line_of(["fields", i, which]),
                                      key=f"fields[{i}].write[0]",
                                      hint=tomlfile.did_you_mean(unknown[0], kind.fields) or
                                      "on write, concat joins canonical fields")
            steps[which] = tuple(built)
        ref = REF_KIND.get(fm.canonical) if fm.canonical in kind.refs else None
        owner = _owner_rule(f, i, fm, compiled)
        compiled.append(FieldMap(fm.field, fm.canonical, fm.direction, steps["read"], steps["write"], owner,
                                 ref, line, fm.sensitivity))
    if not any(c.canonical == kind.key for c in compiled):
        raise ConfigError(f"no field maps to `{kind.key}`, the key that identifies a {kind.name}",
                          file=str(path), line=f.line_of(["fields"]), key="fields",
                          hint=f"add a [[fields]] entry with canonical = \"{kind.key}\"")
    if model.upsert is not None and not any(c.field == model.upsert and c.writes for c in compiled):
        raise ConfigError(f"upsert names `{model.upsert}`, which this file does not write", file=str(path),
                          line=f.line_of(["upsert"]), key="upsert",
                          hint=tomlfile.did_you_mean(model.upsert, [c.field for c in compiled if c.writes]) or
                          "add a [[fields]] entry writing the key to that unique field, or remove `upsert`")
    return Mapping_(str(path), model.system, model.object, model.canonical, model.lookup, tuple(compiled),
                    upsert=model.upsert)


def _owner_rule(f: tomlfile.TomlFile, i: int, fm: _FieldModel, compiled: list[FieldMap]) -> Rule | None:
    """The entry's ownership rule. Its system is checked against the config by `plan.check_rules`."""
    if fm.rule is not None and fm.owner is not None:
        raise ConfigError("both `rule` and `owner` are set", file=f.path, line=f.line_of(["fields", i, "owner"]),
                          key=f"fields[{i}].owner", hint=f"keep only `rule`; owner = \"{fm.owner}\" meant "
                          f"rule = \"prefer {fm.owner} unless blank\"")
    key, text = ("rule", fm.rule) if fm.rule is not None else ("owner", fm.owner)
    if text is None:
        return None
    line = f.line_of(["fields", i, key])
    if key == "owner":
        if len(text.split()) != 1:
            raise ConfigError(f"`owner` takes one system name, not `{text}`", file=f.path, line=line,
                              key=f"fields[{i}].owner", hint=f"write rule = \"{text}\" (see mappings/README.md)")
        rule = Rule(Policy.PREFER, text.strip(), f.path, line)
    else:
        try:
            rule = Rule.parse(text, f.path, line)
        except RuleSyntaxError as exc:
            raise ConfigError(str(exc), file=f.path, line=line, key=f"fields[{i}].rule", hint=exc.hint) from None
    other = next((c.owner for c in compiled if c.canonical == fm.canonical and c.owner and c.owner != rule), None)
    if other is not None:
        raise ConfigError(f"`{fm.canonical}` already has the rule `{other}` (line {other.line})", file=f.path,
                          line=line, key=f"fields[{i}].{key}", hint="one rule per canonical field: keep one of them")
    return rule


def load_mappings(directory: Path) -> dict[tuple[str, str], Mapping_]:
    """Every `*.toml` under `directory`, keyed by (system, object)."""
    out: dict[tuple[str, str], Mapping_] = {}
    if not directory.is_dir():
        raise ConfigError("mappings folder not found", file=str(directory),
                          hint="set `mappings = \"<folder>\"` in the config")
    for path in sorted(directory.rglob("*.toml")):
        if path.name in ("rules.toml", "stages.toml"):
            continue
        m = load_mapping(path)
        if (m.system, m.object) in out:
            raise ConfigError(f"a second mapping for {m.system}.{m.object} (the first is "
                              f"{out[(m.system, m.object)].path})", file=str(path),
                              line=tomlfile.load(path).line_of(["object"]), key="object",
                              hint="one file per system object: merge the two, or delete one")
        out[(m.system, m.object)] = m
    if (directory / "stages.toml").is_file():  # deal pipelines and stages, shared by every deal mapping
        stage_map = stages.load(directory / "stages.toml")
        out = {k: dataclasses.replace(m, stages=stage_map) if m.kind == "deal" else m for k, m in out.items()}
    return out
