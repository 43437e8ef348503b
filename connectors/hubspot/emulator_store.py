"""The HubSpot emulator's in-memory portal: records, property validation, timestamps and associations.

Callers (the emulator's handlers) hold the emulator's lock; nothing here locks. Validation mirrors what
HubSpot's property validator reports (crm-apis.md B9), so a connector meets the same refusals here as live.
The property catalog is the store's own (`self.properties`): HubSpot's defaults plus this portal's custom
properties, so two emulators in one process never see each other's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from connectors.hubspot import catalog
from connectors.hubspot.catalog import CURSOR, OBJECTS, PIPELINE_BY_ID, SINGULAR, Catalog, default_properties
from connectors.hubspot.wire import (
    PropertyError,
    as_wire,
    bad_request,
    fail,
    iso,
    not_found,
    now_iso,
    parse_instant,
    problem,
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CANONICAL_PAIRS = (("contacts", "companies"), ("deals", "contacts"), ("deals", "companies"))


@dataclass(slots=True)
class StoredRecord:
    id: str
    properties: dict[str, str]
    created_at: str
    updated_at: str
    archived: bool = False
    archived_at: str | None = None


@dataclass(slots=True)
class Portal:
    records: dict[str, dict[str, StoredRecord]] = field(default_factory=lambda: {o: {} for o in OBJECTS})
    # (from object, from id, to object) -> {to id: type ids}; both directions are stored.
    links: dict[tuple[str, str, str], dict[str, set[int]]] = field(default_factory=dict)
    owners: list[dict[str, Any]] = field(default_factory=list)
    last_id: int = 1000


class HubSpotStore:
    """Records and associations of one emulated portal, with HubSpot's write rules."""

    def __init__(self) -> None:
        self.portal = Portal()
        self.properties: Catalog = default_properties()

    def reset(self) -> None:
        self.portal = Portal()
        self.properties = default_properties()

    def add_property(self, obj: str, d: catalog.PropertyDef) -> None:
        if d.name in self.properties[obj]:
            raise fail(409, "CONFLICT", f"Property named '{d.name}' already exists.")
        self.properties[obj][d.name] = d

    # --- ids, lookups ---------------------------------------------------------------------------
    def new_id(self) -> str:
        self.portal.last_id += 1
        return str(self.portal.last_id)

    def note_id(self, record_id: str) -> None:
        if record_id.isdigit():
            self.portal.last_id = max(self.portal.last_id, int(record_id))

    def table(self, obj: str) -> dict[str, StoredRecord]:
        return self.portal.records[obj]

    def find(
        self, obj: str, key: str, *, id_property: str | None = None, archived: bool = False
    ) -> StoredRecord:
        rec = self.lookup(obj, key, id_property=id_property, archived=archived)
        if rec is None:
            raise not_found()
        return rec

    def lookup(
        self, obj: str, key: str, *, id_property: str | None = None, archived: bool = False
    ) -> StoredRecord | None:
        if id_property and id_property != "hs_object_id":
            prop = self.properties[obj].get(id_property)
            if prop is None or not prop.unique:
                raise bad_request(f"{id_property} is not a unique property of {obj}")
            wanted = key.strip().lower()
            return next(
                (
                    r
                    for r in self.table(obj).values()
                    if r.archived == archived and r.properties.get(id_property, "").lower() == wanted
                ),
                None,
            )
        rec = self.table(obj).get(key)
        return rec if rec is not None and rec.archived == archived else None

    def live(self, obj: str) -> list[StoredRecord]:
        return [r for r in self.table(obj).values() if not r.archived]

    # --- validation -----------------------------------------------------------------------------
    def validate(
        self, obj: str, props: dict[str, Any], existing: StoredRecord | None
    ) -> dict[str, str | None]:
        """Normalized values (None clears a property), or `PropertyError` with every problem found."""
        defs, problems, out = self.properties[obj], [], dict[str, str | None]()
        for name, raw in props.items():
            d = defs.get(name)
            if d is None:
                problems.append(problem(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'))
                continue
            if d.read_only or d.calculated:
                problems.append(
                    problem(
                        name, "READ_ONLY_VALUE", f'"{name}" is a read only property; its value cannot be set.'
                    )
                )
                continue
            value = None if raw is None else as_wire(raw)
            if value is None or value == "":
                out[name] = None
                continue
            value, issue = self._check_value(obj, d, value, props, existing)
            if issue:
                problems.append(issue)
            out[name] = value
        if problems:
            raise PropertyError(problems)
        for name, value in out.items():
            if value is not None and defs[name].unique:
                self._unique(obj, name, value, existing)
        return out

    def _check_value(
        self,
        obj: str,
        d: catalog.PropertyDef,
        value: str,
        props: dict[str, Any],
        existing: StoredRecord | None,
    ) -> tuple[str, dict[str, Any] | None]:
        name = d.name
        if name == "email":
            value = value.strip().lower()
            ok = bool(_EMAIL.match(value))
            return value, None if ok else problem(name, "INVALID_EMAIL", f"Email address {value} is invalid")
        if name == "dealstage":
            pid = str(
                props.get("pipeline")
                or (existing.properties.get("pipeline") if existing else "")
                or "default"
            )
            pipeline = PIPELINE_BY_ID.get(pid)
            if pipeline is None or pipeline.stage(value) is None:
                ids = ", ".join(s.id for s in pipeline.stages) if pipeline else ""
                return value, problem(
                    name,
                    "INVALID_OPTION",
                    f"{value} is not a valid pipeline stage ID. "
                    f"Valid options are: pipelineId={pid} : [{ids}]",
                )
            return value, None
        if d.type == "enumeration" and not d.external_options:
            bad = [v for v in value.split(";") if v not in d.options]
            if bad:
                return value, problem(
                    name,
                    "INVALID_OPTION",
                    f"{bad[0]} was not one of the allowed options: [{', '.join(d.options)}]",
                )
        elif d.type == "number":
            try:
                float(value)
            except ValueError:
                return value, problem(name, "INVALID_INTEGER", f"{value} was not a valid number.")
        elif d.type in ("datetime", "date"):
            instant = parse_instant(value)
            if instant is None or (d.type == "date" and instant.timestamp() % 86400):
                return value, problem(
                    name,
                    "INVALID_DATE",
                    f"{value} was not a valid {d.type} (use epoch ms, midnight UTC for dates).",
                )
            return iso(instant), None
        elif d.type == "bool":
            if value.lower() not in ("true", "false"):
                return value, problem(name, "INVALID_BOOLEAN", f"{value} was not a valid boolean.")
            return value.lower(), None
        return value, None

    def _unique(self, obj: str, name: str, value: str, existing: StoredRecord | None) -> None:
        """A `hasUniqueValue` property: another live record holding the value is a 409 CONFLICT. Values
        compare case-insensitively, the way an `idProperty` lookup finds them."""
        other = self.lookup(obj, value, id_property=name)
        if other is not None and (existing is None or other.id != existing.id):
            raise unique_conflict(obj, name, value, other.id)

    def unique_clashes(self, obj: str, rows: list[tuple[StoredRecord, dict[str, str | None]]]) -> None:
        """One batch setting the same unique value on two records: refused before anything is written."""
        seen: dict[tuple[str, str], str] = {}
        for rec, values in rows:
            for name, value in values.items():
                if value is None or not self.properties[obj][name].unique:
                    continue
                holder = seen.setdefault((name, value.lower()), rec.id)
                if holder != rec.id:
                    raise unique_conflict(obj, name, value, holder)

    # --- writes ---------------------------------------------------------------------------------
    def create(
        self,
        obj: str,
        props: dict[str, Any],
        associations: list[dict[str, Any]] | None = None,
        *,
        record_id: str | None = None,
    ) -> StoredRecord:
        values = self.validate(obj, props, None)
        wanted = [self._parse_inline(obj, a) for a in associations or []]
        rec = StoredRecord(record_id or self.new_id(), {}, "", "")
        stamp = now_iso()
        rec.created_at = stamp
        rec.properties.update({"createdate": stamp, "hs_object_id": rec.id})
        if obj == "deals":
            rec.properties["pipeline"] = "default"
        self.table(obj)[rec.id] = rec
        self._apply(obj, rec, values, stamp)
        for to_obj, to_id, type_ids in wanted:
            self.associate(obj, rec.id, to_obj, to_id, type_ids)
        return rec

    def update(self, obj: str, rec: StoredRecord, props: dict[str, Any]) -> StoredRecord:
        self._apply(obj, rec, self.validate(obj, props, rec), now_iso())
        return rec

    def _apply(self, obj: str, rec: StoredRecord, values: dict[str, str | None], stamp: str) -> None:
        for name, value in values.items():
            if value is None:
                rec.properties.pop(name, None)
            else:
                rec.properties[name] = value
        if obj == "deals":
            self.derive_deal(rec)
        self.touch(obj, rec, stamp)

    def touch(self, obj: str, rec: StoredRecord, stamp: str | None = None) -> None:
        rec.updated_at = stamp or now_iso()
        rec.properties[CURSOR[obj]] = rec.updated_at

    @staticmethod
    def derive_deal(rec: StoredRecord) -> None:
        """HubSpot's calculated deal properties follow the stage's metadata."""
        pipeline = PIPELINE_BY_ID.get(rec.properties.get("pipeline", "default"))
        stage = pipeline.stage(rec.properties.get("dealstage", "")) if pipeline else None
        if stage is None:
            return
        rec.properties["hs_deal_stage_probability"] = stage.probability
        rec.properties["hs_is_closed"] = "true" if stage.closed else "false"
        rec.properties["hs_is_closed_won"] = (
            "true" if stage.closed and stage.probability == "1.0" else "false"
        )

    def archive(self, obj: str, rec: StoredRecord) -> None:
        for to_obj in OBJECTS:
            for to_id in list(self.portal.links.get((obj, rec.id, to_obj), {})):
                self.dissociate(obj, rec.id, to_obj, to_id)
        rec.archived, rec.archived_at = True, now_iso()
        rec.updated_at = rec.archived_at

    def merge(self, obj: str, primary: StoredRecord, loser: StoredRecord) -> StoredRecord:
        """The loser's values fill the survivor's blanks, its associations move over, and it is archived."""
        if primary.id == loser.id:
            raise bad_request("Cannot merge an object with itself")
        for name, value in loser.properties.items():
            if (
                name not in primary.properties
                and not self.properties[obj].get(name, catalog.PropertyDef(name, "")).unique
            ):
                primary.properties[name] = value
        for to_obj in OBJECTS:
            for to_id, types in list(self.portal.links.get((obj, loser.id, to_obj), {}).items()):
                keep = {t for t in types if catalog.ASSOC_TYPES[(obj, to_obj, t)].label is None}
                self.associate(obj, primary.id, to_obj, to_id, keep)
        merged = [m for m in primary.properties.get("hs_merged_object_ids", "").split(";") if m]
        primary.properties["hs_merged_object_ids"] = ";".join([*merged, loser.id])
        self.archive(obj, loser)
        self.touch(obj, primary)
        return primary

    # --- associations ---------------------------------------------------------------------------
    def _parse_inline(self, obj: str, spec: dict[str, Any]) -> tuple[str, str, set[int]]:
        """An inline `associations` entry of a create; the target object is implied by the type id."""
        to_id = str((spec.get("to") or {}).get("id", ""))
        type_ids = {int(t.get("associationTypeId", 0)) for t in spec.get("types") or []}
        targets = {
            catalog.ASSOC_TYPES[k].to_object for k in catalog.ASSOC_TYPES if k[0] == obj and k[2] in type_ids
        }
        if len(targets) != 1 or not type_ids:
            raise PropertyError([], message=f"Invalid association type ids {sorted(type_ids)} for {obj}")
        to_obj = targets.pop()
        if self.lookup(to_obj, to_id) is None:
            raise PropertyError([], message=f"The {to_obj} {to_id} to associate with does not exist")
        return to_obj, to_id, type_ids

    def associate(
        self, a_obj: str, a_id: str, b_obj: str, b_id: str, type_ids: set[int] | None, *, touch: bool = True
    ) -> None:
        """Add labels in both directions; None = the default (unlabeled, plus primary from a contact/deal).

        `touch=False` (seeding) keeps the contact's seeded timestamps when its primary company is set.
        """
        pair = catalog.pair_types(a_obj, b_obj)
        if pair is None:
            raise bad_request(f"No association is defined between {a_obj} and {b_obj}")
        if type_ids is None:
            type_ids = {pair.unlabeled} | ({pair.primary} if pair.primary and a_obj != "companies" else set())
        if not type_ids <= pair.all:
            raise bad_request(
                f"Association type ids {sorted(type_ids - pair.all)} are not valid from {a_obj} to {b_obj}"
            )
        if self.lookup(a_obj, a_id) is None or self.lookup(b_obj, b_id) is None:
            raise not_found(f"{a_obj} {a_id} or {b_obj} {b_id} does not exist")
        type_ids = set(type_ids)
        inverse = {catalog.ASSOC_TYPES[(a_obj, b_obj, t)].inverse for t in type_ids}
        if (a_obj, b_obj) not in CANONICAL_PAIRS:  # keep one direction's rules: contact/deal -> other
            a_obj, a_id, b_obj, b_id, type_ids, inverse = b_obj, b_id, a_obj, a_id, inverse, type_ids
        canonical = catalog.pair_types(a_obj, b_obj)
        if canonical is None:  # unreachable: every canonical pair has types
            raise bad_request(f"No association is defined between {a_obj} and {b_obj}")
        type_ids.add(canonical.unlabeled)  # every labelled association also has the unlabeled one
        inverse.add(catalog.ASSOC_TYPES[(a_obj, b_obj, canonical.unlabeled)].inverse)
        if canonical.primary in type_ids:
            self._clear_primary(a_obj, a_id, b_obj, canonical.primary)
        self.portal.links.setdefault((a_obj, a_id, b_obj), {}).setdefault(b_id, set()).update(type_ids)
        self.portal.links.setdefault((b_obj, b_id, a_obj), {}).setdefault(a_id, set()).update(inverse)
        if canonical.primary in type_ids:
            self._primary_changed(a_obj, a_id, b_id, touch=touch)

    def _clear_primary(self, a_obj: str, a_id: str, b_obj: str, primary: int) -> None:
        back = catalog.ASSOC_TYPES[(a_obj, b_obj, primary)].inverse
        for other_id, types in self.portal.links.get((a_obj, a_id, b_obj), {}).items():
            types.discard(primary)
            self.portal.links.get((b_obj, other_id, a_obj), {}).get(a_id, set()).discard(back)

    def _primary_changed(self, a_obj: str, a_id: str, company_id: str | None, *, touch: bool = True) -> None:
        """A contact's primary company shows as `associatedcompanyid`, and changing it is a write."""
        if a_obj != "contacts":
            return
        rec = self.table("contacts").get(a_id)
        if rec is None:
            return
        if company_id is None:
            rec.properties.pop("associatedcompanyid", None)
        else:
            rec.properties["associatedcompanyid"] = company_id
        if touch:
            self.touch("contacts", rec)

    def dissociate(self, a_obj: str, a_id: str, b_obj: str, b_id: str) -> None:
        removed = self.portal.links.get((a_obj, a_id, b_obj), {}).pop(b_id, set())
        self.portal.links.get((b_obj, b_id, a_obj), {}).pop(a_id, None)
        if (a_obj, b_obj) == ("contacts", "companies") and 1 in removed:
            self._primary_changed("contacts", a_id, None)
        elif (a_obj, b_obj) == ("companies", "contacts") and 2 in removed:
            self._primary_changed("contacts", b_id, None)

    def linked(self, obj: str, rec_id: str, to_obj: str) -> list[tuple[str, set[int]]]:
        found = self.portal.links.get((obj, rec_id, to_obj), {})
        return sorted(((k, v) for k, v in found.items() if v), key=lambda kv: _num(kv[0]))

    # --- wire shape -----------------------------------------------------------------------------
    def render(
        self, obj: str, rec: StoredRecord, names: list[str] | None, associations: list[str] | None = None
    ) -> dict[str, Any]:
        """A `SimplePublicObject`: only set values are sent (the spec has no null property values)."""
        wanted = names if names else catalog.DEFAULT_PROPERTIES[obj]
        out: dict[str, Any] = {
            "id": rec.id,
            "properties": {n: rec.properties[n] for n in wanted if n in rec.properties},
            "createdAt": rec.created_at,
            "updatedAt": rec.updated_at,
            "archived": rec.archived,
        }
        if rec.archived_at:
            out["archivedAt"] = rec.archived_at
        assoc: dict[str, Any] = {}
        for raw in associations or []:
            to_obj = catalog.OBJECT_ALIASES.get(raw, raw)
            if to_obj not in OBJECTS:
                continue
            results = [
                {"id": to_id, "type": catalog.ASSOC_TYPES[(obj, to_obj, t)].name}
                for to_id, types in self.linked(obj, rec.id, to_obj)
                for t in sorted(types)
            ]
            if results:
                assoc[raw] = {"results": results}
        if assoc:
            out["associations"] = assoc
        return out


def unique_conflict(obj: str, name: str, value: str, holder: str) -> PropertyError:
    if (obj, name) == ("contacts", "email"):  # HubSpot's own wording for its one default unique property
        message = f"Contact already exists. Existing ID: {holder}"
    else:
        message = f"A {SINGULAR[obj]} with {name}={value} already exists"
    return PropertyError([], category="CONFLICT", status=409, message=message)


def _num(record_id: str) -> tuple[int, str]:
    return (int(record_id), "") if record_id.isdigit() else (1 << 62, record_id)


def sort_key(rec: StoredRecord) -> tuple[int, str]:
    return _num(rec.id)
