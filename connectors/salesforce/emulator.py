"""A local Salesforce org over HTTPS: REST query, sObject CRUD, collections, describe, limits (crm-apis.md C).

Start it with `revhub emulator start --system salesforce` (or `EmulatorServer(SalesforceEmulator())`),
trust `emulator.ca_file`, and point simple-salesforce at it in direct session mode with any
non-empty session id. It answers in Salesforce's shapes: error bodies are JSON arrays, every response
carries `Sforce-Limit-Info`, the daily allocation ends in 403 REQUEST_LIMIT_EXCEEDED.

Salesforce-specific faults, on top of the shared ones (`POST /__emulator__/faults`):
- `rate_429` answers 403 REQUEST_LIMIT_EXCEEDED "ConcurrentPerOrgLongTxn" (Salesforce has no 429);
- `{"lock_rows": N}` makes the next N record writes fail with UNABLE_TO_LOCK_ROW;
- an Opportunity with a negative Amount fails the org's validation rule (FIELD_CUSTOM_VALIDATION_EXCEPTION).
"""
from __future__ import annotations

import re
import tempfile
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.emulator import Emulator, Handler, Reply, Request, Response
from connectors.salesforce import composite, describe, emulator_merge, query, soap, soql
from connectors.salesforce.composite import Outcome
from connectors.salesforce.store import DmlError, Store
from connectors.salesforce.tls import CertFiles, ensure_certificate

_V = "/services/data/v{version}"
MAX_COLLECTION = 200
_MAX_CURSORS = 100


def _error(status: int, code: str, message: str, fields: list[str] | None = None) -> Reply:
    return Reply(Response(status, [{"message": message, "errorCode": code, "fields": fields or []}]))


def _not_found() -> Reply:
    return _error(404, "NOT_FOUND", "The requested resource does not exist")


class SalesforceEmulator(Emulator):
    """The Salesforce emulator. `page_size` is the query page when no batchSize is asked for (default 2000),
    `daily_max` the org's daily API allocation, `cert_dir` where the CA and server certificate go
    (default: a fresh temp dir), `clock` what stamps records (for tests that freeze time)."""

    system = "salesforce"
    default_port = 8711

    def __init__(self, *, token: str | None = None, page_size: int | None = None, daily_max: int = 100_000,
                 cert_dir: str | Path | None = None, clock: Callable[[], datetime] | None = None) -> None:
        self.daily_max = daily_max
        # Absolute, so the `ca file:` banner line still names the file from another working directory.
        self.cert_dir = Path(cert_dir).absolute() if cert_dir else None
        self.clock = clock or (lambda: datetime.now(UTC))
        self.store = Store()
        self.cursors: OrderedDict[str, tuple[list[dict[str, Any]], int, str]] = OrderedDict()
        self.api_used = 0
        self._locators = 0
        self._certs: CertFiles | None = None
        super().__init__(token=token, page_size=page_size or 2000)
        self.reset_data()

    # --- TLS -----------------------------------------------------------------------------------
    def certificate(self) -> CertFiles:
        if self._certs is None:
            directory = self.cert_dir or Path(tempfile.mkdtemp(prefix="revhub-salesforce-"))
            self._certs = ensure_certificate(directory)
        return self._certs

    @property
    def ca_file(self) -> str:
        """The PEM file a client must trust (`options.ca_file` of the connector)."""
        return str(self.certificate().ca_file)

    def tls_context(self) -> Any:
        return self.certificate().server_context()

    def banner(self, url: str) -> list[str]:
        return [f"ca file: {self.ca_file}"]

    # --- the shared hooks ----------------------------------------------------------------------
    def reset_data(self) -> None:
        self.store.reset(self.clock())
        self.cursors.clear()
        self.api_used = 0

    def seed(self, payload: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
        now, counts = self.clock(), {}
        for key, rows in payload.items():
            obj = self._known(key)
            for raw in rows:
                self.store.seed(obj, raw, now)
            counts[obj] = len(rows)
        return counts

    def dump(self, object: str) -> list[dict[str, Any]]:
        obj = self._known(object)
        names = dict.fromkeys(describe.SCHEMAS[obj], None)  # every field, null when unset, as GET shows
        return [{"attributes": query.attributes(obj, row["Id"], "59.0"), **names, **row}
                for row in self.store.records[obj].values()]

    def error_unauthorized(self, expired: bool) -> Response:
        # A list, always: simple-salesforce indexes [0] of a 401 body (crm-apis.md A2).
        return Response(401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])

    def error_rate_limited(self) -> Response:
        return _error(403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.").response

    def error_unavailable(self) -> Response:
        return _error(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable. Please try again.").response

    def decorate(self, request: Request, response: Response) -> None:
        response.headers["Sforce-Limit-Info"] = f"api-usage={self.api_used}/{self.daily_max}"

    def not_found_body(self, request: Request) -> Any:
        return [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]

    def _set_faults(self, spec: dict[str, Any]) -> dict[str, Any]:
        """The shared faults plus `lock_rows` (UNABLE_TO_LOCK_ROW has no shared equivalent)."""
        answer = super()._set_faults(spec)
        if "lock_rows" in spec:
            self.store.lock_failures = int(spec["lock_rows"])
        return {**answer, "lock_rows": self.store.lock_failures}

    # --- routes --------------------------------------------------------------------------------
    def register_routes(self) -> None:
        api = self._api
        for slash in ("", "/"):
            api("GET", f"{_V}/sobjects{slash}", self._list_objects)
            api("GET", f"{_V}/sobjects/{{sobject}}/describe{slash}", self._describe)
            api("GET", f"{_V}/sobjects/{{sobject}}{slash}", self._object_info)
            api("POST", f"{_V}/sobjects/{{sobject}}{slash}", self._create)
            api("GET", f"{_V}/query{slash}", lambda r: self._query(r, "query"))
            api("GET", f"{_V}/queryAll{slash}", lambda r: self._query(r, "queryAll"))
            api("GET", f"{_V}/limits{slash}", self._limits)
            api("GET", f"{_V}/ui-api/object-info/{{sobject}}/picklist-values/{{recordTypeId}}{slash}",
                self._picklist_values)
        api("GET", f"{_V}/query/{{locator}}", self._query_more)
        api("GET", f"{_V}/queryAll/{{locator}}", self._query_more)
        api("GET", f"{_V}/sobjects/{{sobject}}/{{id}}", self._get)
        api("PATCH", f"{_V}/sobjects/{{sobject}}/{{id}}", self._update)
        api("DELETE", f"{_V}/sobjects/{{sobject}}/{{id}}", self._delete)
        api("GET", f"{_V}/sobjects/{{sobject}}/{{field}}/{{value}}", self._get_by_external_id)
        api("PATCH", f"{_V}/sobjects/{{sobject}}/{{field}}/{{value}}", self._upsert)
        api("POST", f"{_V}/composite/sobjects",
            lambda r: self._collection(r, lambda rec, now: composite.create_op(self.store, rec, now)))
        api("PATCH", f"{_V}/composite/sobjects",
            lambda r: self._collection(r, lambda rec, now: composite.update_op(self.store, rec, now)))
        api("DELETE", f"{_V}/composite/sobjects", self._collection_delete)
        api("PATCH", f"{_V}/composite/sobjects/{{sobject}}/{{field}}", self._collection_upsert)
        api("POST", "/services/Soap/u/{version}", self._soap)

    def _api(self, method: str, template: str, handler: Handler) -> None:
        """Register a vendor endpoint that counts against the daily allocation, as every REST call does."""
        def metered(request: Request) -> Response:
            if not re.fullmatch(r"\d+\.\d", request.params.get("version", "")):
                raise _not_found()
            if self.api_used >= self.daily_max:
                raise _error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            self.api_used += 1
            return handler(request)
        self.route(method, template, metered)

    @staticmethod
    def _known(name: str) -> str:
        """An object name for the admin API (seed files are named after objects: `Contact.json`)."""
        obj = describe.object_name(name)
        if obj is None:
            raise ValueError(f"unknown Salesforce object {name!r}; one of {', '.join(describe.SCHEMAS)}")
        return obj

    def _object(self, name: str) -> str:
        obj = describe.object_name(name)
        if obj is None:
            raise _not_found()
        return obj

    # --- metadata and limits -------------------------------------------------------------------
    def _list_objects(self, request: Request) -> Response:
        version = request.params["version"]
        return Response(200, {"encoding": "UTF-8", "maxBatchSize": MAX_COLLECTION,
                              "sobjects": [describe.object_summary(o, version) for o in describe.SCHEMAS]})

    def _describe(self, request: Request) -> Response:
        return Response(200, describe.describe_object(self._object(request.params["sobject"]),
                                                      request.params["version"],
                                                      list(self.store.records["RecordType"].values())))

    def _picklist_values(self, request: Request) -> Response:
        """UI API: every picklist of an object as one record type allows it (the sales process limits stages)."""
        obj = self._object(request.params["sobject"])
        rt_id = request.params["recordTypeId"]
        rt = self.store.record_type(obj, rt_id)
        if rt is None and rt_id != describe.MASTER_RECORD_TYPE:
            raise _error(404, "NOT_FOUND", f"The requested resource does not exist: record type {rt_id}")
        fields = {f.name: f.picklist for f in describe.SCHEMAS[obj].values() if f.type == "picklist" and f.picklist}
        if obj == "Opportunity":
            fields["StageName"] = describe.stage_values(rt["DeveloperName"] if rt else None)
        return Response(200, describe.picklist_values(obj, request.params["version"], rt_id, fields))

    def _object_info(self, request: Request) -> Response:
        obj = self._object(request.params["sobject"])
        return Response(200, {"objectDescribe": describe.object_summary(obj, request.params["version"]),
                              "recentItems": []})

    def _limits(self, request: Request) -> Response:
        def limit(cap: int, used: int = 0) -> dict[str, int]:
            return {"Max": cap, "Remaining": max(cap - used, 0)}
        return Response(200, {"DailyApiRequests": limit(self.daily_max, self.api_used),
                              "DailyBulkApiBatches": limit(15000), "DailyBulkV2QueryJobs": limit(10000),
                              "DailyBulkV2QueryFileStorageMB": limit(976562), "DataStorageMB": limit(5),
                              "FileStorageMB": limit(20), "HourlyTimeBasedWorkflow": limit(1000)})

    # --- query ---------------------------------------------------------------------------------
    def _query(self, request: Request, endpoint: str) -> Response:
        text = request.arg("q")
        if not text:
            raise _error(400, "MALFORMED_QUERY", "The query string is missing (q parameter).")
        include_deleted = endpoint == "queryAll"
        try:
            parsed = soql.parse(text)
            obj = describe.object_name(parsed.sobject)
            stored = self.store.records[obj].values() if obj else []
            rows = [r for r in stored if include_deleted or not r.get("IsDeleted")]
            records = query.run(parsed, rows, self.store.get, request.params["version"])
        except soql.SoqlError as exc:
            raise _error(400, exc.code, exc.message) from exc
        size = self.page_size or 2000
        options = request.headers.get("sforce-query-options", "")
        if m := re.search(r"batchSize\s*=\s*(\d+)", options):
            size = min(max(int(m.group(1)), 200), 2000)
        self._locators += 1
        locator = f"01g{self._locators:012d}"
        self.cursors[locator] = (records, size, endpoint)
        while len(self.cursors) > _MAX_CURSORS:
            self.cursors.popitem(last=False)
        return self._page(locator, 0, request.params["version"])

    def _query_more(self, request: Request) -> Response:
        locator, _, offset = request.params["locator"].rpartition("-")
        if locator not in self.cursors or not offset.isdigit():
            raise _error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(locator, int(offset), request.params["version"])

    def _page(self, locator: str, offset: int, version: str) -> Response:
        records, size, endpoint = self.cursors[locator]
        body: dict[str, Any] = {"totalSize": len(records), "done": offset + size >= len(records),
                                "records": records[offset:offset + size]}
        if not body["done"]:
            body["nextRecordsUrl"] = f"/services/data/v{version}/{endpoint}/{locator}-{offset + size}"
        return Response(200, body)

    # --- single records ------------------------------------------------------------------------
    def _native(self, obj: str, row: dict[str, Any], version: str, only: list[str] | None = None) -> Response:
        names = [f.name for f in describe.SCHEMAS[obj].values()]
        if only:
            resolved = [describe.field(obj, n) for n in only]
            if None in resolved:
                raise _error(400, "INVALID_FIELD", f"No such column on entity '{obj}'")
            names = [f.name for f in resolved if f]
        return Response(200, {"attributes": query.attributes(obj, row["Id"], version),
                              **{n: row.get(n) for n in names}})

    @staticmethod
    def _fail_dml(errors: list[DmlError]) -> Reply:
        status = 404 if errors[0].code == "ENTITY_IS_DELETED" else 400
        return Reply(Response(status, [e.top_level() for e in errors]))

    def _create(self, request: Request) -> Response:
        obj = self._object(request.params["sobject"])
        out = self.store.create(obj, self._body(request), self.clock())
        if isinstance(out, list):
            raise self._fail_dml(out)
        return Response(201, {"id": out[0], "success": True, "errors": []})

    def _get(self, request: Request) -> Response:
        obj = self._object(request.params["sobject"])
        row = self.store.get(obj, request.params["id"])
        if row is None:
            raise _not_found()
        if row.get("IsDeleted"):
            raise _error(404, "ENTITY_IS_DELETED", "entity is deleted")
        return self._native(obj, row, request.params["version"], request.args("fields"))

    def _update(self, request: Request) -> Response:
        obj = self._object(request.params["sobject"])
        out = self.store.update(obj, request.params["id"], self._body(request), self.clock())
        if isinstance(out, list):
            raise self._fail_dml(out)
        return Response(204)

    def _delete(self, request: Request) -> Response:
        obj = self._object(request.params["sobject"])
        out = self.store.delete(obj, request.params["id"], self.clock())
        if isinstance(out, list):
            raise self._fail_dml(out)
        return Response(204)

    def _external_matches(self, request: Request) -> tuple[str, describe.Field, list[dict[str, Any]]]:
        obj = self._object(request.params["sobject"])
        f = describe.field(obj, request.params["field"])
        if f is None or not (f.external_id or f.id_lookup) or f.name == "Id":
            raise _error(404, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: "
                         + request.params["field"])
        return obj, f, self.store.find(obj, f.name, request.params["value"])

    def _several(self, obj: str, rows: list[dict[str, Any]], version: str) -> Reply:
        return Reply(Response(300, [query.attributes(obj, r["Id"], version)["url"] for r in rows]))

    def _get_by_external_id(self, request: Request) -> Response:
        obj, _, rows = self._external_matches(request)
        if not rows:
            raise _not_found()
        if len(rows) > 1:
            raise self._several(obj, rows, request.params["version"])
        return self._native(obj, rows[0], request.params["version"], request.args("fields"))

    def _upsert(self, request: Request) -> Response:
        """PATCH by external id: 201 created, 200 updated (`created: false`, v46+), 300 several matches."""
        obj, f, rows = self._external_matches(request)
        if len(rows) > 1:
            raise self._several(obj, rows, request.params["version"])
        values = self._body(request)
        now = self.clock()
        out = (self.store.update(obj, rows[0]["Id"], values, now) if rows
               else self.store.create(obj, {**values, f.name: request.params["value"]}, now))
        if isinstance(out, list):
            raise self._fail_dml(out)
        body = {"id": out[0], "success": True, "errors": [], "created": not rows}
        return Response(200 if rows else 201, body)

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        try:
            body = request.json()
        except ValueError as exc:
            raise _error(400, "JSON_PARSER_ERROR", f"Unexpected character in the body: {exc}") from exc
        if not isinstance(body, dict):
            raise _error(400, "JSON_PARSER_ERROR", "The request body must be a JSON object.")
        return {k: v for k, v in body.items() if k != "attributes"}

    # --- SOAP merge() (the one SOAP call served; see soap.py) --------------------------------------
    def handle(self, request: Request) -> Response:
        """SOAP carries its session in the envelope's SessionHeader, not a bearer header, and answers
        every refusal (bad session, daily limit) as a SOAP fault, not the REST error array."""
        if request.method != "POST" or not request.path.startswith("/services/Soap/u/"):
            return super().handle(request)
        request.token = soap.session_of(request.body)
        response = super().handle(request)
        if response.status in (401, 403) and isinstance(response.body, list):
            first = response.body[0] if response.body else {}
            code, message = str(first.get("errorCode", "UNKNOWN_EXCEPTION")), str(first.get("message", ""))
            if code == "INVALID_SESSION_ID":
                message = "Invalid Session ID found in SessionHeader: Illegal Session. " + message
            response = self._soap_fault(soap.SoapFault(code, message))
            self.decorate(request, response)
        return response

    def _soap(self, request: Request) -> Response:
        try:
            requests = soap.parse_merge_request(request.body)
            if len(requests) > 200:
                raise soap.SoapFault("LIMIT_EXCEEDED", "merge() takes at most 200 MergeRequests")
            now = self.clock()
            # Each request is its own transaction, as Salesforce documents; a fault stops the call.
            results = [emulator_merge.merge(self.store, r, now) for r in requests]
        except soap.SoapFault as fault:
            return self._soap_fault(fault)
        return Response(200, soap.merge_response(results), {"Content-Type": soap.CONTENT_TYPE})

    @staticmethod
    def _soap_fault(fault: soap.SoapFault) -> Response:
        return Response(fault.status, soap.fault_envelope(fault.code, fault.message),
                        {"Content-Type": soap.CONTENT_TYPE})

    # --- sObject Collections (crm-apis.md A7) ---------------------------------------------------
    def _collection(self, request: Request, op: Callable[[dict[str, Any], datetime], Outcome],
                    sobject: str | None = None) -> Response:
        body = self._body(request)
        records = body.get("records")
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise _error(400, "JSON_PARSER_ERROR", "records must be a list of sObjects")
        self._check_size(len(records))
        for record in records:
            kind = describe.object_name(str((record.get("attributes") or {}).get("type") or ""))
            if kind is None or (sobject and kind != sobject):
                raise _error(400, "INVALID_TYPE", "Must send a concrete entity type.")
        now = self.clock()
        return Response(200, composite.finish([op(r, now) for r in records], bool(body.get("allOrNone"))))

    @staticmethod
    def _check_size(count: int) -> None:
        if count > MAX_COLLECTION:
            raise _error(400, "EXCEEDED_ID_LIMIT", f"record limit reached. cannot submit more than "
                         f"{MAX_COLLECTION} records into this call")

    def _collection_delete(self, request: Request) -> Response:
        ids = request.args("ids")
        self._check_size(len(ids))
        now = self.clock()
        outcomes = [composite.delete_op(self.store, record_id, now) for record_id in ids]
        return Response(200, composite.finish(outcomes, (request.arg("allOrNone") or "").lower() == "true"))

    def _collection_upsert(self, request: Request) -> Response:
        obj = self._object(request.params["sobject"])
        f = describe.field(obj, request.params["field"])
        if f is None or not (f.external_id or f.id_lookup) or f.name == "Id":
            raise _error(400, "INVALID_FIELD", f"Field {request.params['field']} is not an external ID "
                         f"field on {obj}", [request.params["field"]])
        key = f.name
        return self._collection(
            request, lambda r, now: composite.upsert_op(self.store, obj, key, r, now), obj)
