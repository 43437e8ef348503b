"""The emulator's schema: standard-object field metadata in Salesforce's describe shape (A12, A13).

Lengths and picklist values are the out-of-the-box defaults of a new org; real orgs change them, which
is why the connector always reads describe instead of trusting these.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KEY_PREFIXES: dict[str, str] = {"Account": "001", "Contact": "003", "Lead": "00Q", "Opportunity": "006",
                                "User": "005", "RecordType": "012"}
STRING_TYPES = frozenset({"id", "string", "textarea", "email", "url", "phone", "picklist", "reference"})
NUMBER_TYPES = frozenset({"int", "double", "currency", "percent"})

# Default Opportunity stages: name -> (probability, IsClosed, IsWon, ForecastCategoryName).
OPPORTUNITY_STAGES: dict[str, tuple[int, bool, bool, str]] = {
    "Prospecting": (10, False, False, "Pipeline"),
    "Qualification": (10, False, False, "Pipeline"),
    "Needs Analysis": (20, False, False, "Pipeline"),
    "Value Proposition": (50, False, False, "Pipeline"),
    "Id. Decision Makers": (60, False, False, "Pipeline"),
    "Perception Analysis": (70, False, False, "Pipeline"),
    "Proposal/Price Quote": (75, False, False, "Pipeline"),
    "Negotiation/Review": (90, False, False, "Pipeline"),
    "Closed Won": (100, True, True, "Closed"),
    "Closed Lost": (0, True, False, "Omitted"),
}
LEAD_STATUSES = ("Open - Not Contacted", "Working - Contacted", "Closed - Converted",
                 "Closed - Not Converted")
LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
INDUSTRIES = ("Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications",
              "Construction", "Consulting", "Education", "Electronics", "Energy", "Engineering",
              "Entertainment", "Environmental", "Finance", "Food & Beverage", "Government", "Healthcare",
              "Hospitality", "Insurance", "Machinery", "Manufacturing", "Media", "Not For Profit",
              "Recreation", "Retail", "Shipping", "Technology", "Telecommunications", "Transportation",
              "Utilities", "Other")
ACCOUNT_TYPES = ("Prospect", "Customer - Direct", "Customer - Channel", "Channel Partner / Reseller",
                 "Installation Partner", "Technology Partner", "Other")
# The org's Opportunity record types: DeveloperName -> (label, the StageNames its sales process allows).
# A record type picks a sales process, and the process is what limits the stages (Setup > Sales Processes);
# clients learn them per record type from the UI API picklist-values resource.
MASTER_RECORD_TYPE = "012000000000000AAA"  # what an object answers with when it has no record types of its own
OPPORTUNITY_RECORD_TYPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "New_Business": ("New Business", tuple(OPPORTUNITY_STAGES)),
    "Expansion": ("Expansion", ("Qualification", "Needs Analysis", "Proposal/Price Quote", "Negotiation/Review",
                                "Closed Won", "Closed Lost")),
    "Renewal": ("Renewal", ("Qualification", "Negotiation/Review", "Closed Won", "Closed Lost")),
}
OPPORTUNITY_TYPES = ("Existing Customer - Upgrade", "Existing Customer - Replacement",
                     "Existing Customer - Downgrade", "New Customer")


@dataclass(frozen=True, slots=True)
class Field:
    """One field's describe facts; `to_json()` renders Salesforce's DescribeFieldResult keys."""

    name: str
    type: str
    label: str
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted: bool = False
    unique: bool = False
    external_id: bool = False
    id_lookup: bool = False
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    reference_to: tuple[str, ...] = ()
    relationship: str | None = None
    custom: bool = False

    @property
    def required(self) -> bool:
        return not self.nillable and self.createable and not self.defaulted

    def to_json(self) -> dict[str, Any]:
        numeric = self.type in NUMBER_TYPES
        return {
            "name": self.name, "label": self.label, "type": self.type,
            "soapType": _SOAP_TYPES.get(self.type, "xsd:string"),
            "length": self.length, "byteLength": self.length * 3,
            "precision": 18 if numeric else 0, "scale": 2 if self.type in {"currency", "double"} else 0,
            "digits": 9 if self.type == "int" else 0,
            "nillable": self.nillable, "createable": self.createable, "updateable": self.updateable,
            "defaultedOnCreate": self.defaulted, "unique": self.unique, "externalId": self.external_id,
            "idLookup": self.id_lookup or self.type == "id", "calculated": False, "autoNumber": False,
            "caseSensitive": False, "custom": self.custom, "filterable": True, "sortable": True,
            "picklistValues": [
                {"value": v, "label": v, "active": True, "defaultValue": False, "validFor": None}
                for v in self.picklist],
            "restrictedPicklist": self.restricted, "dependentPicklist": False, "controllerName": None,
            "referenceTo": list(self.reference_to), "relationshipName": self.relationship,
        }


_SOAP_TYPES = {"id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "int": "xsd:int",
               "double": "xsd:double", "currency": "xsd:double", "percent": "xsd:double",
               "date": "xsd:date", "datetime": "xsd:dateTime"}


def _s(name: str, label: str, length: int, **kw: Any) -> Field:
    return Field(name, "string", label, length, **kw)


def _ro(name: str, type: str, label: str, **kw: Any) -> Field:
    """A read-only (system or derived) field."""
    return Field(name, type, label, createable=False, updateable=False, **kw)


def _ref(name: str, label: str, to: tuple[str, ...], relationship: str, **kw: Any) -> Field:
    return Field(name, "reference", label, 18, reference_to=to, relationship=relationship, **kw)


def _pick(name: str, label: str, values: tuple[str, ...], **kw: Any) -> Field:
    return Field(name, "picklist", label, 255, picklist=values, **kw)


def _system(obj: str) -> list[Field]:
    return [
        _ro("Id", "id", f"{obj} ID", length=18, nillable=False, defaulted=True),
        _ro("IsDeleted", "boolean", "Deleted", nillable=False, defaulted=True),
        _ro("MasterRecordId", "reference", "Master Record ID", length=18, reference_to=(obj,),
            relationship="MasterRecord"),
        _ro("CreatedDate", "datetime", "Created Date", nillable=False, defaulted=True),
        _ro("CreatedById", "reference", "Created By ID", length=18, nillable=False, defaulted=True,
            reference_to=("User",), relationship="CreatedBy"),
        _ro("LastModifiedDate", "datetime", "Last Modified Date", nillable=False, defaulted=True),
        _ro("LastModifiedById", "reference", "Last Modified By ID", length=18, nillable=False, defaulted=True,
            reference_to=("User",), relationship="LastModifiedBy"),
        _ro("SystemModstamp", "datetime", "System Modstamp", nillable=False, defaulted=True),
    ]


def _owner(to: tuple[str, ...] = ("User",)) -> Field:
    return _ref("OwnerId", "Owner ID", to, "Owner", nillable=False, defaulted=True)


def _external_id() -> Field:
    # The unique external id an integration adds to each object it upserts by (crm-apis.md A8).
    return _s("External_Id__c", "External Id", 255, unique=True, external_id=True, id_lookup=True,
              custom=True)


_FIELDS: dict[str, list[Field]] = {
    "Account": [
        *_system("Account"),
        _s("Name", "Account Name", 255, nillable=False, id_lookup=True),
        Field("Website", "url", "Website", 255),
        _pick("Industry", "Industry", INDUSTRIES),
        Field("NumberOfEmployees", "int", "Employees"),
        Field("AnnualRevenue", "currency", "Annual Revenue"),
        _pick("Type", "Account Type", ACCOUNT_TYPES),
        Field("Phone", "phone", "Account Phone", 40),
        _ref("ParentId", "Parent Account ID", ("Account",), "Parent"),
        _s("BillingCity", "Billing City", 40), _s("BillingCountry", "Billing Country", 80),
        _owner(), _external_id(),
    ],
    "Contact": [
        *_system("Contact"),
        _s("FirstName", "First Name", 40), _s("LastName", "Last Name", 80, nillable=False),
        _ro("Name", "string", "Full Name", length=121, nillable=False, id_lookup=True),
        Field("Email", "email", "Email", 80, id_lookup=True),
        Field("Phone", "phone", "Business Phone", 40), Field("MobilePhone", "phone", "Mobile Phone", 40),
        _s("Title", "Title", 128),
        _ref("AccountId", "Account ID", ("Account",), "Account"),
        _pick("LeadSource", "Lead Source", LEAD_SOURCES),
        Field("HasOptedOutOfEmail", "boolean", "Email Opt Out", nillable=False, defaulted=True),
        _s("MailingCity", "Mailing City", 40), _s("MailingCountry", "Mailing Country", 80),
        _owner(), _external_id(),
    ],
    "Lead": [
        *_system("Lead"),
        _s("FirstName", "First Name", 40), _s("LastName", "Last Name", 80, nillable=False),
        _ro("Name", "string", "Full Name", length=121, nillable=False, id_lookup=True),
        _s("Company", "Company", 255, nillable=False),
        Field("Email", "email", "Email", 80, id_lookup=True), Field("Website", "url", "Website", 255),
        Field("Phone", "phone", "Phone", 40), _s("Title", "Title", 128),
        _pick("Status", "Lead Status", LEAD_STATUSES, nillable=False, defaulted=True, restricted=True),
        _pick("LeadSource", "Lead Source", LEAD_SOURCES), _pick("Industry", "Industry", INDUSTRIES),
        _pick("Rating", "Rating", ("Hot", "Warm", "Cold")),
        Field("AnnualRevenue", "currency", "Annual Revenue"), Field("NumberOfEmployees", "int", "Employees"),
        Field("HasOptedOutOfEmail", "boolean", "Email Opt Out", nillable=False, defaulted=True),
        _ro("IsConverted", "boolean", "Converted", nillable=False, defaulted=True),
        _ro("ConvertedDate", "date", "Converted Date"),
        _ro("ConvertedAccountId", "reference", "Converted Account ID", length=18, reference_to=("Account",),
            relationship="ConvertedAccount"),
        _ro("ConvertedContactId", "reference", "Converted Contact ID", length=18, reference_to=("Contact",),
            relationship="ConvertedContact"),
        _ro("ConvertedOpportunityId", "reference", "Converted Opportunity ID", length=18,
            reference_to=("Opportunity",), relationship="ConvertedOpportunity"),
        _owner(("Group", "User")), _external_id(),
    ],
    "Opportunity": [
        *_system("Opportunity"),
        _s("Name", "Name", 120, nillable=False),
        _pick("StageName", "Stage", tuple(OPPORTUNITY_STAGES), nillable=False, restricted=True),
        Field("CloseDate", "date", "Close Date", nillable=False),
        Field("Amount", "currency", "Amount"), Field("Probability", "percent", "Probability (%)"),
        _ref("AccountId", "Account ID", ("Account",), "Account"),
        _ref("ContactId", "Contact ID", ("Contact",), "Contact"),
        _pick("Type", "Opportunity Type", OPPORTUNITY_TYPES),
        _pick("LeadSource", "Lead Source", LEAD_SOURCES),
        _ref("RecordTypeId", "Record Type ID", ("RecordType",), "RecordType"),
        _s("Amount_Change_Reason__c", "Amount Change Reason", 255, custom=True),
        # Logged activities (tasks and events) on the opportunity, kept up to date by a roll-up the admin set up.
        Field("Activity_Count__c", "double", "Activity Count", custom=True),
        _ro("IsClosed", "boolean", "Closed", nillable=False, defaulted=True),
        _ro("IsWon", "boolean", "Won", nillable=False, defaulted=True),
        _ro("ForecastCategoryName", "picklist", "Forecast Category", length=40,
            picklist=("Omitted", "Pipeline", "Best Case", "Commit", "Closed")),
        _owner(), _external_id(),
    ],
    "RecordType": [
        *(f for f in _system("RecordType") if f.name not in {"IsDeleted", "MasterRecordId"}),
        _s("Name", "Record Type Name", 80, nillable=False),
        _s("DeveloperName", "Record Type Name (API)", 80, nillable=False),
        _s("SobjectType", "SObject Type Name", 40, nillable=False),
        Field("IsActive", "boolean", "Active", nillable=False, defaulted=True),
        _s("Description", "Description", 255),
        _ro("BusinessProcessId", "reference", "Business Process ID", length=18),
    ],
    "User": [
        *(f for f in _system("User") if f.name not in {"IsDeleted", "MasterRecordId"}),
        _s("Username", "Username", 80, nillable=False, unique=True, id_lookup=True),
        _s("FirstName", "First Name", 40), _s("LastName", "Last Name", 80, nillable=False),
        _ro("Name", "string", "Full Name", length=121, nillable=False),
        Field("Email", "email", "Email", 128, nillable=False),
        Field("IsActive", "boolean", "Active", nillable=False, defaulted=True),
        _s("Alias", "Alias", 8, nillable=False),
    ],
}

SCHEMAS: dict[str, dict[str, Field]] = {obj: {f.name: f for f in fields} for obj, fields in _FIELDS.items()}
_LOWER: dict[str, dict[str, Field]] = {obj: {n.lower(): f for n, f in fs.items()}
                                       for obj, fs in SCHEMAS.items()}
_OBJECTS_LOWER = {obj.lower(): obj for obj in SCHEMAS}
_PLURALS = {"Opportunity": "Opportunities"}


def object_name(name: str) -> str | None:
    """The canonical spelling of an object name (Salesforce names are case-insensitive), or None."""
    return _OBJECTS_LOWER.get(name.lower())


def field(obj: str, name: str) -> Field | None:
    """The field `name` of `obj`, matched case-insensitively like Salesforce does, or None."""
    return _LOWER[obj].get(name.lower())


def relationship(obj: str, name: str) -> Field | None:
    """The reference field whose relationship name is `name` (`Account` -> `AccountId`), or None."""
    lowered = name.lower()
    return next((f for f in SCHEMAS[obj].values()
                 if f.relationship and f.relationship.lower() == lowered), None)


def sobject_urls(obj: str, version: str) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{obj}"
    return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}


def object_summary(obj: str, version: str) -> dict[str, Any]:
    """The object-level flags `GET sobjects` lists for each object."""
    return {
        "name": obj, "label": obj, "labelPlural": _PLURALS.get(obj, obj + "s"),
        "keyPrefix": KEY_PREFIXES[obj], "custom": False, "createable": True, "updateable": True,
        "deletable": obj != "User", "queryable": True, "replicateable": True, "retrieveable": True,
        "searchable": True, "mergeable": obj in {"Account", "Contact", "Lead"},
        "urls": sobject_urls(obj, version),
    }


def describe_object(obj: str, version: str, record_types: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The full `GET sobjects/{T}/describe` answer. `record_types`: the object's RecordType rows."""
    return {**object_summary(obj, version), "fields": [f.to_json() for f in SCHEMAS[obj].values()],
            "childRelationships": [], "recordTypeInfos": record_type_infos(obj, version, record_types or [])}


def record_type_infos(obj: str, version: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """describe's `recordTypeInfos`: each active record type, then the master one Salesforce always lists."""
    def info(rt_id: str, developer: str, name: str, default: bool, master: bool) -> dict[str, Any]:
        return {"active": True, "available": True, "defaultRecordTypeMapping": default, "developerName": developer,
                "master": master, "name": name, "recordTypeId": rt_id,
                "urls": {"layout": f"/services/data/v{version}/sobjects/{obj}/describe/layouts/{rt_id}"}}
    live = [r for r in rows if r.get("SobjectType") == obj and r.get("IsActive", True)]
    out = [info(r["Id"], r["DeveloperName"], r["Name"], k == 0, False) for k, r in enumerate(live)]
    return [*out, info(MASTER_RECORD_TYPE, "Master", "Master", not live, True)]


def stage_values(developer_name: str | None) -> tuple[str, ...]:
    """The StageNames an opportunity of this record type may take (the master record type: all of them)."""
    entry = OPPORTUNITY_RECORD_TYPES.get(developer_name or "")
    return entry[1] if entry else tuple(OPPORTUNITY_STAGES)


def picklist_values(obj: str, version: str, record_type_id: str, fields: dict[str, tuple[str, ...]]
                    ) -> dict[str, Any]:
    """The UI API `object-info/{obj}/picklist-values/{recordTypeId}` answer (Picklist Values Collection)."""
    base = f"/services/data/v{version}/ui-api/object-info/{obj}/picklist-values/{record_type_id}"
    return {"eTag": f"{abs(hash((obj, record_type_id, tuple(fields.items())))):x}", "picklistFieldValues": {
        name: {"controllerValues": {}, "defaultValue": None, "eTag": f"{abs(hash(values)):x}",
               "url": f"{base}/{name}",
               "values": [{"attributes": None, "label": v, "validFor": [], "value": v} for v in values]}
        for name, values in fields.items()}}
