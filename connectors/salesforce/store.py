"""The emulator's in-memory org: records per object, id minting, and Salesforce's per-record DML rules.

Every write goes through `create` / `update` / `delete`, which validate like Salesforce (required
fields, types, lengths, restricted picklists, read-only fields, references) and return either a
list of `DmlError`s or an undo callable, so a collections call with `allOrNone` can roll back.
Records are stored in the API's own JSON shape (datetimes as `2026-01-02T03:04:05.000+0000`).
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from connectors.salesforce import describe
from connectors.salesforce.describe import NUMBER_TYPES, OPPORTUNITY_STAGES, SCHEMAS
from connectors.salesforce.values import format_datetime, is_id, make_id, parse_datetime, to18

Row = dict[str, Any]
Undo = Callable[[], object]  # puts back what a write in a failed all-or-none batch did
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_READ_ONLY_MESSAGE = ("Unable to create/update fields: {}. Please check the security settings of this field "
                      "and verify that it is read/write for your profile or permission set.")


@dataclass(frozen=True, slots=True)
class DmlError:
    """One record-level error. Collections call it `statusCode`, top-level bodies `errorCode` (A7 trap)."""

    code: str
    message: str
    fields: tuple[str, ...] = ()

    def per_record(self) -> dict[str, Any]:
        return {"statusCode": self.code, "message": self.message, "fields": list(self.fields)}

    def top_level(self) -> dict[str, Any]:
        return {"message": self.message, "errorCode": self.code, "fields": list(self.fields)}


def _restorer(row: Row) -> Undo:
    """An undo callable putting `row` back as it is now (for allOrNone rollback)."""
    before = dict(row)

    def undo() -> None:
        row.clear()
        row.update(before)
    return undo


ROLLED_BACK = DmlError("ALL_OR_NONE_OPERATION_ROLLED_BACK", "Record rolled back because not all records were "
                       "valid and the request was using AllOrNone header")


@dataclass(slots=True)
class Store:
    records: dict[str, dict[str, Row]] = field(default_factory=lambda: {obj: {} for obj in SCHEMAS})
    serials: Counter[str] = field(default_factory=Counter)
    lock_failures: int = 0  # the next N record writes fail with UNABLE_TO_LOCK_ROW (a fault to inject)
    default_user: str = ""

    def reset(self, now: datetime) -> None:
        """An empty org holding only the API user, who owns whatever is created without an OwnerId."""
        for rows in self.records.values():
            rows.clear()
        self.serials.clear()
        self.lock_failures = 0
        self.default_user = ""
        email = "integration@revhub.example"
        self.seed("User", {"FirstName": "Integration", "LastName": "User", "Alias": "integ",
                           "Username": email, "Email": email}, now)
        self.default_user = next(iter(self.records["User"]))

    def record_type(self, obj: str, record_type_id: Any) -> Row | None:
        """The active record type of `obj` with this id, or None."""
        row = self.get("RecordType", record_type_id) if isinstance(record_type_id, str) else None
        return row if row and row.get("SobjectType") == obj and row.get("IsActive", True) else None

    # --- reading -------------------------------------------------------------------------------
    def new_id(self, obj: str) -> str:
        prefix = describe.KEY_PREFIXES[obj]
        while True:
            self.serials[prefix] += 1
            candidate = make_id(prefix, self.serials[prefix])
            if candidate not in self.records[obj]:
                return candidate

    def get(self, obj: str, record_id: str) -> Row | None:
        rows = self.records.get(obj)
        return rows.get(to18(record_id)) if rows is not None and isinstance(record_id, str) else None

    def find(self, obj: str, name: str, value: Any) -> list[Row]:
        """Live records whose `name` equals `value`, case-insensitively (upsert and uniqueness matching)."""
        wanted = str(value).casefold()
        return [row for row in self.records[obj].values() if not row.get("IsDeleted")
                and row.get(name) is not None and str(row[name]).casefold() == wanted]

    # --- seeding: no validation, so fixtures may hold the messy data real orgs do --------------
    def seed(self, obj: str, raw: Row, now: datetime) -> Row:
        row = {(f.name if (f := describe.field(obj, k)) else k): v
               for k, v in raw.items() if k != "attributes"}
        row["Id"] = to18(row["Id"]) if row.get("Id") else self.new_id(obj)
        stamp = format_datetime(now)
        for name in ("CreatedDate", "LastModifiedDate", "SystemModstamp"):
            fallback = row.get("LastModifiedDate") if name == "SystemModstamp" else None
            value = row.get(name) or fallback or stamp
            row[name] = format_datetime(parse_datetime(value))
        self._defaults(obj, row)
        self._derive(obj, row, set(raw))
        self.records[obj][row["Id"]] = row
        return row

    def _defaults(self, obj: str, row: Row) -> None:
        fields = SCHEMAS[obj]
        defaults = {"IsDeleted": False, "HasOptedOutOfEmail": False, "IsConverted": False, "IsActive": True,
                    "Status": describe.LEAD_STATUSES[0], "OwnerId": self.default_user or None,
                    "CreatedById": self.default_user or None, "LastModifiedById": self.default_user or None}
        for name, value in defaults.items():
            if name in fields and row.get(name) is None and value is not None:
                row[name] = value

    @staticmethod
    def _derive(obj: str, row: Row, given: set[str]) -> None:
        """Fields Salesforce computes: full names, and an opportunity's closed/won/forecast from its stage."""
        if "Name" in SCHEMAS[obj] and not SCHEMAS[obj]["Name"].createable:
            row["Name"] = " ".join(str(row[n]) for n in ("FirstName", "LastName") if row.get(n))
        if obj == "Opportunity" and row.get("StageName") in OPPORTUNITY_STAGES:
            probability, closed, won, forecast = OPPORTUNITY_STAGES[row["StageName"]]
            row.update(IsClosed=closed, IsWon=won, ForecastCategoryName=forecast)
            if "StageName" in given and "Probability" not in given:
                row["Probability"] = probability

    # --- DML -----------------------------------------------------------------------------------
    def create(self, obj: str, values: Row, now: datetime) -> tuple[str, Undo] | list[DmlError]:
        if any(k.lower() == "id" for k in values):
            return [DmlError("INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call",
                             ("Id",))]
        clean = self._validate(obj, values, None)
        if isinstance(clean, list):
            return clean
        if lock := self._lock_failure(""):
            return lock
        row = {"Id": self.new_id(obj), **clean}
        stamp = format_datetime(now)
        row.update(CreatedDate=stamp, LastModifiedDate=stamp, SystemModstamp=stamp)
        self._defaults(obj, row)
        self._derive(obj, row, set(clean))
        self.records[obj][row["Id"]] = row
        return row["Id"], lambda: self.records[obj].pop(row["Id"], None)

    def update(self, obj: str, record_id: str, values: Row,
               now: datetime) -> tuple[str, Undo] | list[DmlError]:
        found = self._existing(obj, record_id)
        if isinstance(found, list):
            return found
        values = {k: v for k, v in values.items() if k.lower() != "id" or to18(str(v)) == found["Id"]}
        clean = self._validate(obj, values, found)
        if isinstance(clean, list):
            return clean
        if lock := self._lock_failure(found["Id"]):
            return lock
        undo = _restorer(found)
        stamp = format_datetime(now)
        found.update(clean, LastModifiedDate=stamp, SystemModstamp=stamp, LastModifiedById=self.default_user)
        self._derive(obj, found, set(clean))
        return found["Id"], undo

    def delete(self, obj: str, record_id: str, now: datetime) -> tuple[str, Undo] | list[DmlError]:
        """Soft delete: the record goes to the recycle bin (queryAll still sees it, IsDeleted = true)."""
        found = self._existing(obj, record_id)
        if isinstance(found, list):
            return found
        if lock := self._lock_failure(found["Id"]):
            return lock
        undo = _restorer(found)
        stamp = format_datetime(now)
        found.update(IsDeleted=True, LastModifiedDate=stamp, SystemModstamp=stamp)
        return found["Id"], undo

    def _existing(self, obj: str, record_id: Any) -> Row | list[DmlError]:
        if not is_id(record_id) or not str(record_id).startswith(describe.KEY_PREFIXES[obj]):
            return [DmlError("MALFORMED_ID", f"{obj} ID: id value of incorrect type: {record_id}", ("Id",))]
        found = self.get(obj, record_id)
        if found is None:
            return [DmlError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ("Id",))]
        if found.get("IsDeleted"):
            return [DmlError("ENTITY_IS_DELETED", "entity is deleted", ())]
        return found

    def _lock_failure(self, record_id: str) -> list[DmlError]:
        if self.lock_failures <= 0:
            return []
        self.lock_failures -= 1
        suffix = f" or 1 records: {record_id}" if record_id else ""
        return [DmlError("UNABLE_TO_LOCK_ROW", f"unable to obtain exclusive access to this record{suffix}")]

    def _validate(self, obj: str, values: Row, existing: Row | None) -> Row | list[DmlError]:
        """Salesforce's checks in its order: unknown fields, read-only fields, required, then each value."""
        fields: dict[str, describe.Field] = {}
        unknown = []
        for key in values:
            f = describe.field(obj, key)
            if f is None:
                unknown.append(key)
            elif f.name != "Id":
                fields[key] = f
        if unknown:
            return [DmlError("INVALID_FIELD", f"No such column '{unknown[0]}' on sobject of type {obj}",
                             tuple(unknown))]
        creating = existing is None
        read_only = [f.name for f in fields.values() if not (f.createable if creating else f.updateable)]
        if read_only:
            message = _READ_ONLY_MESSAGE.format(", ".join(read_only))
            return [DmlError("INVALID_FIELD_FOR_INSERT_UPDATE", message, tuple(read_only))]
        clean = {f.name: values[key] for key, f in fields.items()}
        missing = [f.name for f in SCHEMAS[obj].values() if f.required and clean.get(f.name, None if creating
                   else existing.get(f.name)) in (None, "")]  # type: ignore[union-attr]
        if missing:
            return [DmlError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]",
                             tuple(missing))]
        errors: list[DmlError] = []
        for f in fields.values():
            value, error = self._check_value(obj, f, clean[f.name], existing)
            if error:
                errors.append(error)
            clean[f.name] = value
        if obj == "Opportunity":
            errors += self._check_record_type(clean, existing)
        if obj == "Opportunity" and isinstance(clean.get("Amount"), int | float) and clean["Amount"] < 0:
            # The org's one validation rule, so FIELD_CUSTOM_VALIDATION_EXCEPTION can be exercised.
            errors.append(DmlError("FIELD_CUSTOM_VALIDATION_EXCEPTION", "Amount cannot be negative.",
                                   ("Amount",)))
        return errors or clean

    def _check_record_type(self, clean: Row, existing: Row | None) -> list[DmlError]:
        """An opportunity's record type must exist, and its stage must be one its sales process allows."""
        if "RecordTypeId" not in clean and "StageName" not in clean:
            return []
        rt_id = clean.get("RecordTypeId", existing.get("RecordTypeId") if existing else None)
        rt = self.record_type("Opportunity", rt_id) if rt_id else None
        if rt_id and rt is None:
            return [DmlError("INVALID_CROSS_REFERENCE_KEY", f"Record Type ID: id value of incorrect type: {rt_id}",
                             ("RecordTypeId",))]
        stage = clean.get("StageName", existing.get("StageName") if existing else None)
        if rt and stage and stage not in describe.stage_values(rt["DeveloperName"]):
            return [DmlError("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                             f"Stage: bad value for restricted picklist field: {stage}", ("StageName",))]
        return []

    def _check_value(self, obj: str, f: describe.Field, value: Any,
                     existing: Row | None) -> tuple[Any, DmlError | None]:
        if value is None or value == "":
            return None, None
        label, t = f.label, f.type
        bad_type = DmlError("INVALID_TYPE_ON_FIELD_IN_RECORD",
                            f"{label}: value not of required type: {value}", (f.name,))
        if t in NUMBER_TYPES:
            try:
                number = float(value) if not isinstance(value, bool) else None
            except (TypeError, ValueError):
                number = None
            if number is None:
                return value, bad_type
            return (int(number) if t == "int" else number), None
        if t == "boolean":
            if isinstance(value, bool):
                return value, None
            if str(value).lower() in ("true", "false"):
                return str(value).lower() == "true", None
            return value, bad_type
        if t in ("date", "datetime"):
            try:
                if t == "date":
                    return date.fromisoformat(str(value)[:10]).isoformat(), None
                return format_datetime(parse_datetime(str(value))), None
            except ValueError:
                return value, bad_type
        if not isinstance(value, str):
            return value, bad_type
        if t == "reference":
            return self._check_reference(f, value)
        if f.length and len(value) > f.length:
            return value, DmlError("STRING_TOO_LONG", f"{label}: data value too large: {value} "
                                   f"(max length={f.length})", (f.name,))
        if t == "email" and not _EMAIL.match(value):
            return value, DmlError("INVALID_EMAIL_ADDRESS", f"{label}: invalid email address: {value}",
                                   (f.name,))
        if t == "picklist" and f.restricted and value not in f.picklist:
            return value, DmlError("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                                   f"{label}: bad value for restricted picklist field: {value}", (f.name,))
        if f.unique:
            clash = [r for r in self.find(obj, f.name, value)
                     if existing is None or r["Id"] != existing["Id"]]
            if clash:
                message = (f"duplicate value found: {f.name} duplicates value on record with id: "
                           f"{clash[0]['Id']}")
                return value, DmlError("DUPLICATE_VALUE", message, (f.name,))
        return value, None

    def _check_reference(self, f: describe.Field, value: str) -> tuple[Any, DmlError | None]:
        prefixes = {describe.KEY_PREFIXES.get(t, "00G" if t == "Group" else "") for t in f.reference_to}
        if not is_id(value) or value[:3] not in prefixes:
            return value, DmlError("MALFORMED_ID", f"{f.label}: id value of incorrect type: {value}",
                                   (f.name,))
        target = next((t for t in f.reference_to if describe.KEY_PREFIXES.get(t) == value[:3]), None)
        if target is None:  # a Group/Queue owner: not stored by the emulator, accepted as Salesforce would
            return to18(value), None
        found = self.get(target, value)
        if found is None:
            return value, DmlError("INVALID_CROSS_REFERENCE_KEY", f"{f.label}: invalid cross reference id",
                                   (f.name,))
        if found.get("IsDeleted"):
            return value, DmlError("ENTITY_IS_DELETED", "entity is deleted", (f.name,))
        return to18(value), None
