"""Seed data for the emulators: a deterministic, messy B2B dataset in HubSpot and Salesforce JSON shapes.

The demo and the end-to-end tests seed both emulators with it, so it carries the mess real CRMs have:
people and companies present in both systems under differently written emails and websites,
free-mail addresses, invalid emails, missing required fields, an inactive owner, and records sharing
one modified timestamp (the page-boundary case of incremental reads). Each kind is listed in
`SampleData.truth`, so a test can check what revhub made of it. Same seed, same bytes: one
`random.Random(seed)`, no clock, timestamps are fixed offsets from `BASE_TIME`.
The word lists (names, brands, industries, job titles) are `data/sample_*.txt`; their order is part
of that promise. This module builds the world; `sample_world` holds its companies and people, and
`sample_systems` writes them in HubSpot's and Salesforce's shapes.
"""
from __future__ import annotations

import json
import random
import re
import string
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

from sync_engine.sample_systems import HubSpotShapes, SalesforceShapes, sf_id_suffix, sf_record_type_ids
from sync_engine.sample_world import BASE_TIME, Company, Person, iso_at, spread

__all__ = ["BASE_TIME", "FREE_MAIL_DOMAINS", "SampleData", "generate", "sf_id_suffix", "sf_record_type_ids",
           "write_seeds"]

FREE_MAIL_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com")
OWNER_DOMAIN = "lumora.io"  # the sales team's own company: owners and users, never a customer
_DAY_MS, _HOUR_MS = 86_400_000, 3_600_000

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


class _Builder(HubSpotShapes, SalesforceShapes):
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
            self.ties[system][obj] = [iso_at(t, zone) for t in ties]
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

    def companies(self, n: int, owners: int) -> list[Company]:
        rng = self.rng
        countries = spread(rng, n, ["UK", "AU"], ["US", "UK", "AU"], [75, 15, 10])
        out = []
        for (in_hs, in_sf), country in zip(self.split(n, round(n * self.overlap)), countries, strict=True):
            kind = rng.choice(KINDS)
            brand = rng.choice(BRAND_A) + rng.choice(BRAND_B)
            domain = self.domain_for(brand, kind[0], country)
            name = f"{brand} {kind[0]}"
            legal = name + ({"UK": " Ltd", "AU": " Pty Ltd"}.get(country) or rng.choice((", Inc.", " LLC")))
            employees = min(int(rng.paretovariate(1.1) * 12), 48_000)
            out.append(Company(name, legal, domain, kind, country, employees, _phone(rng, country),
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

    def people(self, n: int, companies: list[Company]) -> list[Person]:
        rng = self.rng
        invalid = max(1, round(n * 0.005)) if n >= 4 else 0  # per system: ~1% in all
        valid = n - 2 * invalid
        members = self.split(valid, min(valid, round(n * self.overlap)))
        free = set(rng.sample(range(valid), min(valid, max(1, round(n * 0.05))))) if valid else set()
        specs = [(m, i in free, False) for i, m in enumerate(members)]
        specs += [((True, False), False, True)] * invalid + [((False, True), False, True)] * invalid
        rng.shuffle(specs)
        pools: dict[tuple[bool, bool], tuple[list[Company], list[float]]] = {}
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
            out.append(Person(first, last, email, company, in_hs, in_sf, title, phone, is_invalid,
                               domain is None and not is_invalid, hs_linked=rng.random() < 0.92,
                               sf_linked=rng.random() < 0.92))
        hs_valid = [p for p in out if p.in_hs and not p.invalid]
        for person in rng.sample(hs_valid, min(len(hs_valid), max(1, round(len(hs_valid) * 0.02)))):
            person.no_lastname = True
        return out

    def email_styles(self, people: list[Person], system: str) -> list[str]:
        rng, hs = self.rng, system == "hubspot"
        styles = HS_EMAIL_STYLES if hs else SF_EMAIL_STYLES
        out = rng.choices(styles, (96, 0, 2, 0, 2) if hs else (75, 20, 5, 0), k=len(people))
        shared = [i for i, p in enumerate(people) if p.in_hs and p.in_sf]
        required = ("lead_space", "trail_space", "case") if hs else ("title", "upper", "domain_upper")
        weights = (70, 8, 8, 4, 10) if hs else (45, 35, 10, 10)
        for i, style in zip(shared, spread(rng, len(shared), required, styles, weights), strict=True):
            out[i] = style
        return ["plain" if p.invalid else s for p, s in zip(people, out, strict=True)]

    def amount_and_close(self, closed: bool) -> tuple[float, str]:
        """5k-250k, skewed low as real pipelines are; closed deals closed before the base date, open after."""
        amount = float(round(5000 * 50 ** self.rng.random() / 500) * 500)
        days = -self.rng.randint(3, 300) if closed else self.rng.randint(7, 270)
        return amount, (BASE_TIME + timedelta(days=days)).date().isoformat()

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
        "base_time": iso_at(0, "Z"),
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
