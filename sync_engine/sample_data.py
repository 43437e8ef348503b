"""Seed data for the emulators: a deterministic, messy B2B dataset in HubSpot and Salesforce JSON shapes.

The demo and the end-to-end tests seed both emulators with it, so it carries the mess real CRMs have:
people and companies present in both systems under differently written emails and websites,
free-mail addresses, invalid emails, missing required fields, an inactive owner, and records sharing
one modified timestamp (the page-boundary case of incremental reads). Each kind is listed in
`SampleData.truth`, so a test can check what revhub made of it. Same seed, same bytes: one
`random.Random(seed)`, no clock, timestamps are fixed offsets from `BASE_TIME`.
The word lists (names, brands, industries, job titles) are `data/sample_*.txt`; their order is part
of that promise.
"""
from __future__ import annotations

import json
import random
import re
import string
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["BASE_TIME", "FREE_MAIL_DOMAINS", "SampleData", "generate", "sf_id_suffix", "write_seeds"]

BASE_TIME = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
FREE_MAIL_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com")
SF_API = "/services/data/v59.0/sobjects"
OWNER_DOMAIN = "lumora.io"  # the sales team's own company: owners and users, never a customer
_DAY_MS, _HOUR_MS = 86_400_000, 3_600_000
T = TypeVar("T")

_DATA = Path(__file__).parent / "data"


def _read_words(name: str) -> tuple[str, ...]:
    """One entry a line of `data/<name>`, in file order (the draws depend on it); `#` starts a comment."""
    lines = (line.partition("#")[0].strip() for line in (_DATA / name).read_text("utf-8").splitlines())
    return tuple(line for line in lines if line)


FIRST = _read_words("sample_first_names.txt")
LAST = _read_words("sample_last_names.txt")
BRAND_A = _read_words("sample_brand_starts.txt")
BRAND_B = _read_words("sample_brand_ends.txt")
# (name word, HubSpot industry id, Salesforce Industry). REAL_ESTATE has no Salesforce twin, as in real orgs.
KINDS = tuple((word.strip(), hubspot.strip(), salesforce.strip()) for word, hubspot, salesforce
              in (line.split("|") for line in _read_words("sample_industries.txt")))
TITLES = _read_words("sample_job_titles.txt")
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
INVALID_EMAILS = ("{l}@", "{l}@@{d}", "{l}.{d}", "{l}@{b}", "{l} @{d}", "{l}@{b}..{t}")
# How a person typed their address. Variants sit mostly on people present in both systems, where
# they decide whether the two records are matched: case on the Salesforce side, whitespace and case
# on HubSpot's (its API lower-cases, but imports and seeds carry what people typed).
HS_EMAIL_STYLES = ("plain", "lead_space", "trail_space", "both_space", "case")
SF_EMAIL_STYLES = ("plain", "title", "upper", "domain_upper")


@dataclass(frozen=True, slots=True)
class SampleData:
    """Seed payloads per system (object key -> native records) and the ground truth tests check against.

    Frozen so it is not replaced by accident; the dicts inside are plain data, treat them as read-only.
    """

    hubspot: dict[str, list[dict[str, Any]]]
    salesforce: dict[str, list[dict[str, Any]]]
    truth: dict[str, Any]


@dataclass(slots=True)
class _Company:
    name: str
    legal_name: str
    domain: str
    kind: tuple[str, str, str]
    country: str
    employees: int
    phone: str
    owner: int
    in_hs: bool
    in_sf: bool
    weight: float  # how many of the people work there, relatively: a few large accounts, many small ones
    hs_id: str | None = None
    sf_id: str | None = None
    no_website: bool = False
    won: bool = False


@dataclass(slots=True)
class _Person:
    first: str
    last: str
    email: str  # the normalized key; for an invalid person the broken address itself
    company: _Company | None
    in_hs: bool
    in_sf: bool
    title: str | None
    phone: str | None
    invalid: bool = False
    free: bool = False
    hs_linked: bool = True
    sf_linked: bool = True
    hs_id: str | None = None
    sf_id: str | None = None
    no_lastname: bool = False


def sf_id_suffix(id15: str) -> str:
    """The 3-character checksum that turns a 15-char Salesforce id into its case-insensitive 18-char form."""
    alphabet = string.ascii_uppercase + "012345"
    return "".join(alphabet[sum(1 << i for i, c in enumerate(id15[k:k + 5]) if "A" <= c <= "Z")]
                   for k in (0, 5, 10))


def _iso(ms: int, zone: str) -> str:
    moment = BASE_TIME + timedelta(milliseconds=ms)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}{zone}"


def _spread(rng: random.Random, n: int, required: Sequence[T], pool: Sequence[T],
            weights: Sequence[float] | None = None) -> list[T]:
    """`n` draws from `pool` in which every `required` value appears at least once when `n` allows.

    This is what keeps every kind of mess present at the small sizes tests use.
    """
    out = list(required[:n]) + rng.choices(pool, weights=weights, k=max(0, n - len(required)))
    rng.shuffle(out)
    return out


def _ascii(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z-]", "", folded.lower())


def _phone(rng: random.Random, country: str) -> str:
    """A number from the ranges reserved for fiction (555-01xx, Ofcom's 7946 0xxx, ACMA's 5550 xxxx)."""
    if country == "UK":
        n = f"{rng.randrange(1000):03d}"
        return rng.choice((f"+44 20 7946 0{n}", f"020 7946 0{n}", f"+442079460{n}"))
    if country == "AU":
        n = f"{rng.randrange(10000):04d}"
        return rng.choice((f"+61 2 5550 {n}", f"(02) 5550 {n}"))
    area = rng.choice(("212", "415", "312", "617", "206", "512", "303", "404"))
    n = f"{rng.randrange(100):02d}"
    return rng.choice((f"+1 {area}-555-01{n}", f"({area}) 555-01{n}", f"{area}.555.01{n}",
                       f"+1{area}55501{n}"))


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


class _Builder:
    """Builds one world (owners, companies, people, deals), then writes it in each system's own shape."""

    def __init__(self, seed: int, overlap: float) -> None:
        self.rng = random.Random(seed)
        self.overlap = overlap
        self.domains: set[str] = {OWNER_DOMAIN, *FREE_MAIL_DOMAINS}
        self.emails: set[str] = set()
        self.hs_next = {"contacts": 100_000, "companies": 500_000, "deals": 900_000, "owners": 30_000_000}
        self.sf_next = {p: self.rng.randrange(62**5, 62**6) for p in ("001", "003", "006", "005")}
        self.ties: dict[str, dict[str, list[str]]] = {"hubspot": {}, "salesforce": {}}
        self.hs_owner_ids: list[str] = []
        self.sf_user_ids: list[str] = []
        self.sf_accounts: dict[str, dict[str, Any]] = {}  # Type is settled once the opportunities exist

    # --- ids and time ---------------------------------------------------------------------------
    def hs_id(self, obj: str) -> str:
        self.hs_next[obj] += self.rng.randint(1, 9)
        return str(self.hs_next[obj])

    def sf_id(self, prefix: str) -> str:
        """Key prefix + pod "5g" + a base-62 counter, then the checksum: what a real org hands out."""
        self.sf_next[prefix] += self.rng.randint(1, 61)
        n, body = self.sf_next[prefix], ""
        for _ in range(10):
            n, digit = divmod(n, 62)
            body = (string.digits + string.ascii_uppercase + string.ascii_lowercase)[digit] + body
        id15 = f"{prefix}5g{body}"
        return id15 + sf_id_suffix(id15)

    def stamps(self, system: str, obj: str, n: int) -> list[tuple[int, int, int]]:
        """(created, modified, system-modstamp) ms offsets, created in id order; ~8% share a modified stamp.

        The shared stamps sit mid-range (day 20), where incremental reads page through them: a reader
        with a strict `>` cursor loses records there. 5% of Salesforce records were touched by
        automation after the last user edit, so their SystemModstamp is later than LastModifiedDate.
        """
        rng = self.rng
        created = sorted(rng.randrange(14 * _DAY_MS) for _ in range(n))
        if created:
            created[0] = 0
        modified = [c + rng.randrange(14 * _DAY_MS) for c in created]
        modstamp = [m + (rng.randrange(1, _HOUR_MS) if rng.random() < 0.05 else 0) for m in modified]
        if n >= 2:
            k = max(2, round(n * 0.08))
            ties = [20 * _DAY_MS + h * _HOUR_MS for h in range(max(1, k // 4))]
            for j, i in enumerate(sorted(rng.sample(range(n), k))):
                modified[i] = modstamp[i] = ties[j % len(ties)]
            zone = "Z" if system == "hubspot" else "+0000"
            self.ties[system][obj] = [_iso(t, zone) for t in ties]
        return list(zip(created, modified, modstamp, strict=True))

    # --- the shared world -----------------------------------------------------------------------
    def split(self, n: int, both: int) -> list[tuple[bool, bool]]:
        """Membership flags: `both` in both systems, the rest split, HubSpot getting the odd one."""
        rest = n - both
        out = [(True, True)] * both + [(True, False)] * ((rest + 1) // 2) + [(False, True)] * (rest // 2)
        self.rng.shuffle(out)
        return out

    def owners(self, n: int) -> list[tuple[str, str, str]]:
        out: dict[str, tuple[str, str, str]] = {}
        while len(out) < n:
            first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
            email = f"{_ascii(first)}.{_ascii(last)}@{OWNER_DOMAIN}"
            out.setdefault(email, (first, last, email))
        return list(out.values())

    def domain_for(self, brand: str, kind: str, country: str) -> str:
        rng = self.rng
        for attempt in range(1000):
            tld = {"UK": "co.uk", "AU": "com.au"}.get(country) or rng.choices(
                ("com", "io", "co", "ai", "net"), (75, 10, 5, 5, 5))[0]
            label = rng.choice((brand, brand, brand, brand + kind, f"get{brand}", f"{brand}-{kind}")).lower()
            domain = f"{label}{attempt // 20 or ''}.{tld}"  # digits only once the word space runs thin
            if domain not in self.domains:
                self.domains.add(domain)
                return domain
        raise ValueError("too many companies for the name lists")

    def companies(self, n: int, owners: int) -> list[_Company]:
        rng = self.rng
        countries = _spread(rng, n, ["UK", "AU"], ["US", "UK", "AU"], [75, 15, 10])
        out = []
        for (in_hs, in_sf), country in zip(self.split(n, round(n * self.overlap)), countries, strict=True):
            kind = rng.choice(KINDS)
            brand = rng.choice(BRAND_A) + rng.choice(BRAND_B)
            domain = self.domain_for(brand, kind[0], country)
            name = f"{brand} {kind[0]}"
            legal = name + ({"UK": " Ltd", "AU": " Pty Ltd"}.get(country) or rng.choice((", Inc.", " LLC")))
            employees = min(int(rng.paretovariate(1.1) * 12), 48_000)
            out.append(_Company(name, legal, domain, kind, country, employees, _phone(rng, country),
                                rng.randrange(owners), in_hs, in_sf, min(rng.paretovariate(1.3), 25.0)))
        sf_only = [c for c in out if not c.in_hs] or [c for c in out if c.in_sf]
        for company in rng.sample(sf_only, min(len(sf_only), max(1, round(n * 0.02)))):
            company.no_website = True
        return out

    def email_for(self, first: str, last: str, domain: str | None) -> str:
        """A unique work address at `domain`, or a free-mail one when `domain` is None."""
        rng, f, ln = self.rng, _ascii(first) or "info", _ascii(last) or "contact"
        if domain is None:
            domain = rng.choice(FREE_MAIL_DOMAINS)
            year, num = rng.randrange(70, 100), rng.randrange(99)
            local = rng.choice((f"{f}.{ln}", f"{f}{ln}{year}", f"{f[0]}{ln}{num}"))
        else:
            local = rng.choices((f"{f}.{ln}", f"{f}{ln}", f"{f[0]}{ln}", f, f"{f}_{ln}", f"{f}.{ln[0]}"),
                                (50, 10, 20, 5, 5, 10))[0]
        email, n = f"{local}@{domain}", 1
        while email in self.emails:
            n += 1
            email = f"{local}{n}@{domain}"
        self.emails.add(email)
        return email

    def people(self, n: int, companies: list[_Company]) -> list[_Person]:
        rng = self.rng
        invalid = max(1, round(n * 0.005)) if n >= 4 else 0  # per system: ~1% in all
        valid = n - 2 * invalid
        members = self.split(valid, min(valid, round(n * self.overlap)))
        free = set(rng.sample(range(valid), min(valid, max(1, round(n * 0.05))))) if valid else set()
        specs = [(m, i in free, False) for i, m in enumerate(members)]
        specs += [((True, False), False, True)] * invalid + [((False, True), False, True)] * invalid
        rng.shuffle(specs)
        pools: dict[tuple[bool, bool], tuple[list[_Company], list[float]]] = {}
        for hs, sf in ((True, True), (True, False), (False, True)):
            # A person can only be linked to a company that exists in each system the person is in.
            pool = [c for c in companies if (c.in_hs or not hs) and (c.in_sf or not sf)]
            pools[(hs, sf)] = (pool, list(accumulate(c.weight for c in pool)))
        out = []
        for (in_hs, in_sf), is_free, is_invalid in specs:
            first, last = rng.choice(FIRST), rng.choice(LAST)
            pool, cum = pools[(in_hs, in_sf)]
            # Most free-mail people are individuals; a quarter are a company's staff on a personal address.
            use_company = pool and (not is_free or rng.random() < 0.25)
            company = rng.choices(pool, cum_weights=cum)[0] if use_company else None
            domain = company.domain if company and not is_free else None
            email = self.email_for(first, last, domain)
            if is_invalid:
                local, domain = email.split("@")
                brand, _, tld = domain.partition(".")
                email = rng.choice(INVALID_EMAILS).format(l=local, d=domain, b=brand, t=tld)
            title = rng.choice(TITLES) if rng.random() < 0.9 else None
            phone = _phone(rng, company.country if company else "US") if rng.random() < 0.8 else None
            out.append(_Person(first, last, email, company, in_hs, in_sf, title, phone, is_invalid,
                               domain is None and not is_invalid, hs_linked=rng.random() < 0.92,
                               sf_linked=rng.random() < 0.92))
        hs_valid = [p for p in out if p.in_hs and not p.invalid]
        for person in rng.sample(hs_valid, min(len(hs_valid), max(1, round(len(hs_valid) * 0.02)))):
            person.no_lastname = True
        return out

    def email_styles(self, people: list[_Person], system: str) -> list[str]:
        rng, hs = self.rng, system == "hubspot"
        styles = HS_EMAIL_STYLES if hs else SF_EMAIL_STYLES
        out = rng.choices(styles, (96, 0, 2, 0, 2) if hs else (75, 20, 5, 0), k=len(people))
        shared = [i for i, p in enumerate(people) if p.in_hs and p.in_sf]
        required = ("lead_space", "trail_space", "case") if hs else ("title", "upper", "domain_upper")
        weights = (70, 8, 8, 4, 10) if hs else (45, 35, 10, 10)
        for i, style in zip(shared, _spread(rng, len(shared), required, styles, weights), strict=True):
            out[i] = style
        return ["plain" if p.invalid else s for p, s in zip(people, out, strict=True)]

    def amount_and_close(self, closed: bool) -> tuple[float, str]:
        """5k-250k, skewed low as real pipelines are; closed deals closed before the base date, open after."""
        amount = float(round(5000 * 50 ** self.rng.random() / 500) * 500)
        days = -self.rng.randint(3, 300) if closed else self.rng.randint(7, 270)
        return amount, (BASE_TIME + timedelta(days=days)).date().isoformat()

    # --- HubSpot's shapes ------------------------------------------------------------------------
    def hs_record(self, rec_id: str, props: dict[str, str | None], stamp: tuple[int, int, int],
                  modified_key: str) -> dict[str, Any]:
        created, modified = _iso(stamp[0], "Z"), _iso(stamp[1], "Z")
        props |= {"createdate": created, modified_key: modified, "hs_object_id": rec_id}
        return {"id": rec_id, "properties": {k: v for k, v in props.items() if v is not None},
                "createdAt": created, "updatedAt": modified, "archived": False}

    def hubspot(self, team: list[tuple[str, str, str]], companies: list[_Company],
                people: list[_Person]) -> dict[str, list[dict[str, Any]]]:
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
                                  "createdAt": _iso(cr, "Z"), "updatedAt": _iso(mo, "Z"), "archived": False})
        in_hs = [c for c in companies if c.in_hs]
        sites = _spread(rng, len(in_hs), HS_WEBSITES, HS_WEBSITES)
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

    def hs_deals(self, n: int, companies: list[_Company], out: dict[str, list[dict[str, Any]]]) -> None:
        rng, pool = self.rng, [c for c in companies if c.hs_id]
        stages = _spread(rng, n, HS_STAGES, HS_STAGES, HS_STAGE_WEIGHTS)
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

    # --- Salesforce's shapes ---------------------------------------------------------------------
    def sf_record(self, obj: str, rec_id: str, fields: dict[str, Any],
                  stamp: tuple[int, int, int]) -> dict[str, Any]:
        return {"attributes": {"type": obj, "url": f"{SF_API}/{obj}/{rec_id}"}, "Id": rec_id, **fields,
                "CreatedDate": _iso(stamp[0], "+0000"), "LastModifiedDate": _iso(stamp[1], "+0000"),
                "SystemModstamp": _iso(stamp[2], "+0000"), "IsDeleted": False}

    def salesforce(self, team: list[tuple[str, str, str]], companies: list[_Company],
                   people: list[_Person]) -> dict[str, list[dict[str, Any]]]:
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
        sites = iter(_spread(rng, sum(not c.no_website for c in in_sf), SF_WEBSITES, SF_WEBSITES))
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

    def sf_opportunities(self, n: int, companies: list[_Company], people: list[_Person],
                         out: dict[str, list[dict[str, Any]]]) -> None:
        """Opportunities on accounts that have contacts, so `ContactId` is one of the account's own."""
        rng = self.rng
        staff: dict[str, list[str]] = {}
        for p in people:
            if p.sf_id and p.sf_linked and p.company and p.company.sf_id:
                staff.setdefault(p.company.sf_id, []).append(p.sf_id)
        accounts = [c for c in companies if c.sf_id in staff] or [c for c in companies if c.sf_id]
        cum = list(accumulate(c.weight for c in accounts))
        stages = _spread(rng, n, list(SF_STAGES), list(SF_STAGES), SF_STAGE_WEIGHTS)
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


def generate(seed: int = 7, companies: int = 300, contacts: int = 2400, opportunities: int = 400,
             overlap: float = 0.35) -> SampleData:
    """Build the dataset.

    `contacts` counts distinct people (valid-email people plus the invalid-email ones, which exist in
    one system each); `opportunities` counts every deal: about 1 in 20 is a HubSpot-only deal, the
    rest are Salesforce Opportunities. `overlap` is the share of companies and of people in both systems.
    """
    if min(companies, contacts, opportunities) < 0 or not 0.0 <= overlap <= 1.0:
        raise ValueError("counts must be >= 0 and overlap within [0, 1]")
    b = _Builder(seed, overlap)
    team = b.owners(max(3, min(12, companies // 30)))
    world = b.companies(companies, len(team))
    people = b.people(contacts, world)
    hubspot = b.hubspot(team, world, people)
    salesforce = b.salesforce(team, world, people)
    hs_deals = max(1, opportunities // 20) if opportunities >= 2 else 0
    b.hs_deals(hs_deals, world, hubspot)
    b.sf_opportunities(opportunities - hs_deals, world, people, salesforce)
    valid = sorted((p for p in people if not p.invalid), key=lambda p: p.email)
    truth: dict[str, Any] = {
        "base_time": _iso(0, "Z"),
        "people": {p.email: {"hubspot": p.hs_id, "salesforce": p.sf_id} for p in valid},
        "companies": {c.domain: {"hubspot": c.hs_id, "salesforce": c.sf_id}
                      for c in sorted(world, key=lambda c: c.domain)},
        "owners": {email: {"hubspot": h, "salesforce": s}
                   for (_, _, email), h, s in zip(team, b.hs_owner_ids, b.sf_user_ids, strict=True)},
        "free_mail": [p.email for p in valid if p.free],
        "invalid_emails": sorted([("hubspot", p.hs_id) for p in people if p.invalid and p.hs_id]
                                 + [("salesforce", p.sf_id) for p in people if p.invalid and p.sf_id]),
        "missing_required": sorted(
            [("hubspot", "contacts", p.hs_id, "lastname") for p in people if p.no_lastname and p.hs_id]
            + [("salesforce", "Account", c.sf_id, "Website") for c in world if c.no_website and c.sf_id]),
        "inactive_users": [u["Id"] for u in salesforce["User"] if not u["IsActive"]],
        "shared_modified": b.ties,
    }
    return SampleData(hubspot=hubspot, salesforce=salesforce, truth=truth)


def write_seeds(directory: Path, data: SampleData) -> dict[str, Path]:
    """Write one JSON list per object (`hubspot/contacts.json`, `salesforce/Account.json`, ...).

    That is the layout an emulator's `seed_dir(path)` loads (file stem = object key). Output is
    ASCII-only (names are escaped), so the bytes do not depend on the platform's default encoding.
    """
    folders: dict[str, Path] = {}
    for system, objects in (("hubspot", data.hubspot), ("salesforce", data.salesforce)):
        folder = Path(directory) / system
        folder.mkdir(parents=True, exist_ok=True)
        for name, records in objects.items():
            (folder / f"{name}.json").write_text(json.dumps(records, indent=1) + "\n", encoding="ascii")
        folders[system] = folder
    return folders
