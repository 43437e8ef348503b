"""A seeded ground truth for identity matching: people and companies as two systems hold them.

System A holds every person and company once, written cleanly (the identity graph's side). System B
holds one observation of each, written the way real CRM data is: case, whitespace, `mailto:`, display
names, plus tags, Gmail dots, IDN, websites with scheme/www/port/path/subdomain and country suffixes,
free-mail and role addresses, and typos that must NOT match anything. Each observation carries the
ids it truly belongs to (None: it must match nothing), so a matcher's precision and recall follow.

The generator knows nothing of `sync_engine.identity`; it is only told which names no company can
own (free-mail domains, public suffixes): the truth comes from how each record was made.
"""
from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass

import idna

__all__ = ["Company", "Person", "PersonObservation", "SiteObservation", "Truth", "generate"]

_CONSONANTS = "bcdfghjklmnprstvwz"
_VOWELS = "aeiou"
_UMLAUTS = {"a": "ä", "o": "ö", "u": "ü", "e": "é"}
_TLDS = ("com",) * 12 + ("io", "net", "co", "co.uk", "co.uk", "com.au", "de", "fr", "co.jp", "com.br", "ca",
                          "ch", "nl", "co.nz")
_FIRST = (
    "james", "mary", "robert", "patricia", "john", "jennifer", "michael", "linda", "david", "elizabeth",
    "william", "barbara", "richard", "susan", "joseph", "jessica", "thomas", "sarah", "charles", "karen",
    "daniel", "nancy", "matthew", "lisa", "mark", "priya", "rahul", "wei", "mei", "hiroshi", "yuki", "amara",
    "omar", "fatima", "liam", "aoife", "lukas", "sofia", "mateo", "chloe", "aisha", "diego", "lucia", "ingrid",
    "bjorn", "kwame"
)
_LAST = (
    "smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "rodriguez", "martinez",
    "wilson", "anderson", "taylor", "thomas", "moore", "jackson", "martin", "lee", "thompson", "white", "harris",
    "clark", "lewis", "walker", "young", "allen", "king", "wright", "scott", "nguyen", "hill", "green", "adams",
    "baker", "hall", "campbell", "patel", "shah", "kumar", "singh", "chen", "wang", "zhang", "kim", "park",
    "tanaka", "sato", "schmidt", "weber", "dubois", "rossi", "murphy", "kelly", "silva", "santos", "novak",
    "jensen", "cohen", "haddad"
)
_UNICODE_FIRST = ("jürgen", "zoë", "renée", "björn", "françois", "josé", "søren", "łukasz")
# Popular free-mail and ISP domains people really use, weighted roughly by how often they appear.
_FREE = (("gmail.com", 40), ("yahoo.com", 12), ("hotmail.com", 10), ("outlook.com", 8), ("aol.com", 3),
         ("icloud.com", 5), ("gmx.de", 3), ("web.de", 2), ("yahoo.co.uk", 3), ("orange.fr", 2),
         ("comcast.net", 3), ("qq.com", 3), ("163.com", 2), ("mail.ru", 2), ("btinternet.com", 2))
_ROLES = ("info", "sales", "support", "hello", "contact", "billing", "marketing", "admin")
_SUBDOMAINS = ("eu", "us", "uk", "mail", "corp", "de")

# Person observation variants. `typo_local` and `typo_domain` must match no person; `typo_domain` no company.
PERSON_VARIANTS = ("plain", "case", "whitespace", "mailto", "display_name", "plus_tag", "typo_local", "typo_domain")
PERSON_WEIGHTS = (25, 18, 12, 6, 4, 15, 12, 8)
# Website variants of a company observation; `typo`, `lookalike` and `free_mail` must match no company.
SITE_VARIANTS = ("plain", "scheme", "www", "full_url", "port", "subdomain", "padded", "email", "typo",
                 "lookalike", "free_mail")
SITE_WEIGHTS = (10, 12, 14, 10, 5, 10, 6, 5, 12, 8, 8)


@dataclass(frozen=True, slots=True)
class Company:
    id: int
    domain: str     # the registrable domain, Unicode for IDN companies
    website: str    # as system A holds it


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    email: str      # as system A holds it: lower-case, no plus tag, NFC
    company_id: int | None
    kind: str       # work, free_mail, role, subdomain, idn


@dataclass(frozen=True, slots=True)
class PersonObservation:
    raw: str
    variant: str
    person_id: int | None   # who it is: None means it must match no person
    company_id: int | None  # the account it belongs to: None for free-mail and wrong domains


@dataclass(frozen=True, slots=True)
class SiteObservation:
    raw: str
    variant: str
    company_id: int | None


@dataclass(frozen=True, slots=True)
class Truth:
    companies: list[Company]
    people: list[Person]
    person_observations: list[PersonObservation]
    site_observations: list[SiteObservation]


def _fold(email: str) -> str:
    """The mailbox an address reaches, as far as the folding rules can tell: used to refuse collisions."""
    local, _, domain = email.partition("@")
    local = local.partition("+")[0] or local
    if domain in ("gmail.com", "googlemail.com"):
        return local.replace(".", "") + "@gmail.com"
    return f"{local}@{domain}"


def _typo(rng: random.Random, word: str) -> str:
    """One keyboard slip on a letter: swap, drop, double or replace. Never touches dots, `+` or `@`."""
    letters = [i for i, c in enumerate(word) if c.isalpha()]
    i = rng.choice(letters)
    op = rng.randrange(4)
    if op == 0 and i + 1 < len(word) and word[i + 1].isalpha() and word[i + 1] != word[i]:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if op == 1 and len(letters) > 2:
        return word[:i] + word[i + 1:]
    if op == 2:
        return word[:i] + word[i] + word[i:]
    return word[:i] + rng.choice([c for c in "abcdefghijklmnopqrstuvwxyz" if c != word[i]]) + word[i + 1:]


class _Maker:
    def __init__(self, seed: int, reserved: frozenset[str]) -> None:
        self.rng = random.Random(seed)
        self.reserved = reserved
        self.domains: set[str] = set()
        self.mailboxes: set[str] = set()

    def label(self) -> str:
        rng = self.rng
        return "".join(rng.choice(_CONSONANTS) + rng.choice(_VOWELS) for _ in range(rng.randint(2, 4)))

    def companies(self, n: int) -> list[Company]:
        rng, out = self.rng, list[Company]()
        while len(out) < n:
            label, tld = self.label(), rng.choice(_TLDS)
            if rng.random() < 0.01:  # an IDN company: a vowel with a diacritic
                i = next((i for i, c in enumerate(label) if c in _UMLAUTS), None)
                if i is not None:
                    label = label[:i] + _UMLAUTS[label[i]] + label[i + 1:]
            domain = f"{label}.{tld}"
            if domain in self.domains or domain in self.reserved:
                continue
            self.domains.add(domain)
            out.append(Company(len(out) + 1, domain, rng.choice((domain, f"https://{domain}", f"www.{domain}"))))
        return out

    def mailbox(self, local: str, domain: str) -> str:
        email, n = f"{local}@{domain}", 1
        while _fold(email) in self.mailboxes:
            n += 1
            email = f"{local}{n}@{domain}"
        self.mailboxes.add(_fold(email))
        return email

    def local(self, unicode: bool = False) -> str:
        rng = self.rng
        first = rng.choice(_UNICODE_FIRST) if unicode else rng.choice(_FIRST)
        last = rng.choice(_LAST)
        return rng.choice((f"{first}.{last}", f"{first[0]}{last}", f"{first}_{last}", f"{first}{last}",
                           f"{first}"))

    def people(self, n: int, companies: list[Company]) -> list[Person]:
        rng, out = self.rng, list[Person]()
        free, weights = zip(*_FREE, strict=True)
        roles_taken: set[tuple[int, str]] = set()
        while len(out) < n:
            roll, company = rng.random(), rng.choice(companies)
            if roll < 0.20:
                email, cid, kind = self.mailbox(self.local(), rng.choices(free, weights)[0]), None, "free_mail"
            elif roll < 0.23:
                role = rng.choice(_ROLES)
                if (company.id, role) in roles_taken:
                    continue
                roles_taken.add((company.id, role))
                email, cid, kind = self.mailbox(role, company.domain), company.id, "role"
            elif roll < 0.25:
                email = self.mailbox(self.local(), f"{rng.choice(_SUBDOMAINS)}.{company.domain}")
                cid, kind = company.id, "subdomain"
            else:
                idn = not company.domain.isascii() and rng.random() < 0.5
                email, cid = self.mailbox(self.local(unicode=idn), company.domain), company.id
                kind = "idn" if not email.isascii() else "work"
            out.append(Person(len(out) + 1, email, cid, kind))
        return out

    def person_observation(self, person: Person) -> PersonObservation:
        rng = self.rng
        local, _, domain = person.email.partition("@")
        if person.kind == "idn":  # what IDN data looks like: upper case, Punycode domain, decomposed letters
            variant = rng.choice(("idn_case", "idn_punycode", "idn_nfd"))
            raw = {"idn_case": person.email.upper(),
                   "idn_punycode": f"{local}@{idna.encode(domain).decode()}",
                   "idn_nfd": unicodedata.normalize("NFD", person.email)}[variant]
            return PersonObservation(raw, variant, person.id, person.company_id)
        if domain == "gmail.com" and rng.random() < 0.4:
            variant = rng.choice(("gmail_dots", "googlemail"))
            if variant == "gmail_dots":
                bare = local.replace(".", "")
                cut = rng.randrange(1, len(bare)) if len(bare) > 1 else 1
                return PersonObservation(f"{bare[:cut]}.{bare[cut:]}@gmail.com".replace(".@", "@"), variant,
                                         person.id, None)
            return PersonObservation(f"{local}@googlemail.com", variant, person.id, None)
        variant = rng.choices(PERSON_VARIANTS, PERSON_WEIGHTS)[0]
        if variant == "typo_local":
            for _ in range(20):
                raw = f"{_typo(rng, local)}@{domain}"
                if _fold(raw) not in self.mailboxes:
                    return PersonObservation(raw, variant, None, person.company_id)
            variant = "plain"
        if variant == "typo_domain" and person.kind in ("work", "role"):
            label, _, tld = domain.partition(".")
            for _ in range(20):
                wrong = f"{_typo(rng, label)}.{tld}" if rng.random() < 0.7 else f"{label}.{_swap_tld(tld)}"
                if wrong not in self.domains and wrong not in self.reserved:
                    return PersonObservation(f"{local}@{wrong}", variant, None, None)
        if variant == "typo_domain":
            variant = "plain"
        raw = self.written(variant, person.email, local, domain)
        return PersonObservation(raw, variant, person.id, person.company_id)

    def written(self, variant: str, email: str, local: str, domain: str) -> str:
        """How a person's address looks in B under `variant` (only the chosen variant is built)."""
        rng = self.rng
        if variant == "case":
            return rng.choice((email.upper(), email.title(), local + "@" + domain.upper()))
        if variant == "whitespace":
            return rng.choice((f" {email}", f"{email} ", f"\t{email}\n", f"\u00a0{email} "))
        if variant == "mailto":
            return rng.choice((f"mailto:{email}", f"MAILTO:{email.upper()}", f"mailto:{email}?subject=hi"))
        if variant == "display_name":
            return f"{local.replace('.', ' ').title()} <{email}>"
        if variant == "plus_tag":
            return f"{local}+{rng.choice(('news', 'crm', 'webinar2026', 'x'))}@{domain}"
        return email

    def site_observation(self, company: Company) -> SiteObservation:
        rng = self.rng
        d = company.domain
        variant = rng.choices(SITE_VARIANTS, SITE_WEIGHTS)[0]
        if not d.isascii() and rng.random() < 0.6:
            variant = rng.choice(("idn_punycode", "idn_upper"))
        if variant in ("typo", "lookalike") and d.isascii():
            label, _, tld = d.partition(".")
            for _ in range(20):
                wrong = (f"{_typo(rng, label)}.{tld}" if variant == "typo"
                         else f"{label}-{rng.choice(('inc', 'group', 'hq'))}.{tld}")
                if wrong not in self.domains and wrong not in self.reserved:
                    return SiteObservation(rng.choice((wrong, f"https://www.{wrong}/")), variant, None)
        if variant in ("typo", "lookalike"):
            variant = "www"
        if variant == "free_mail":
            return SiteObservation(rng.choice(("gmail.com", "https://www.yahoo.com/", "outlook.com")), variant, None)
        raw = self.website(variant, d)
        return SiteObservation(raw, variant, company.id)


    def website(self, variant: str, d: str) -> str:
        """How a company's website looks in B under `variant`."""
        rng = self.rng
        if variant == "scheme":
            return rng.choice((f"https://{d}", f"http://{d}/"))
        if variant == "www":
            return f"www.{d}"
        if variant == "full_url":
            return f"HTTPS://WWW.{d.upper()}/about-us?utm_source=crm&x=1#team"
        if variant == "port":
            return f"http://{d}:8080/"
        if variant == "subdomain":
            return f"https://{rng.choice(('shop', 'app', 'eu.shop', 'blog'))}.{d}/en/"
        if variant == "padded":
            return f"  www.{d}.  "
        if variant == "email":
            return f"{rng.choice(_ROLES)}@{d}"
        if variant == "idn_punycode":
            return f"https://www.{idna.encode(d).decode()}/"
        if variant == "idn_upper":
            return f"WWW.{d.upper()}"
        return d


def _swap_tld(tld: str) -> str:
    return {"com": "co", "co": "com", "io": "co", "net": "com", "co.uk": "com", "com.au": "com"}.get(tld, "com")


def generate(people: int, seed: int, reserved: frozenset[str]) -> Truth:
    """`people` people at `people // 10` companies, one clean record each in A and one observation in B.

    `reserved`: names no company can own (free-mail domains, public suffixes such as `deno.net`).
    """
    maker = _Maker(seed, reserved)
    companies = maker.companies(max(people // 10, 10))
    persons = maker.people(people, companies)
    return Truth(companies, persons, [maker.person_observation(p) for p in persons],
                 [maker.site_observation(c) for c in companies])
