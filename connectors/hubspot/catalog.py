"""HubSpot's fixed portal facts the emulator serves: property definitions, deal pipelines, association types.

Kept apart from the emulator's logic so a reader can check them against crm-apis.md B10/B11 at a glance.
Values are the HUBSPOT_DEFINED defaults of a fresh portal. Property definitions are only defaults here: each
emulator copies them (`default_properties()`) and adds its own custom properties to its copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OBJECTS = ("contacts", "companies", "deals")
# HubSpot accepts the object type id wherever a name goes (the deals spec even uses `0-3`).
OBJECT_ALIASES = {
    "0-1": "contacts",
    "0-2": "companies",
    "0-3": "deals",
    "contact": "contacts",
    "company": "companies",
    "deal": "deals",
}
OBJECT_TYPE_IDS = {"contacts": "0-1", "companies": "0-2", "deals": "0-3"}
SINGULAR = {"contacts": "contact", "companies": "company", "deals": "deal"}
CURSOR = {"contacts": "lastmodifieddate", "companies": "hs_lastmodifieddate", "deals": "hs_lastmodifieddate"}

DEFAULT_PROPERTIES = {  # returned when a read names no properties (search guide)
    "contacts": ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"),
    "companies": ("name", "domain", "createdate", "hs_lastmodifieddate", "hs_object_id"),
    "deals": (
        "dealname",
        "amount",
        "closedate",
        "pipeline",
        "dealstage",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
    ),
}
QUERY_PROPERTIES = {  # what free-text `query` searches
    "contacts": ("firstname", "lastname", "email", "phone", "mobilephone", "company"),
    "companies": ("website", "phone", "name", "domain"),
    "deals": ("dealname", "pipeline", "dealstage", "description", "dealtype"),
}

LIFECYCLE_STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)
LEAD_STATUSES = (
    "NEW",
    "OPEN",
    "IN_PROGRESS",
    "OPEN_DEAL",
    "UNQUALIFIED",
    "ATTEMPTED_TO_CONTACT",
    "CONNECTED",
    "BAD_TIMING",
)
INDUSTRIES = (  # a subset of HubSpot's ~150 default industry ids, enough for realistic B2B data
    "ACCOUNTING", "BANKING", "BIOTECHNOLOGY", "COMPUTER_HARDWARE", "COMPUTER_SOFTWARE", "CONSTRUCTION",
    "EDUCATION_MANAGEMENT", "FINANCIAL_SERVICES", "FOOD_BEVERAGES", "HOSPITAL_HEALTH_CARE",
    "INFORMATION_TECHNOLOGY_AND_SERVICES", "INSURANCE", "LOGISTICS_AND_SUPPLY_CHAIN", "MACHINERY",
    "MANAGEMENT_CONSULTING", "MARKETING_AND_ADVERTISING", "OIL_ENERGY", "REAL_ESTATE", "RETAIL",
    "TELECOMMUNICATIONS",
)


@dataclass(frozen=True, slots=True)
class Stage:
    id: str
    label: str
    probability: str
    closed: bool


@dataclass(frozen=True, slots=True)
class Pipeline:
    id: str
    label: str
    stages: tuple[Stage, ...]

    def stage(self, stage_id: str) -> Stage | None:
        return next((s for s in self.stages if s.id == stage_id), None)


PIPELINES = (
    Pipeline(
        "default",
        "Sales Pipeline",
        (
            Stage("appointmentscheduled", "Appointment Scheduled", "0.2", False),
            Stage("qualifiedtobuy", "Qualified To Buy", "0.4", False),
            Stage("presentationscheduled", "Presentation Scheduled", "0.6", False),
            Stage("decisionmakerboughtin", "Decision Maker Bought-In", "0.8", False),
            Stage("contractsent", "Contract Sent", "0.9", False),
            Stage("closedwon", "Closed Won", "1.0", True),
            Stage("closedlost", "Closed Lost", "0.0", True),
        ),
    ),
    # Custom pipelines get numeric ids, and so do their stages (B11).
    Pipeline(
        "75e28846",
        "Renewals",
        (
            Stage("1001", "Renewal Due", "0.5", False),
            Stage("1002", "Renewal Negotiation", "0.8", False),
            Stage("1003", "Renewed", "1.0", True),
            Stage("1004", "Churned", "0.0", True),
        ),
    ),
    Pipeline(
        "8a3f02d1",
        "Expansion",
        (
            Stage("2001", "Expansion Qualified", "0.3", False),
            Stage("2002", "Proposal Sent", "0.6", False),
            Stage("2003", "Negotiation", "0.8", False),
            Stage("2004", "Expansion Won", "1.0", True),
            Stage("2005", "Expansion Lost", "0.0", True),
        ),
    ),
)
PIPELINE_BY_ID = {p.id: p for p in PIPELINES}


PROPERTY_TYPES = ("bool", "date", "datetime", "enumeration", "number", "phone_number", "string")
FIELD_TYPES = (
    "booleancheckbox",
    "calculation_equation",
    "checkbox",
    "date",
    "file",
    "html",
    "number",
    "phonenumber",
    "radio",
    "select",
    "text",
    "textarea",
)
# Which fieldType goes with which type (HubSpot's properties guide; v3 enforces it since 2021).
FIELD_TYPES_OF = {
    "bool": ("booleancheckbox", "calculation_equation"),
    "enumeration": ("booleancheckbox", "checkbox", "radio", "select", "calculation_equation"),
    "date": ("date",),
    "datetime": ("date",),
    "string": ("file", "text", "textarea", "calculation_equation", "html", "phonenumber"),
    "number": ("number", "calculation_equation"),
    "phone_number": ("phonenumber",),
}
DEFAULT_STAMP = "2020-01-01T00:00:00.000Z"


@dataclass(frozen=True, slots=True)
class PropertyDef:
    """One property definition; `read_only` maps to modificationMetadata.readOnlyValue.

    HubSpot's own properties use the defaults; a custom one (`custom=True`) also carries what its
    `PropertyCreate` said: full options, description, display hints (`extra`) and its creation stamp.
    """

    name: str
    label: str
    type: str = "string"
    field_type: str = "text"
    options: tuple[str, ...] = ()  # the option values, what validation checks against
    read_only: bool = False
    calculated: bool = False
    unique: bool = False
    external_options: bool = False
    group: str = "contactinformation"
    custom: bool = False
    description: str = ""
    display_order: int = -1
    hidden: bool = False
    form_field: bool | None = None
    option_details: tuple[dict[str, Any], ...] = ()  # full `Option` bodies of a custom property
    extra: tuple[tuple[str, Any], ...] = ()  # other PropertyCreate fields, echoed back as sent
    created_at: str = DEFAULT_STAMP

    def to_json(self) -> dict[str, Any]:
        options = list(self.option_details) or [
            {"label": o, "value": o, "displayOrder": i, "hidden": False, "description": ""}
            for i, o in enumerate(self.options)
        ]
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "description": self.description,
            "groupName": self.group,
            "displayOrder": self.display_order,
            "options": options,
            "hasUniqueValue": self.unique,
            "hidden": self.hidden,
            "calculated": self.calculated,
            "externalOptions": self.external_options,
            "hubspotDefined": not self.custom,
            "formField": (not self.read_only) if self.form_field is None else self.form_field,
            "modificationMetadata": {
                "archivable": self.custom,
                "readOnlyDefinition": not self.custom,
                "readOnlyValue": self.read_only or self.calculated,
            },
            **dict(self.extra),
            "createdAt": self.created_at,
            "updatedAt": self.created_at,
            "archived": False,
        }


def _enum(name: str, label: str, options: tuple[str, ...], **kw: Any) -> PropertyDef:
    return PropertyDef(name, label, "enumeration", "select", options, **kw)


def _common(group: str, modified: str) -> list[PropertyDef]:
    return [
        PropertyDef("hs_object_id", "Record ID", "number", "number", read_only=True, group=group),
        PropertyDef("createdate", "Create Date", "datetime", "date", read_only=True, group=group),
        PropertyDef(modified, "Last Modified Date", "datetime", "date", read_only=True, group=group),
        PropertyDef(
            "hs_merged_object_ids",
            "Merged record IDs",
            "enumeration",
            "checkbox",
            read_only=True,
            group=group,
        ),
        _enum("hubspot_owner_id", "Owner", (), external_options=True, group=group),
        PropertyDef("phone", "Phone Number", "string", "phonenumber", group=group),
        PropertyDef("city", "City", group=group),
        PropertyDef("state", "State/Region", group=group),
        PropertyDef("country", "Country/Region", group=group),
    ]


_CONTACT = "contactinformation"
_COMPANY = "companyinformation"
_DEAL = "dealinformation"

_DEFS: dict[str, list[PropertyDef]] = {
    "contacts": [
        *_common(_CONTACT, "lastmodifieddate"),
        PropertyDef("email", "Email", unique=True),
        PropertyDef("firstname", "First Name"),
        PropertyDef("lastname", "Last Name"),
        PropertyDef("company", "Company Name"),
        PropertyDef("website", "Website URL"),
        PropertyDef("mobilephone", "Mobile Phone Number", "string", "phonenumber"),
        PropertyDef("jobtitle", "Job Title"),
        PropertyDef("zip", "Postal Code"),
        PropertyDef("address", "Street Address"),
        PropertyDef(
            "hs_additional_emails", "Additional email addresses", "enumeration", "checkbox", read_only=True
        ),
        _enum("lifecyclestage", "Lifecycle Stage", LIFECYCLE_STAGES),
        _enum("hs_lead_status", "Lead Status", LEAD_STATUSES),
        PropertyDef("hubspotscore", "HubSpot Score", "number", "number", calculated=True),
        PropertyDef(
            "associatedcompanyid", "Primary Associated Company ID", "number", "number", read_only=True
        ),
    ],
    "companies": [
        *_common(_COMPANY, "hs_lastmodifieddate"),
        PropertyDef("name", "Company name", group=_COMPANY),
        PropertyDef("domain", "Company Domain Name", group=_COMPANY),
        PropertyDef("website", "Website URL", group=_COMPANY),
        PropertyDef("numberofemployees", "Number of Employees", "number", "number", group=_COMPANY),
        PropertyDef("annualrevenue", "Annual Revenue", "number", "number", group=_COMPANY),
        _enum("industry", "Industry", INDUSTRIES, group=_COMPANY),
        _enum("lifecyclestage", "Lifecycle Stage", LIFECYCLE_STAGES, group=_COMPANY),
        PropertyDef("description", "Description", "string", "textarea", group=_COMPANY),
    ],
    "deals": [
        *_common(_DEAL, "hs_lastmodifieddate"),
        PropertyDef("dealname", "Deal Name", group=_DEAL),
        PropertyDef("amount", "Amount", "number", "number", group=_DEAL),
        _enum("pipeline", "Pipeline", tuple(p.id for p in PIPELINES), group=_DEAL),
        _enum("dealstage", "Deal Stage", tuple(s.id for p in PIPELINES for s in p.stages), group=_DEAL),
        PropertyDef("closedate", "Close Date", "datetime", "date", group=_DEAL),
        _enum("dealtype", "Deal Type", ("newbusiness", "existingbusiness"), group=_DEAL),
        PropertyDef("description", "Deal Description", "string", "textarea", group=_DEAL),
        PropertyDef(
            "hs_is_closed_won", "Is Closed Won", "bool", "booleancheckbox", calculated=True, group=_DEAL
        ),
        PropertyDef(
            "hs_is_closed", "Is Deal Closed?", "bool", "booleancheckbox", calculated=True, group=_DEAL
        ),
        # Sales activities (notes, calls, emails, meetings) logged on the deal; HubSpot counts them itself.
        PropertyDef("num_notes", "Number of Sales Activities", "number", "number", calculated=True, group=_DEAL),
        PropertyDef(
            "hs_deal_stage_probability",
            "Deal Stage Probability",
            "number",
            "number",
            calculated=True,
            group=_DEAL,
        ),
    ],
}
Catalog = dict[str, dict[str, PropertyDef]]  # object -> property name -> definition


def default_properties() -> Catalog:
    """A fresh copy of a new portal's property catalog; each emulator owns one and adds custom ones to it."""
    return {obj: {d.name: d for d in defs} for obj, defs in _DEFS.items()}


@dataclass(frozen=True, slots=True)
class AssocType:
    """One direction of a HUBSPOT_DEFINED association type; `inverse` is the reverse direction's id."""

    from_object: str
    to_object: str
    type_id: int
    inverse: int
    label: str | None  # None = the unlabeled association every pair has
    name: str  # the v3 `associations` type name, e.g. contact_to_company


_PAIRS = [  # (from, to, id, inverse id, label, v3 name)
    ("contacts", "companies", 1, 2, "Primary", "contact_to_company"),
    ("contacts", "companies", 279, 280, None, "contact_to_company_unlabeled"),
    ("deals", "contacts", 3, 4, None, "deal_to_contact"),
    ("deals", "companies", 5, 6, "Primary", "deal_to_company"),
    ("deals", "companies", 341, 342, None, "deal_to_company_unlabeled"),
]


def _both(row: tuple[str, str, int, int, str | None, str]) -> list[AssocType]:
    frm, to, tid, inv, label, name = row
    back = f"{SINGULAR[to]}_to_{SINGULAR[frm]}" + ("_unlabeled" if name.endswith("_unlabeled") else "")
    return [AssocType(frm, to, tid, inv, label, name), AssocType(to, frm, inv, tid, label, back)]


ASSOC_TYPES: dict[tuple[str, str, int], AssocType] = {
    (a.from_object, a.to_object, a.type_id): a for row in _PAIRS for a in _both(row)
}


@dataclass(slots=True)
class PairTypes:
    """The type ids between one (from, to) object pair: the unlabeled default and the primary, if any."""

    unlabeled: int
    primary: int | None = None
    all: set[int] = field(default_factory=set)


def pair_types(from_object: str, to_object: str) -> PairTypes | None:
    found = [a for (f, t, _), a in ASSOC_TYPES.items() if f == from_object and t == to_object]
    if not found:
        return None
    unlabeled = next(a.type_id for a in found if a.label is None)
    primary = next((a.type_id for a in found if a.label == "Primary"), None)
    return PairTypes(unlabeled, primary, {a.type_id for a in found})
