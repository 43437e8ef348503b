"""The Salesforce connector: SOQL reads by SystemModstamp, lookups, sObject Collections writes, describe.

Built on simple-salesforce in direct session mode (no login call; crm-apis.md A2), with the session
from `connectors.http.make_session`, so every call has a timeout and a local emulator's CA is trusted
(A3). Collections have no simple-salesforce wrapper, so writes go through `sf.restful` (A7).
"""
from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, ClassVar, TypeVar

import requests
import urllib3
from simple_salesforce import Salesforce, format_soql

from connectors.base import (
    Connector,
    ConnectorSettings,
    FieldSchema,
    Merge,
    ObjectSchema,
    ObjectSpec,
    Record,
    WriteOp,
    WriteResult,
)
from connectors.errors import ConnectorError, FailureCode
from connectors.http import make_session
from connectors.retry import RetryBounds, call_with_retry, tag
from connectors.salesforce import merges
from connectors.salesforce.errors import record_error, to_connector_error
from connectors.salesforce.values import parse_datetime

T = TypeVar("T")
BATCH = 200  # sObject Collections cap per call
LOOKUP_CHUNK_CHARS = 4000  # per query's WHERE clause: SOQL allows 100k, but a GET URL tops out near 16k
LOCK_RETRIES = 3
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class _NotRetried(Exception):
    """A failure a retry could duplicate (a create whose answer was lost); raised as its `error`."""

    def __init__(self, error: ConnectorError) -> None:
        super().__init__(error.message)
        self.error = error


class SalesforceConnector(Connector):
    """Salesforce over REST. Options: `ca_file` (a PEM to trust, e.g. the emulator's), `api_version`,
    and the retry bounds `retry_attempts`, `retry_base_wait`, `retry_max_wait`, `retry_total` (RetryBounds)."""

    system: ClassVar[str] = "salesforce"
    # Merged-away records leave the recycle bin, and with them the `MasterRecordId`, after ~15 days.
    merge_memory: ClassVar[timedelta | None] = timedelta(days=15)
    objects: ClassVar[dict[str, ObjectSpec]] = {
        name: ObjectSpec(name, "SystemModstamp", BATCH)
        for name in ("Contact", "Account", "Opportunity", "Lead")
    }

    def __init__(self, settings: ConnectorSettings) -> None:
        super().__init__(settings)
        self._sf: Salesforce | None = None
        self._bounds = RetryBounds.from_options(settings.options, settings.system)
        self._schemas: dict[str, ObjectSchema] = {}
        self._record_types: dict[str, dict[str, str]] = {}  # object -> DeveloperName (lower) -> RecordTypeId
        self._record_type_misses: set[tuple[str, str]] = set()  # names looked up again after a miss

    @property
    def sf(self) -> Salesforce:
        """The simple-salesforce client, built on first use (direct session mode does no I/O either)."""
        if self._sf is None:
            options = self.settings.options
            self._sf = Salesforce(
                instance_url=self.settings.base_url, session_id=self.settings.token.reveal(),
                session=make_session(self.settings.timeout, verify=options.get("ca_file", True)),
                version=str(options.get("api_version", "59.0")),
            )
        return self._sf

    @property
    def api_usage(self) -> tuple[int, int] | None:
        """(used, max) of the org's daily API allocation, from the last `Sforce-Limit-Info` header seen."""
        usage = self._sf.api_usage.get("api-usage") if self._sf is not None else None
        return (usage.used, usage.total) if usage is not None else None

    def close(self) -> None:
        if self._sf is not None:
            self._sf.session.close()

    # --- plumbing ------------------------------------------------------------------------------
    def _call(self, kind: str, fn: Callable[[], T], *, idempotent: bool = True) -> T:
        """One API call: counted per attempt, errors classified, transient ones retried (bounded)."""
        def attempt() -> T:
            if kind == "read":
                self.calls.read += 1
            else:
                self.calls.write += 1
            try:
                return fn()
            except Exception as exc:
                error = to_connector_error(exc)
                if error is None:
                    raise
                if not idempotent and _maybe_delivered(exc):
                    raise _NotRetried(error) from exc
                raise error from exc
        b, system = self._bounds, self.settings.system
        try:
            return call_with_retry(attempt, attempts=b.attempts, base_wait=b.base_wait, max_wait=b.max_wait,
                                   total=b.total, system=system)
        except _NotRetried as stop:
            tag(stop.error, system)
            raise stop.error from stop.__cause__

    def _pages(self, soql: str) -> Iterator[list[dict[str, Any]]]:
        """Each page of a query, following `nextRecordsUrl` (a path, crm-apis.md A4)."""
        page = self._call("read", lambda: self.sf.query(soql))
        while True:
            yield [dict(r) for r in page["records"]]
            if page.get("done", True) or not page.get("nextRecordsUrl"):
                return
            url = page["nextRecordsUrl"]
            page = self._call("read", partial(self.sf.query_more, url, identifier_is_url=True))

    def _spec(self, object: str) -> str:
        if object not in self.objects:
            raise ConnectorError(FailureCode.CONFIG_ERROR,
                                 f"salesforce syncs {sorted(self.objects)}, not {object!r}")
        return object

    def _fields(self, object: str, names: Sequence[str]) -> list[str]:
        """Field names checked against describe: SOQL cannot take names as parameters (crm-apis.md A5)."""
        known = {n.lower(): n for n in self.describe(object).fields}
        out: list[str] = []
        for name in names:
            canonical = known.get(name.lower())
            lookup = known.get(name.partition(".")[0].lower() + "id") if "." in name else None
            if canonical is None and lookup and self.describe(object).fields[lookup].type == "reference":
                canonical = name  # a parent's field through its lookup, e.g. RecordType.DeveloperName (A5)
            if canonical is None:
                raise ConnectorError(FailureCode.SCHEMA_DRIFT, f"{object} has no field {name!r} (describe)",
                                     vendor_code="INVALID_FIELD")
            if canonical not in out:
                out.append(canonical)
        return out

    def _record(self, object: str, raw: dict[str, Any]) -> Record:
        fields = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items() if k != "attributes"}
        for rel, parent in raw.items():  # a parent's fields (`RecordType.DeveloperName`) also under their dotted name
            if isinstance(parent, dict) and "attributes" in parent:
                fields.update({f"{rel}.{k}": v for k, v in parent.items() if k != "attributes"})
        return Record(object=object, id=str(raw["Id"]), fields=fields,
                      modified_at=parse_datetime(str(raw["SystemModstamp"])),
                      deleted=bool(raw.get("IsDeleted")))

    # --- the Connector interface ---------------------------------------------------------------
    def check(self) -> None:
        limits = self._call("read", lambda: self.sf.limits())
        daily = (limits or {}).get("DailyApiRequests") or {}
        if daily.get("Max") and daily.get("Remaining", 1) <= 0:
            raise ConnectorError(FailureCode.DAILY_QUOTA_EXHAUSTED,
                                 f"no daily API requests left (max {daily['Max']})")

    def read(self, object: str, since: datetime | None, fields: Sequence[str]) -> Iterator[list[Record]]:
        columns = self._fields(self._spec(object), ["Id", "SystemModstamp", *fields])
        soql = _select(columns, object)
        aware: datetime | None = None
        if since is not None:
            # Naive means UTC here: format_soql would read it as local time (crm-apis.md A5).
            aware = since.replace(tzinfo=UTC) if since.tzinfo is None else since.astimezone(UTC)
            soql += format_soql(" WHERE SystemModstamp >= {}", aware)
        soql += " ORDER BY SystemModstamp, Id"
        for page in self._pages(soql):
            records = [self._record(object, raw) for raw in page]
            # format_soql drops the milliseconds (A5), so the query starts at the whole second: drop what
            # was stamped earlier in that second, as `since` is "at or after".
            yield records if aware is None else [r for r in records if r.modified_at >= aware]

    def lookup(self, object: str, field: str, values: Sequence[str], fields: Sequence[str] = ()) -> list[Record]:
        """Candidates carry Id, SystemModstamp, `field` and `fields`; the engine re-checks them (`_chunks`)."""
        self._spec(object)
        schema = self.describe(object)
        (name,) = self._fields(object, [field])
        wanted = list(dict.fromkeys(v for v in values if v))
        is_url = schema.fields[name].type == "url"
        columns = self._fields(object, list(dict.fromkeys(["Id", "SystemModstamp", name, *fields])))
        found: dict[str, Record] = {}
        for clause in _chunks(name, wanted, is_url):
            soql = f"{_select(columns, object)} WHERE {clause}"
            for page in self._pages(soql):
                for raw in page:
                    found.setdefault(str(raw["Id"]), self._record(object, raw))
        return list(found.values())

    def write(self, object: str, ops: Sequence[WriteOp]) -> list[WriteResult]:
        self._spec(object)
        results: list[WriteResult | None] = [None] * len(ops)
        keyed = {i: op.upsert for i, op in enumerate(ops) if op.id is None and _upsert_value(op)}
        creates = [i for i, op in enumerate(ops) if op.id is None and i not in keyed]
        updates = [i for i, op in enumerate(ops) if op.id is not None]
        groups: list[tuple[list[int], str, str | None]] = [(creates, "POST", None), (updates, "PATCH", None)]
        for key in dict.fromkeys(keyed.values()):  # creates by external id: an upsert per key field (A7)
            groups.append(([i for i, k in keyed.items() if k == key], "PATCH", key))
        for indexes, method, key in groups:
            for start in range(0, len(indexes), BATCH):
                chunk = indexes[start:start + BATCH]
                answers = self._collection(object, method, [ops[i] for i in chunk], upsert=key)
                for i, result in zip(chunk, answers, strict=True):
                    results[i] = result
        self._retry_locked(object, ops, results)
        return [r for r in results if r is not None]

    def _collection(self, object: str, method: str, ops: Sequence[WriteOp],
                    upsert: str | None = None) -> list[WriteResult]:
        """One sObject Collections call; `allOrNone: false` so good records land beside refused ones.

        With `upsert` (an external id field), `PATCH composite/sobjects/{object}/{field}` creates or
        updates by it: idempotent, so a lost answer is resent and a second worker's create updates."""
        records = [{"attributes": {"type": object}, **({"id": op.id} if op.id else {}),
                    **self._with_record_type_id(object, op.fields)} for op in ops]
        body = {"allOrNone": False, "records": records}
        path = f"composite/sobjects/{object}/{upsert}" if upsert else "composite/sobjects"
        answer = self._call("write", lambda: self.sf.restful(path, method=method, json=body),
                            idempotent=method != "POST") or []
        if len(answer) != len(ops):
            raise ConnectorError(FailureCode.UNKNOWN,
                                 f"collections answered {len(answer)} results for {len(ops)} records")
        out = []
        for op, result in zip(ops, answer, strict=True):
            if result.get("success"):
                out.append(WriteResult(op.ref, str(result.get("id") or op.id),
                                       created=bool(result.get("created", True)) if upsert else op.id is None))
            else:
                out.append(WriteResult(op.ref, op.id, error=record_error(result.get("errors") or [])))
        return out

    def _with_record_type_id(self, object: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """People name a record type by its DeveloperName; the API takes its per-org id (`RecordTypeId`).
        An unknown name is sent as is, so Salesforce refuses that one record and says why."""
        out = dict(fields)
        name = out.pop("RecordType.DeveloperName", None)
        if name:
            key = str(name).lower()
            if key not in self.record_types(object) and (object, key) not in self._record_type_misses:
                # An admin may have added it since this connector looked (a daemon runs for weeks): look
                # again, once per name, so a name that stays unknown costs one query, not one per batch.
                self._record_type_misses.add((object, key))
                self._record_types.pop(object, None)
            out["RecordTypeId"] = self.record_types(object).get(key, name)
        return out

    def record_types(self, object: str) -> dict[str, str]:
        """Active record types of `object`: DeveloperName (lower case) -> Id; one query, kept by this connector."""
        if object not in self._record_types:
            soql = format_soql("SELECT Id, DeveloperName, Name, SobjectType, IsActive FROM RecordType "
                               "WHERE SobjectType = {} AND IsActive = true", object)
            self._record_types[object] = {str(r["DeveloperName"]).lower(): str(r["Id"])
                                          for page in self._pages(soql) for r in page}
        return self._record_types[object]

    def pipeline_stages(self, object: str) -> dict[str, tuple[str, ...]]:
        """Record type DeveloperName -> the StageNames it allows, from the UI API picklist values per record
        type: describe lists every StageName, but a record type's sales process allows only some."""
        soql = format_soql("SELECT Id, DeveloperName FROM RecordType WHERE SobjectType = {} AND IsActive = true",
                           self._spec(object))
        out: dict[str, tuple[str, ...]] = {}
        for row in (r for page in self._pages(soql) for r in page):
            path = f"ui-api/object-info/{object}/picklist-values/{row['Id']}"
            answer = self._call("read", partial(self.sf.restful, path)) or {}
            stage = (answer.get("picklistFieldValues") or {}).get("StageName") or {}
            out[str(row["DeveloperName"])] = tuple(str(v["value"]) for v in stage.get("values") or [])
        return out

    def _retry_locked(self, object: str, ops: Sequence[WriteOp], results: list[WriteResult | None]) -> None:
        """UNABLE_TO_LOCK_ROW passes once the other transaction ends: retry those records one by one."""
        for attempt in range(LOCK_RETRIES):
            locked = [i for i, r in enumerate(results) if r is not None and r.error is not None
                      and r.error.code is FailureCode.LOCK_CONTENTION]
            if not locked:
                return
            time.sleep(random.uniform(0, 0.2 * 2 ** attempt))
            for i in locked:
                op = ops[i]
                key = op.upsert if op.id is None and _upsert_value(op) else None
                results[i] = self._collection(object, "PATCH" if op.id or key else "POST", [op], upsert=key)[0]

    def describe(self, object: str) -> ObjectSchema:
        if object not in self._schemas:
            if not _NAME.match(object):
                raise ConnectorError(FailureCode.CONFIG_ERROR, f"not a Salesforce object name: {object!r}")
            raw = self._call("read", lambda: self.sf.restful(f"sobjects/{object}/describe")) or {}
            fields = {f["name"]: _field_schema(f) for f in raw.get("fields", [])}
            self._schemas[object] = ObjectSchema(object, fields)
        return self._schemas[object]

    # --- merges (merges.py: queryAll of MasterRecordId, SOAP merge()) ------------------------------
    def merges(self, object: str, since: datetime | None) -> list[Merge]:
        return merges.read_merges(self, self._spec(object), since)

    def merge(self, object: str, survivor_id: str, loser_id: str, fields: Mapping[str, Any] | None = None) -> str:
        return merges.merge(self, self._spec(object), survivor_id, loser_id, fields or {})


def _maybe_delivered(exc: BaseException) -> bool:
    """Whether a failed call may have reached Salesforce: a read timeout, or a connection dropped or reset
    once the request was on its way (requests says `ConnectionError` for both a refused connection and a
    reset one). Only a connection never made (refused, connect timeout, unknown host) is surely not
    delivered; an unclear `ConnectionError` counts as delivered, as a resent create could be a duplicate."""
    if isinstance(exc, requests.exceptions.ConnectTimeout | requests.exceptions.SSLError):
        return False
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return True
    if not isinstance(exc, requests.exceptions.ConnectionError):
        return False
    seen: Any = exc
    for _ in range(10):  # requests wraps urllib3's error in args[0], urllib3 its cause in `reason`; never cycle
        if isinstance(seen, urllib3.exceptions.NewConnectionError | urllib3.exceptions.ConnectTimeoutError):
            return False
        if not isinstance(seen, BaseException):
            break
        inner = getattr(seen, "reason", None)
        if not isinstance(inner, BaseException):
            inner = next((a for a in seen.args if isinstance(a, BaseException)), None)
        seen = inner or seen.__cause__ or seen.__context__
    return True


def _upsert_value(op: WriteOp) -> bool:
    """A create carrying a value for its upsert key (an external id field) is upserted by it."""
    return bool(op.upsert) and op.fields.get(op.upsert or "") not in (None, "")


def _select(columns: Sequence[str], object: str) -> str:
    """Names cannot be SOQL parameters; callers pass only names checked against describe / `objects`."""
    return f"SELECT {', '.join(columns)} FROM {object}"  # noqa: S608 - checked names, no values


def _field_schema(raw: dict[str, Any]) -> FieldSchema:
    """Describe's field facts. Required means must be sent on create (A12): not nillable, createable and
    not defaulted on create."""
    return FieldSchema(
        name=raw["name"], type=raw.get("type", ""), label=raw.get("label", ""),
        required=(not raw.get("nillable", True) and bool(raw.get("createable"))
                  and not raw.get("defaultedOnCreate")),
        createable=bool(raw.get("createable")), updateable=bool(raw.get("updateable")),
        length=raw.get("length") or None,
        picklist=tuple(p["value"] for p in raw.get("picklistValues") or [] if p.get("active", True)),
    )


def _chunks(field: str, values: list[str], is_url: bool) -> Iterator[str]:
    """WHERE clauses matching `values`, each short enough for one GET: `IN (...)`, or LIKE chains for URLs.

    SOQL compares text case-insensitively, so `Email IN ('a@x.com')` also finds `A@X.com`. A website is
    matched by containment (`Website LIKE '%acme.com%'`) because it is stored as `https://www.acme.com/`.
    """
    parts: list[str] = []
    size = 0
    for value in values:
        part = format_soql(f"{field} LIKE '%{{:like}}%'", value) if is_url else format_soql("{}", value)
        if parts and size + len(part) > LOOKUP_CHUNK_CHARS:
            yield _clause(field, parts, is_url)
            parts, size = [], 0
        parts.append(part)
        size += len(part) + 5
    if parts:
        yield _clause(field, parts, is_url)


def _clause(field: str, parts: list[str], is_url: bool) -> str:
    return " OR ".join(parts) if is_url else f"{field} IN ({', '.join(parts)})"
