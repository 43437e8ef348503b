"""The emulator's properties API: read the portal's catalog, create custom properties (one or a batch).

A custom property comes from HubSpot's `PropertyCreate` body (name, label, type, fieldType, groupName,
options, hasUniqueValue, ...) and lands in the emulator's own catalog (`HubSpotStore.properties`), where
record validation, `idProperty` lookups, search and describe all find it. A `hasUniqueValue` property is
then enforced like `email`: another record holding the value is a 409 CONFLICT.
"""

from __future__ import annotations

import re
from typing import Any

from connectors.emulator import Reply, Request, Response
from connectors.hubspot import catalog
from connectors.hubspot.emulator_objects import batch_inputs
from connectors.hubspot.emulator_store import HubSpotStore
from connectors.hubspot.wire import bad_request, batch_body, not_found, now_iso

REQUIRED = ("name", "label", "type", "fieldType", "groupName")  # PropertyCreate's required fields
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_STRINGS = ("name", "label", "type", "fieldType", "groupName", "description")
_BOOLS = ("hasUniqueValue", "hidden", "formField", "externalOptions")
# Optional PropertyCreate fields echoed back in the Property as sent (enums checked where the spec has them).
_EXTRA_ENUMS: dict[str, tuple[str, ...] | None] = {
    "calculationFormula": None,
    "currencyPropertyName": None,
    "referencedObjectType": None,
    "showCurrencySymbol": None,
    "dataSensitivity": ("highly_sensitive", "non_sensitive", "sensitive"),
    "numberDisplayHint": ("currency", "duration", "formatted", "percentage", "probability", "unformatted"),
    "textDisplayHint": (
        "domain_name",
        "email",
        "ip_address",
        "multi_line",
        "phone_number",
        "physical_address",
        "postal_code",
        "unformatted_single_line",
    ),
}
UNIQUE_TYPES = (("string", "text"), ("number", "number"))  # single-line text and number properties only


def _invalid(message: str) -> Reply:
    return bad_request(f"Invalid input JSON: {message}")


def _int(value: Any, default: int, what: str) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(f"`{what}` must be an integer.")
    return value


def _options(raw: Any) -> tuple[dict[str, Any], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _invalid("`options` must be a list of options.")
    out, seen = [], set()
    for i, o in enumerate(raw):
        if not (isinstance(o, dict) and isinstance(o.get("label"), str) and isinstance(o.get("value"), str)):
            raise _invalid(f"option {i} needs a string `label` and `value`.")
        if o["value"] in seen:
            raise bad_request(f"Option value '{o['value']}' is used more than once.")
        seen.add(o["value"])
        out.append(
            {
                "label": o["label"],
                "value": o["value"],
                "displayOrder": _int(o.get("displayOrder"), i, "displayOrder"),
                "hidden": bool(o.get("hidden", False)),
                "description": str(o.get("description") or ""),
            }
        )
    return tuple(out)


def property_from_create(body: Any, stamp: str | None = None) -> catalog.PropertyDef:
    """A custom `PropertyDef` from a `PropertyCreate` body, or a 400 VALIDATION_ERROR `Reply`.

    Fields the spec does not know (e.g. a dumped Property's createdAt) are ignored, so a dump seeds back.
    """
    if not isinstance(body, dict):
        raise _invalid("the body must be a PropertyCreate object.")
    missing = [k for k in REQUIRED if body.get(k) in (None, "")]
    if missing:
        raise _invalid(f"Cannot build PropertyCreate, some of required attributes are not set {missing}")
    for key in _STRINGS:
        if key in body and not isinstance(body[key], str):
            raise _invalid(f"`{key}` must be a string.")
    for key in _BOOLS:
        if key in body and body[key] is not None and not isinstance(body[key], bool):
            raise _invalid(f"`{key}` must be a boolean.")
    name, kind, field_type = body["name"], body["type"], body["fieldType"]
    if kind not in catalog.PROPERTY_TYPES:
        raise _invalid(f"type '{kind}' is not one of [{', '.join(catalog.PROPERTY_TYPES)}]")
    if field_type not in catalog.FIELD_TYPES:
        raise _invalid(f"fieldType '{field_type}' is not one of [{', '.join(catalog.FIELD_TYPES)}]")
    if field_type not in catalog.FIELD_TYPES_OF[kind]:
        raise bad_request(
            f"fieldType '{field_type}' is not valid for type '{kind}'; "
            f"valid fieldTypes are [{', '.join(catalog.FIELD_TYPES_OF[kind])}]"
        )
    if not _NAME.match(name):
        raise bad_request(
            f"Property name '{name}' is invalid: use lower-case letters, digits and underscores, "
            "starting with a letter."
        )
    options = _options(body.get("options"))
    external = bool(body.get("externalOptions"))
    if kind == "enumeration" and not options and not external:
        raise bad_request(f"Property '{name}' of type enumeration needs at least one option.")
    unique = bool(body.get("hasUniqueValue"))
    if unique and (kind, field_type) not in UNIQUE_TYPES:
        raise bad_request(
            f"Property '{name}' cannot require unique values: only single-line text (string/text) "
            "and number properties can."
        )
    extra = []
    for key, allowed in _EXTRA_ENUMS.items():
        value = body.get(key)
        if value is None:
            continue
        if allowed is not None and value not in allowed:
            raise _invalid(f"{key} '{value}' is not one of [{', '.join(allowed)}]")
        extra.append((key, value))
    return catalog.PropertyDef(
        name,
        body["label"],
        kind,
        field_type,
        tuple(o["value"] for o in options),
        unique=unique,
        external_options=external,
        group=body["groupName"],
        custom=True,
        description=body.get("description") or "",
        display_order=_int(body.get("displayOrder"), -1, "displayOrder"),
        hidden=bool(body.get("hidden")),
        form_field=bool(body.get("formField")),
        option_details=options,
        extra=tuple(extra),
        created_at=stamp or now_iso(),
    )


def object_type(raw: str) -> str:
    obj = catalog.OBJECT_ALIASES.get(raw, raw)
    if obj not in catalog.OBJECTS:
        raise bad_request(f"Unable to infer object type from: {raw}")
    return obj


def _standard(reply: Reply, name: Any) -> dict[str, Any]:
    """A whole-call error `Reply` as one input's `StandardError` inside a 207."""
    body = reply.response.body
    return {
        "status": "error",
        "category": body["category"],
        "message": body["message"],
        "context": {"name": [str(name)]},
        "errors": [],
        "links": {},
    }


class PropertyHandlers:
    """`/crm/v3/properties/{objectType}` routes over one store's catalog (the emulator holds the lock)."""

    def __init__(self, store: HubSpotStore) -> None:
        self.store = store

    @staticmethod
    def parse(body: Any) -> catalog.PropertyDef:
        return property_from_create(body)

    def define(self, obj: str, body: Any) -> catalog.PropertyDef:
        d = property_from_create(body)
        self.store.add_property(obj, d)
        return d

    def list(self, request: Request) -> Response:
        obj = object_type(request.params["objectType"])
        return Response(200, {"results": [d.to_json() for d in self.store.properties[obj].values()]})

    def get(self, request: Request) -> Response:
        obj = object_type(request.params["objectType"])
        d = self.store.properties[obj].get(request.params["propertyName"])
        if d is None:
            raise not_found(f"Unable to find property {request.params['propertyName']}")
        return Response(200, d.to_json())

    def create(self, request: Request) -> Response:
        obj = object_type(request.params["objectType"])
        return Response(201, self.define(obj, request.json()).to_json())

    def batch_create(self, request: Request) -> Response:
        """Each input stands alone: the good ones are created, the others come back in a 207."""
        obj, started = object_type(request.params["objectType"]), now_iso()
        _, inputs = batch_inputs(request)
        results, errors = [], []
        for item in inputs:
            try:
                results.append(self.define(obj, item).to_json())
            except Reply as reply:
                errors.append(_standard(reply, item.get("name") if isinstance(item, dict) else ""))
        return Response(207 if errors else 201, batch_body(results, errors, started))
