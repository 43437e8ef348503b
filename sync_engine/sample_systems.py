"""The sample world written in each system's own shapes: HubSpot's objects and Salesforce's sObjects.

Split from `sample_data` (which builds the world) along the seam between the two vendors: what a HubSpot
record looks like (properties, owners, associations, pipelines) and what a Salesforce one looks like
(attributes, Users, record types and the stages each sales process allows). The builder mixes both
classes in, so the draws happen in the same order as before and the bytes stay the same per seed.
"""
from __future__ import annotations

import random
import re
import string
from itertools import accumulate
from typing import TYPE_CHECKING, Any

from sync_engine.sample_world import Company, Person, iso_at, spread

__all__ = ["HubSpotShapes", "SalesforceShapes", "sf_id_suffix", "sf_record_type_ids"]

SF_API = "/services/data/v59.0/sobjects"
LIFECYCLE = ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer")
LIFECYCLE_WEIGHTS = (10, 35, 20, 12, 10, 13)
# Salesforce's default stages with their default probabilities; IsClosed/IsWon follow from the stage.
SF_STAGES = {"Prospecting": 10.0, "Qualification": 10.0, "Needs Analysis": 20.0, "Value Proposition": 50.0,
             "Id. Decision Makers": 60.0, "Perception Analysis": 70.0, "Proposal/Price Quote": 75.0,
             "Negotiation/Review": 90.0, "Closed Won": 100.0, "Closed Lost": 0.0}
SF_STAGE_WEIGHTS = (14, 12, 10, 9, 8, 7, 8, 7, 15, 10)
HS_STAGES = ("appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "decisionmakerboughtin",
             "contractsent", "closedwon", "closedlost")
HS_STAGE_WEIGHTS = (20, 18, 15, 12, 10, 15, 10)
# Deal pipelines (mappings/stages.toml). HubSpot: every 4th HubSpot-only deal is a renewal, in the Renewals
# pipeline, its stage moved to that pipeline's own ids. Salesforce: the Opportunity record types the org has,
# and which stage each sales process turns a drawn stage into (a process allows only some StageNames).
HS_RENEWALS = "75e28846"
HS_RENEWAL_STAGES = {"closedwon": "1003", "closedlost": "1004", "contractsent": "1002",
                     "decisionmakerboughtin": "1002"}  # earlier stages: "1001" (Renewal Due)
SF_RECORD_TYPES = {"New_Business": "New Business", "Expansion": "Expansion", "Renewal": "Renewal"}
SF_PROCESS_STAGES = {  # the StageNames each sales process allows (New_Business: all of them)
    "Expansion": {"Qualification", "Needs Analysis", "Proposal/Price Quote", "Negotiation/Review", "Closed Won",
                  "Closed Lost"},
    "Renewal": {"Qualification", "Negotiation/Review", "Closed Won", "Closed Lost"},
}
AMOUNT_REASONS = ("Seats added after the pilot", "Discount approved by finance", "Scope reduced to one team")
# How one registrable domain gets written in a website field; every form appears at least once.
SF_WEBSITES = ("https://www.{d}/", "http://{d}", "{d}/about", "www.{d}", "https://shop.{d}",
               "HTTPS://WWW.{D}", "https://{d}/en-us/", "{d}")
HS_WEBSITES = ("https://www.{d}", "http://{d}/", "{d}", "www.{d}")


def sf_id_suffix(id15: str) -> str:
    """The 3-character checksum that turns a 15-char Salesforce id into its case-insensitive 18-char form."""
    alphabet = string.ascii_uppercase + "012345"
    return "".join(alphabet[sum(1 << i for i, c in enumerate(id15[k:k + 5]) if "A" <= c <= "Z")]
                   for k in (0, 5, 10))


def _styled(email: str, style: str) -> str:
    """The address as a person typed it; `strip().lower()` always gives the normalized key back."""
    local, _, domain = email.partition("@")
    if style in ("case", "title"):
        return re.sub(r"[a-z]+", lambda m: m.group().capitalize(), local) + "@" + domain.capitalize()
    return {"lead_space": f" {email}", "trail_space": f"{email} ", "both_space": f"  {email} ",
            "upper": email.upper(), "domain_upper": f"{local}@{domain.upper()}"}.get(style, email)


def _association(src: str, src_id: str, dst: str, dst_id: str, type_id: int) -> dict[str, Any]:
    return {"from": {"object": src, "id": src_id}, "to": {"object": dst, "id": dst_id},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]}


class _Builds:
    """What the shapes use of the builder (`sample_data._Builder`), which mixes them in."""

    if TYPE_CHECKING:
        rng: random.Random
        hs_owner_ids: list[str]
        sf_user_ids: list[str]
        sf_accounts: dict[str, dict[str, Any]]

        def hs_id(self, obj: str) -> str: ...
        def sf_id(self, prefix: str) -> str: ...
        def stamps(self, system: str, obj: str, n: int) -> list[tuple[int, int, int]]: ...
        def email_styles(self, people: list[Person], system: str) -> list[str]: ...
        def amount_and_close(self, closed: bool) -> tuple[float, str]: ...


class HubSpotShapes(_Builds):
    # --- HubSpot's shapes ------------------------------------------------------------------------
    def hs_record(self, rec_id: str, props: dict[str, str | None], stamp: tuple[int, int, int],
                  modified_key: str) -> dict[str, Any]:
        created, modified = iso_at(stamp[0], "Z"), iso_at(stamp[1], "Z")
        props |= {"createdate": created, modified_key: modified, "hs_object_id": rec_id}
        return {"id": rec_id, "properties": {k: v for k, v in props.items() if v is not None},
                "createdAt": created, "updatedAt": modified, "archived": False}

    def hubspot(self, team: list[tuple[str, str, str]], companies: list[Company],
                people: list[Person]) -> dict[str, list[dict[str, Any]]]:
        rng = self.rng
        out: dict[str, list[dict[str, Any]]] = {k: [] for k in ("contacts", "companies", "deals", "owners",
                                                                "associations")}
        # The portal's custom property revhub keys deals by (set up once by the HubSpot admin).
        out["properties"] = [{"objectType": "deals", "name": "salesforce_opportunity_id",
                              "label": "Salesforce Opportunity ID", "type": "string", "fieldType": "text",
                              "groupName": "dealinformation", "hasUniqueValue": True},
                             {"objectType": "deals", "name": "amount_change_reason", "label": "Amount change reason",
                              "type": "string", "fieldType": "textarea", "groupName": "dealinformation"}]
        for (first, last, email), (cr, mo, _) in zip(team, self.stamps("hubspot", "owners", len(team)),
                                                      strict=True):
            oid = self.hs_id("owners")
            self.hs_owner_ids.append(oid)
            out["owners"].append({"id": oid, "email": email, "type": "PERSON", "firstName": first,
                                  "lastName": last, "userId": int(oid) + 9_000_000,
                                  "createdAt": iso_at(cr, "Z"), "updatedAt": iso_at(mo, "Z"), "archived": False})
        in_hs = [c for c in companies if c.in_hs]
        sites = spread(rng, len(in_hs), HS_WEBSITES, HS_WEBSITES)
        for c, site, stamp in zip(in_hs, sites, self.stamps("hubspot", "companies", len(in_hs)), strict=True):
            c.hs_id = self.hs_id("companies")
            out["companies"].append(self.hs_record(c.hs_id, {
                "name": c.name, "domain": c.domain, "website": site.format(d=c.domain),
                "industry": c.kind[1] if rng.random() < 0.95 else None, "numberofemployees": str(c.employees),
                "phone": c.phone, "hubspot_owner_id": self.hs_owner_ids[c.owner],
            }, stamp, "hs_lastmodifieddate"))
        contacts = [p for p in people if p.in_hs]
        styles = self.email_styles(contacts, "hubspot")
        stamps = self.stamps("hubspot", "contacts", len(contacts))
        for p, style, stamp in zip(contacts, styles, stamps, strict=True):
            p.hs_id = self.hs_id("contacts")
            company = p.company.hs_id if p.company and p.hs_linked else None
            owner = p.company.owner if p.company else rng.randrange(len(team))
            out["contacts"].append(self.hs_record(p.hs_id, {
                "email": _styled(p.email, style), "firstname": p.first,
                "lastname": None if p.no_lastname else p.last, "phone": p.phone, "jobtitle": p.title,
                "lifecyclestage": rng.choices(LIFECYCLE, LIFECYCLE_WEIGHTS)[0],
                "hubspot_owner_id": self.hs_owner_ids[owner], "associatedcompanyid": company,
            }, stamp, "lastmodifieddate"))
            if company:
                out["associations"].append(_association("contacts", p.hs_id, "companies", company, 1))
        return out

    def hs_deals(self, n: int, companies: list[Company], out: dict[str, list[dict[str, Any]]]) -> None:
        rng, pool = self.rng, [c for c in companies if c.hs_id]
        stages = spread(rng, n, HS_STAGES, HS_STAGES, HS_STAGE_WEIGHTS)
        for stage, stamp in zip(stages, self.stamps("hubspot", "deals", n), strict=True):
            deal_id, company = self.hs_id("deals"), rng.choice(pool) if pool else None
            amount, close = self.amount_and_close(stage.startswith("closed"))
            product = rng.choice(("Pilot", "Starter Plan", "Workshop"))
            renewal = len(out["deals"]) % 4 == 3
            if renewal:
                product, stage = "Renewal", HS_RENEWAL_STAGES.get(stage, "1001")
            out["deals"].append(self.hs_record(deal_id, {
                "dealname": f"{company.name if company else 'Inbound'} - {product}",
                "amount": str(int(amount)), "dealstage": stage, "pipeline": HS_RENEWALS if renewal else "default",
                "num_notes": str(int(deal_id) % 7),
                "closedate": f"{close}T00:00:00.000Z",
                "hubspot_owner_id": self.hs_owner_ids[company.owner] if company else None,
            }, stamp, "hs_lastmodifieddate"))
            if company and company.hs_id:  # deal -> company, primary
                out["associations"].append(_association("deals", deal_id, "companies", company.hs_id, 5))


class SalesforceShapes(_Builds):
    # --- Salesforce's shapes ---------------------------------------------------------------------
    def sf_record(self, obj: str, rec_id: str, fields: dict[str, Any],
                  stamp: tuple[int, int, int]) -> dict[str, Any]:
        return {"attributes": {"type": obj, "url": f"{SF_API}/{obj}/{rec_id}"}, "Id": rec_id, **fields,
                "CreatedDate": iso_at(stamp[0], "+0000"), "LastModifiedDate": iso_at(stamp[1], "+0000"),
                "SystemModstamp": iso_at(stamp[2], "+0000"), "IsDeleted": False}

    def salesforce(self, team: list[tuple[str, str, str]], companies: list[Company],
                   people: list[Person]) -> dict[str, list[dict[str, Any]]]:
        rng = self.rng
        out: dict[str, list[dict[str, Any]]] = {k: [] for k in ("Account", "Contact", "Opportunity", "User")}
        out["RecordType"] = [self.sf_record("RecordType", rt_id, {
            "Name": SF_RECORD_TYPES[name], "DeveloperName": name, "SobjectType": "Opportunity", "IsActive": True,
        }, (0, 0, 0)) for name, rt_id in sf_record_type_ids().items()]
        for i, ((first, last, email), stamp) in enumerate(
                zip(team, self.stamps("salesforce", "User", len(team)), strict=True)):
            uid = self.sf_id("005")
            self.sf_user_ids.append(uid)
            # The last rep has left: deactivated, still owning accounts (writes naming them as owner fail).
            out["User"].append(self.sf_record("User", uid, {
                "Name": f"{first} {last}", "Email": email, "Username": email, "IsActive": i < len(team) - 1,
            }, stamp))
        in_sf = [c for c in companies if c.in_sf]
        # Spread the website forms over the accounts that have one, so each form really appears.
        sites = iter(spread(rng, sum(not c.no_website for c in in_sf), SF_WEBSITES, SF_WEBSITES))
        for c, stamp in zip(in_sf, self.stamps("salesforce", "Account", len(in_sf)), strict=True):
            c.sf_id = self.sf_id("001")
            self.sf_accounts[c.sf_id] = self.sf_record("Account", c.sf_id, {
                "Name": c.legal_name if rng.random() < 0.4 else c.name,
                "Website": None if c.no_website else next(sites).format(d=c.domain, D=c.domain.upper()),
                "Industry": c.kind[2] if rng.random() < 0.95 else None, "NumberOfEmployees": c.employees,
                "Phone": c.phone, "OwnerId": self.sf_user_ids[c.owner], "Type": "Prospect",
            }, stamp)
            out["Account"].append(self.sf_accounts[c.sf_id])
        contacts = [p for p in people if p.in_sf]
        styles = self.email_styles(contacts, "salesforce")
        stamps = self.stamps("salesforce", "Contact", len(contacts))
        for p, style, stamp in zip(contacts, styles, stamps, strict=True):
            p.sf_id = self.sf_id("003")
            owner = p.company.owner if p.company else rng.randrange(len(team))
            out["Contact"].append(self.sf_record("Contact", p.sf_id, {
                "FirstName": p.first, "LastName": p.last, "Email": _styled(p.email, style), "Phone": p.phone,
                "Title": p.title, "AccountId": p.company.sf_id if p.company and p.sf_linked else None,
                "OwnerId": self.sf_user_ids[owner],
            }, stamp))
        return out

    def sf_opportunities(self, n: int, companies: list[Company], people: list[Person],
                         out: dict[str, list[dict[str, Any]]]) -> None:
        """Opportunities on accounts that have contacts, so `ContactId` is one of the account's own."""
        rng = self.rng
        staff: dict[str, list[str]] = {}
        for p in people:
            if p.sf_id and p.sf_linked and p.company and p.company.sf_id:
                staff.setdefault(p.company.sf_id, []).append(p.sf_id)
        accounts = [c for c in companies if c.sf_id in staff] or [c for c in companies if c.sf_id]
        cum = list(accumulate(c.weight for c in accounts))
        stages = spread(rng, n, list(SF_STAGES), list(SF_STAGES), SF_STAGE_WEIGHTS)
        for stage, stamp in zip(stages, self.stamps("salesforce", "Opportunity", n), strict=True):
            account = rng.choices(accounts, cum_weights=cum)[0] if accounts else None
            existing = rng.random() < 0.3
            product = rng.choice(("Renewal 2026", "Expansion", "Upsell: Seats") if existing else
                                 ("Platform", "Pilot", "Annual Subscription", "Enterprise Upgrade"))
            amount, close = self.amount_and_close(stage.startswith("Closed"))
            record_type = _record_type(product if existing else "", stage)
            serial = len(out["Opportunity"])
            if account and stage == "Closed Won":
                account.won = True
            contact = rng.choice(staff[account.sf_id]) if account and account.sf_id in staff else None
            owner = account.owner if account else rng.randrange(len(self.sf_user_ids))
            out["Opportunity"].append(self.sf_record("Opportunity", self.sf_id("006"), {
                "Name": f"{account.name if account else 'Unassigned'} - {product}", "StageName": stage,
                "CloseDate": close, "Amount": amount, "Probability": SF_STAGES[stage],
                "AccountId": account.sf_id if account else None, "ContactId": contact,
                "OwnerId": self.sf_user_ids[owner], "RecordTypeId": sf_record_type_ids()[record_type],
                # some small deals have no logged activity; every deal of 100k or more has some
                "Activity_Count__c": float(serial * 5 % 8 if amount < 100_000 else 1 + serial % 6),
                "Amount_Change_Reason__c": AMOUNT_REASONS[serial % 3] if serial % 5 == 0 else None,
                "Type": "Existing Business" if existing else "New Business",
                "IsClosed": stage.startswith("Closed"), "IsWon": stage == "Closed Won",
            }, stamp))
        for c in companies:
            if c.sf_id:
                self.sf_accounts[c.sf_id]["Type"] = (
                    rng.choice(("Customer - Direct", "Customer - Direct", "Customer - Channel")) if c.won
                    else rng.choices(("Prospect", "Channel Partner / Reseller", "Other"), (88, 6, 6))[0])


def _record_type(product: str, stage: str) -> str:
    """An existing customer's renewal or expansion gets that record type when its process allows the stage."""
    wanted = "Renewal" if product.startswith("Renewal") else "Expansion" if product else "New_Business"
    for record_type in (wanted, "Expansion"):
        if stage in SF_PROCESS_STAGES.get(record_type, ()):
            return record_type
    return "New_Business"


def sf_record_type_ids() -> dict[str, str]:
    """The sample org's Opportunity record type ids, by DeveloperName (fixed: metadata, not data)."""
    ids = {}
    for n, name in enumerate(SF_RECORD_TYPES, start=1):
        id15 = f"0125g00000{n:05d}"
        ids[name] = id15 + sf_id_suffix(id15)
    return ids
