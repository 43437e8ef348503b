"""`revhub check --remote`: every mapped field checked against the live schema (describe / properties API).

Run before a sync, so a mapping that names a field the CRM does not have, writes a read-only field or
sends a stage the picklist refuses is reported with its file:line instead of failing record by record.
What is checked follows crm-apis.md A12 (Salesforce describe) and B11 (HubSpot properties).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from connectors.base import FieldSchema, ObjectSchema
from sync_engine import stages, tomlfile
from sync_engine.app import App
from sync_engine.errors import ConfigError, ConnectorError, FailureCode, RecordError
from sync_engine.mapping import LINK_PREFIX, FieldMap, Mapping_
from sync_engine.validate import Rule

__all__ = ["Problem", "check_remote"]

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding, located like a ConfigError: file:line, the key, what is wrong and how to fix it."""

    file: str
    line: int | None
    key: str
    severity: Severity
    message: str
    hint: str = ""

    def render(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        text = f"{where}: {self.severity}: " + (f"{self.key}: " if self.key else "") + self.message
        return text + (f"\n  hint: {self.hint}" if self.hint else "")

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


# -- what a value is, on each side ------------------------------------------------------------------

# The canonical model has names, not types; what each canonical field holds, for the type check.
CANONICAL_TYPES: dict[str, str] = {
    "email": "text", "first_name": "text", "last_name": "text", "phone": "text", "title": "text",
    "domain": "text", "name": "text", "website": "text", "source_key": "text",
    "lifecycle_stage": "choice", "industry": "choice", "stage": "choice", "pipeline": "choice",
    "deal_type": "choice", "employees": "number", "amount": "number", "close_date": "date",
    "company": "ref", "contact": "ref", "owner": "owner", "amount_change_reason": "text", "activity_count": "number",
}
# Vendor field type -> family (Salesforce A12 `type`; HubSpot B11 property `type`).
TARGET_TYPES: dict[str, str] = {
    "string": "text", "textarea": "text", "email": "text", "url": "text", "phone": "text",
    "encryptedstring": "text", "phone_number": "text", "combobox": "text",
    "picklist": "choice", "multipicklist": "choice", "enumeration": "choice",
    "int": "number", "double": "number", "currency": "number", "percent": "number", "number": "number",
    "date": "date", "datetime": "datetime", "boolean": "bool", "bool": "bool",
    "reference": "ref", "id": "ref",
}
_OK: Severity | None = None
_DOUBT: Severity = "warning"
_NO: Severity = "error"
# value family -> target family -> None (fine), "warning" (doubtful) or "error" (cannot work).
COMPATIBLE: dict[str, dict[str, Severity | None]] = {
    "text": {"text": _OK, "choice": _OK, "number": _DOUBT, "date": _DOUBT, "datetime": _DOUBT, "bool": _DOUBT,
             "ref": _NO},
    "choice": {"text": _OK, "choice": _OK, "number": _DOUBT, "date": _NO, "datetime": _NO, "bool": _DOUBT,
               "ref": _NO},
    "number": {"text": _OK, "choice": _DOUBT, "number": _OK, "date": _NO, "datetime": _NO, "bool": _DOUBT,
               "ref": _NO},
    "date": {"text": _OK, "choice": _NO, "number": _NO, "date": _OK, "datetime": _OK, "bool": _NO, "ref": _NO},
    "bool": {"text": _OK, "choice": _DOUBT, "number": _DOUBT, "date": _NO, "datetime": _NO, "bool": _OK,
             "ref": _NO},
    "ref": {"text": _DOUBT, "choice": _DOUBT, "number": _DOUBT, "date": _NO, "datetime": _NO, "bool": _NO,
            "ref": _OK},
    "owner": {"text": _OK, "choice": _OK, "number": _DOUBT, "date": _NO, "datetime": _NO, "bool": _NO,
              "ref": _OK},
}
# How a message names each family of values, for a RevOps reader.
FAMILY_WORDS = {"text": "text", "choice": "a picklist value", "number": "a number", "date": "a date",
                "bool": "yes/no", "ref": "a link to another record", "owner": "an owner"}
# What a write transform turns the value into; transforms not listed keep the family
# (`to_string` too: HubSpot takes every value as text, B11).
TRANSFORM_TYPES = {"to_number": "number", "to_int": "number", "to_bool": "bool", "date": "date",
                   "parse_date": "date", "map_values": "choice", "concat": "text", "split_full_name": "text"}
TRUNCATE = ("truncate", "truncate_to_target")
# Fields a system needs on create that its schema API does not flag as required (B11: a deal needs these).
CREATE_REQUIRED = {("hubspot", "deals"): ("dealname", "dealstage", "pipeline")}
VENDOR_NAMES = {"hubspot": "HubSpot", "salesforce": "Salesforce"}


def check_remote(app: App) -> list[Problem]:
    """Describe each object a pipeline uses (once) and check its mapping against it. Never raises for a
    connector failure: an unreachable or refusing system becomes one Problem naming its code and runbook."""
    roles: dict[tuple[str, str], set[str]] = {}
    for p in app.config.pipelines.values():
        roles.setdefault((p.source_system, p.source_object), set()).add("source")
        roles.setdefault((p.target_system, p.target_object), set()).add("target")
    try:
        connectors = app.connectors
    except ConfigError as exc:
        return [Problem(exc.file, exc.line, exc.key, "error", exc.message, exc.hint)]
    problems: list[Problem] = []
    down: set[str] = set()
    for (system, obj), used_as in roles.items():
        if system in down or (system, obj) not in app.mappings:
            continue
        mapping = app.mappings[(system, obj)]
        vendor = app.config.systems[system].connector
        try:
            schema = connectors[system].describe(obj)
        except KeyError:  # the connector does not handle this object at all
            known = list(getattr(connectors[system], "objects", {}))
            problems.append(_at_key(mapping, "object", "error", f"revhub's {_vendor(vendor)} connector does not "
                                    f"sync `{obj}`", tomlfile.did_you_mean(obj, known) or
                                    "objects it syncs: " + ", ".join(known)))
            continue
        except ConnectorError as exc:
            if exc.code is FailureCode.RECORD_NOT_FOUND:
                problems.append(_at_key(mapping, "object", "error", f"{_vendor(vendor)} has no object `{obj}`",
                                        "check the spelling against the object's API name"))
                continue
            down.add(system)
            problems.append(_system_down(app, system, vendor, exc))
            continue
        checker = _MappingCheck(mapping, schema, vendor, app.rules, _rules_name(app))
        problems += checker.run(reads="source" in used_as, writes="target" in used_as)
        if mapping.stages is not None:
            problems += _check_stage_map(mapping, connectors[system], vendor)
    return sorted(problems, key=lambda p: (p.file, p.line or 0, p.severity != "error", p.key))


def _check_stage_map(mapping: Mapping_, connector: Any, vendor: str) -> list[Problem]:
    """mappings/stages.toml against the live pipelines: HubSpot's pipelines API, Salesforce's record types
    and the StageNames each allows (UI API picklist values per record type)."""
    assert mapping.stages is not None
    live_of = getattr(connector, "pipeline_stages", None)
    if live_of is None:
        return []
    try:
        live = live_of(mapping.object)
    except ConnectorError as exc:
        return [Problem(mapping.stages.path, None, "pipelines", "error", f"could not read {_vendor(vendor)}'s "
                        f"pipelines: {exc.code.value}: {exc.message}", f"follow {exc.code.runbook}")]
    return [Problem(mapping.stages.path, p.line, p.key, "error", p.message, p.hint)
            for p in stages.check_live(mapping.stages, mapping.system, _vendor(vendor), live)]


def _vendor(connector: str) -> str:
    return VENDOR_NAMES.get(connector, connector)


def _rules_name(app: App) -> str:
    path = app.config.rules_file
    if path is None:
        return "mappings/rules.toml"
    try:
        return str(path.relative_to(app.config.path.parent))
    except ValueError:
        return str(path)


def _system_down(app: App, system: str, vendor: str, exc: ConnectorError) -> Problem:
    line = tomlfile.load(app.config.path).line_of(["systems", system]) if app.config.path.exists() else None
    return Problem(str(app.config.path), line, f"systems.{system}", "error",
                   f"could not read {_vendor(vendor)}'s schema: {exc.code.value}: {exc.message}",
                   f"follow {exc.code.runbook}; nothing of {system} was checked")


def _at_key(mapping: Mapping_, key: str, severity: Severity, message: str, hint: str) -> Problem:
    line = tomlfile.load(mapping.path).line_of([key]) if Path(mapping.path).exists() else None
    return Problem(mapping.path, line, key, severity, message, hint)


class _MappingCheck:
    """The checks of one mapping file against one object's schema."""

    def __init__(self, mapping: Mapping_, schema: ObjectSchema, vendor: str, rules: Sequence[Rule],
                 rules_name: str) -> None:
        self.m, self.schema, self.vendor, self.rules, self.rules_name = mapping, schema, vendor, rules, rules_name
        self.file = tomlfile.load(mapping.path)
        self.system = _vendor(vendor)
        self.problems: list[Problem] = []

    def run(self, *, reads: bool, writes: bool) -> list[Problem]:
        if self.m.lookup and self._field(self.m.lookup) is None:
            self._add(["lookup"], "lookup", "error", f"the lookup field `{self.m.lookup}` does not exist on "
                      f"{self.system} {self.m.object}", self._suggest(self.m.lookup))
        for i, f in enumerate(self.m.fields):
            if f.field.startswith(LINK_PREFIX) or (self.vendor == "salesforce" and f.field == "Id"):
                continue
            rel = self._field(f.field.partition(".")[0] + "Id") if "." in f.field else None
            if self.m.stages is not None and rel is not None and rel.type == "reference":
                continue  # a parent's field (RecordType.DeveloperName): the stage map check covers it
            target = self._field(f.field)
            if target is None:
                self._add(["fields", i], f"fields[{i}].field", "error", f"`{f.field}` is not a field of "
                          f"{self.system} {self.m.object} (mapped to {f.canonical})", self._suggest(f.field))
                continue
            if reads and f.reads:
                self._check_read(i, f, target, typed=not (writes and f.writes))
            if writes and f.writes:
                self._check_write(i, f, target)
        if writes:
            self._check_required()
        return self.problems

    # -- helpers -----------------------------------------------------------------------------------
    def _field(self, name: str) -> FieldSchema | None:
        return self.schema.fields.get(name)

    def _suggest(self, name: str) -> str:
        names = list(self.schema.fields)
        folded = {n.lower(): n for n in names}
        close = f"did you mean `{folded[name.lower()]}`? (names are exact)" if name.lower() in folded else \
            tomlfile.did_you_mean(name, names)
        return close or f"look the API name up in {self.system}'s settings for {self.m.object}"

    def _add(self, loc: list[str | int], key: str, severity: Severity, message: str, hint: str = "") -> None:
        """`loc` is a key path in the file: ["fields", i] is that entry's [[fields]] line (FieldMap.line)."""
        field_line = self.m.fields[int(loc[1])].line if len(loc) >= 2 and loc[0] == "fields" else None
        line = field_line if len(loc) == 2 else self.file.line_of(loc) or field_line
        self.problems.append(Problem(self.m.path, line, key, severity, message, hint))

    def _steps(self, i: int, which: str) -> list[Any]:
        entries = self.file.data.get("fields") or []
        raw = entries[i].get(which, []) if i < len(entries) and isinstance(entries[i], dict) else []
        return raw if isinstance(raw, list) else []

    def _label(self, target: FieldSchema) -> str:
        return f"`{target.name}`" + (f" ({target.label})" if target.label and target.label != target.name else "")

    # -- reading: the source field's values must reach the canonical field ------------------------
    def _check_read(self, i: int, f: FieldMap, target: FieldSchema, *, typed: bool) -> None:
        """`typed`: check the type here (a field revhub also writes gets the stricter write check)."""
        if f.read and f.read[0][0] == "concat":
            fields = getattr(f.read[0][1], "fields", ())
            for name in [n for n in fields if self._field(n) is None]:
                self._add(["fields", i, "read"], f"fields[{i}].read[0]", "error",
                          f"concat reads `{name}`, which is not a field of {self.system} {self.m.object}",
                          self._suggest(name))
            return
        family = TARGET_TYPES.get(target.type.lower(), "other")
        converted = any(name in TRANSFORM_TYPES for name, _ in f.read)
        canonical = CANONICAL_TYPES.get(f.canonical, "text")
        verdict = COMPATIBLE.get(canonical, {}).get(family) if family != "other" else _DOUBT
        if typed and verdict and not converted and not (family == "ref" and canonical == "text"):
            self._add(["fields", i], f"fields[{i}].field", "warning",
                      f"{self.system} {self._label(target)} is a {target.type} field, but {f.canonical} holds "
                      f"{FAMILY_WORDS.get(canonical, canonical)}",
                      "add a read transform that converts it (to_number, date, ...), or map another field")
        steps = self._steps(i, "read")
        first = steps[0] if steps else None
        if not target.picklist or not (isinstance(first, dict) and "map_values" in first):
            return
        table = first["map_values"] if isinstance(first["map_values"], dict) else {}
        folded = {str(k).lower() for k in table}
        missing = [v for v in target.picklist if v not in table and v.lower() not in folded]
        policy = first.get("unknown", "keep")
        if missing:
            after = next(iter(_apply_all([fn for _n, fn in f.read[1:]], None)), None)  # what `empty` turns into
            fate = {"quarantine": "records holding them are quarantined",
                    "empty": "they are read as empty" if after is None else f"they are read as `{after}`"
                    }.get(policy, "they pass through unchanged")
            self._add(["fields", i, "read"], f"fields[{i}].read", "warning",
                      f"{self.system} {self._label(target)} has values the value map does not list: "
                      f"{_names(missing)}; {fate}", "add them to map_values on the read side")
        values = {v.lower() for v in target.picklist}
        for key in [str(k) for k in table if str(k).lower() not in values]:
            self._add(["fields", i, "read"], f"fields[{i}].read", "warning",
                      f"map_values lists `{key}`, which is not a value of {self.system} {self._label(target)}",
                      tomlfile.did_you_mean(key, target.picklist) or "remove it, or check the spelling")

    # -- writing: the target must accept what revhub sends ----------------------------------------
    def _check_write(self, i: int, f: FieldMap, target: FieldSchema) -> None:
        where: list[str | int] = ["fields", i]
        key, label = f"fields[{i}].field", self._label(target)
        if not target.createable and not target.updateable:
            self._add(where, key, "error", f"{self.system} {label} is read-only (calculated or set by "
                      f"{self.system} itself): revhub cannot write it", 'make the field direction = "read", '
                      "or map a field people can edit")
            return
        if not target.updateable:
            self._add(where, key, "warning", f"{self.system} {label} can be set when revhub creates a record, "
                      "but not changed afterwards: updates will leave it as it was",
                      f"fine if only new records need it; else ask a {self.system} admin to make it editable")
        elif not target.createable:
            self._add(where, key, "warning", f"{self.system} {label} cannot be set on a new record, only on "
                      "updates: records revhub creates will have it empty",
                      "fine if revhub only updates these records; else map a field that can be set on create")
        family = TARGET_TYPES.get(target.type.lower(), "other")
        value = CANONICAL_TYPES.get(f.canonical, "text")
        for name, _fn in f.write:
            value = TRANSFORM_TYPES.get(name, value)
        verdict = COMPATIBLE.get(value, {}).get(family) if family != "other" else _DOUBT
        if verdict:
            self._add(where, key, verdict, f"{self.system} {label} is a {target.type} field; {f.canonical} "
                      f"{'becomes' if f.write else 'is'} {FAMILY_WORDS.get(value, value)}, which it "
                      f"{'cannot hold' if verdict == _NO else 'may refuse'}",
                      "map a field of the matching type, or convert the value with a write transform "
                      "(to_number, to_bool, date, map_values)")
            if verdict == _NO:
                return
        produced, open_ended = self._produced(i, f)
        if family == "choice" and target.picklist and not (self.m.stages and f.canonical in ("stage", "pipeline")):
            self._check_picklist(i, f, target, produced, open_ended)
        if family == "text" and target.length:
            self._check_length(i, f, target, produced, open_ended)

    def _produced(self, i: int, f: FieldMap) -> tuple[set[str], bool]:
        """The values the write transforms can send, and whether other values (unknown ones) get through."""
        known: set[Any] = set()
        open_ended = True
        for (name, fn), spec in zip(f.write, self._steps(i, "write"), strict=False):
            if name == "map_values" and isinstance(spec, dict) and isinstance(spec.get("map_values"), dict):
                table = spec["map_values"]
                known = set(_apply(fn, known)) | set(table.values())
                open_ended = open_ended and spec.get("unknown", "keep") == "keep"
            elif name == "default" and isinstance(spec, dict):
                known = set(_apply(fn, known)) | {spec.get("default")}
            else:
                known = set(_apply(fn, known))
        return {str(v) for v in known if v not in (None, "")}, open_ended

    def _check_picklist(self, i: int, f: FieldMap, target: FieldSchema, produced: set[str],
                        open_ended: bool) -> None:
        label = self._label(target)
        has_map = any(name == "map_values" for name, _ in f.write)
        missing = sorted(v for v in produced if v not in target.picklist)
        if missing:
            hints = [f"`{v}`: {tomlfile.did_you_mean(v, target.picklist)}" for v in missing
                     if tomlfile.did_you_mean(v, target.picklist)]
            self._add(["fields", i, "write"], f"fields[{i}].write", "error",
                      f"map_values can write {_names(missing)}, which {'is' if len(missing) == 1 else 'are'} not "
                      f"{'a value' if len(missing) == 1 else 'values'} of {self.system} {label}",
                      "; ".join(hints) or f"{self.system} accepts: {_names(target.picklist, 12)}")
        if not has_map:
            self._add(["fields", i], f"fields[{i}].field", "warning",
                      f"{self.system} {label} is a picklist and revhub writes {f.canonical} into it as is: "
                      "a value not in its list may be refused", "add a write map_values with unknown = "
                      f"\"quarantine\"; {self.system} accepts: {_names(target.picklist, 12)}")
        elif open_ended:
            self._add(["fields", i, "write"], f"fields[{i}].write", "warning",
                      f"values missing from the value map are written to {self.system} {label} unchanged "
                      "(unknown = \"keep\") and may be refused", 'set unknown = "quarantine" or "empty"')

    def _check_length(self, i: int, f: FieldMap, target: FieldSchema, produced: set[str],
                      open_ended: bool) -> None:
        label, length = self._label(target), target.length or 0
        cut = next((spec[name] for spec in self._steps(i, "write") if isinstance(spec, dict)
                    for name in TRUNCATE if name in spec), None)
        if isinstance(cut, int) and not isinstance(cut, bool):
            if cut > length:
                self._add(["fields", i, "write"], f"fields[{i}].write", "warning",
                          f"truncate keeps {cut} characters, but {self.system} {label} holds at most {length}",
                          f"write {{ truncate = {length} }}")
            return
        if open_ended or any(len(v) > length for v in produced):
            self._add(["fields", i], f"fields[{i}].field", "warning",
                      f"{self.system} {label} holds at most {length} characters; a longer {f.canonical} "
                      "will be refused", f"add {{ truncate = {length} }} to `write`, or a length rule in "
                      f"{self.rules_name}")

    # -- creating: what the target needs on every new record --------------------------------------
    def _check_required(self) -> None:
        needed = [n for n, fs in self.schema.fields.items() if fs.required]
        needed += [n for n in CREATE_REQUIRED.get((self.vendor, self.m.object), ()) if n not in needed]
        written = {f.field: f for f in self.m.fields if f.writes}
        for name in needed:
            target = self._field(name)
            label = self._label(target) if target else f"`{name}`"
            f = written.get(name)
            if f is None:
                self._add(["fields"], "fields", "warning", f"{self.system} needs {label} on every new "
                          f"{self.m.object} record, and no field of this mapping writes it: records revhub "
                          "creates will be refused", f"add a [[fields]] entry with field = \"{name}\", then a required "
                          f"rule for it in {self.rules_name}")
            elif not self._has_required_rule(f.canonical):
                i = self.m.fields.index(f)
                self._add(["fields", i], f"fields[{i}].field", "warning",
                          f"{self.system} needs {label} on every new {self.m.object} record; one without "
                          f"{f.canonical} would be refused by {self.system} instead of quarantined by revhub",
                          f"add a rule to {self.rules_name}:" + _rule_snippet(self.m, f.canonical, self.system))

    def _has_required_rule(self, canonical: str) -> bool:
        return any(r.kind == self.m.kind and r.field == canonical and r.check == "required"
                   and r.condition is None and (not r.targets or self.m.system in r.targets) for r in self.rules)


def _rule_snippet(m: Mapping_, canonical: str, system: str) -> str:
    lines = ["[[rules]]", f'id = "{m.kind}-{canonical.replace("_", "-")}-required-by-{m.system}"',
             f'kind = "{m.kind}"', f'field = "{canonical}"', 'check = "required"',
             f'message = "{system} requires {canonical.replace("_", " ")} to create a record"',
             f'targets = ["{m.system}"]', 'when = "create"']
    return "".join("\n    " + line for line in lines)


def _apply_all(fns: Sequence[Any], value: Any) -> Iterator[Any]:
    """`value` through every function in turn; nothing if one of them refuses it."""
    for fn in fns:
        try:
            value = fn(value)
        except (RecordError, TypeError, ValueError):
            return
    yield value


def _apply(fn: Any, values: Iterable[Any]) -> Iterator[Any]:
    for v in values:
        try:
            yield fn(v)
        except (RecordError, TypeError, ValueError):
            continue


def _names(values: Iterable[str], limit: int = 8) -> str:
    items = list(values)
    shown = ", ".join(f"`{v}`" for v in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
