"""Normalization of the keys that identify people (email), and the one door to company keys (domains).

One module shared by dedup, matching and routing, so every step agrees on what "the same" means.
`analyze_email` returns what it decided and every step that led there, so `revhub explain` can show it;
`email_keys_for` is the key-only path matching runs on every record; `normalize_email`, `is_valid_email`
and `company_domain_of_email` are the short forms the mapping transforms and `identify` use. Company
keys (websites, registrable domains, free-mail) live in `domains` and are re-exported here, so callers
import identity alone.

Email syntax is email-validator's (no DNS, ever). The common all-ASCII address takes a regular
expression that accepts exactly what email-validator accepts for such input (a test checks them
against each other), because email-validator costs ~60 us an address and a backfill has millions.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from email_validator import EmailNotValidError, validate_email

from sync_engine.domains import (
    FREE_MAIL_DOMAINS,
    NormalizedDomain,
    _classify,
    _Host,
    _host,
    _read_list,
    analyze_domain,
    company_domain,
    is_free_mail_domain,
    registrable_domain,
)

__all__ = [
    "DEFAULT_EMAIL_OPTIONS", "FREE_MAIL_DOMAINS", "ROLE_LOCAL_PARTS", "EmailOptions", "NormalizedDomain",
    "NormalizedEmail", "analyze_domain", "analyze_email", "company_domain", "company_domain_of_email",
    "email_keys", "email_keys_for", "entity_key", "is_free_mail_domain", "is_valid_email", "normalize_email",
    "registrable_domain",
]

# Local parts such as info, sales, support: a shared inbox, not a person.
ROLE_LOCAL_PARTS = _read_list("role_addresses.txt")

_GMAIL = frozenset({"gmail.com", "googlemail.com"})
# email-validator refuses these TLDs (IANA special use); such input takes its slow path for the reason.
_SPECIAL_USE_TLDS = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})
# An ASCII, lower-case address email-validator accepts unchanged: a dot-atom local part, then LDH
# labels and a TLD that ends with a letter. Domains with `--` (Punycode, R-LDH) take the slow path.
_FAST_LOCAL = re.compile(r"[a-z0-9_!#$%&'*+/=?^`{|}~-]++(?:\.[a-z0-9_!#$%&'*+/=?^`{|}~-]++)*+")
_FAST_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z0-9][a-z0-9-]{0,61})?[a-z]")


@dataclass(frozen=True, slots=True)
class EmailOptions:
    """How far two addresses may differ and still be one person; both off unless config says so."""

    fold_plus_tags: bool = False   # jane+news@acme.com is jane@acme.com
    fold_gmail_dots: bool = False  # j.ane@gmail.com is jane@gmail.com (and googlemail.com is gmail.com)


DEFAULT_EMAIL_OPTIONS = EmailOptions()


class NormalizedEmail(NamedTuple):
    """One address after normalization: the key, whether it is valid and why, and what was done to it.

    An immutable named tuple rather than a frozen dataclass: built once per record on the hot path, where
    a frozen dataclass's __init__ costs four times as much (1.6 us against 0.4 us, measured).
    """

    value: str | None          # the person key: lower-case, NFC, Unicode domain; None when invalid
    valid: bool
    reason: str                # why it is invalid; "" when valid
    steps: tuple[str, ...]     # what was done, in order
    role: bool = False         # info@, sales@, ...: a shared inbox
    free_mail: bool = False    # gmail.com, an ISP, a relay: never a company key
    domain: str | None = None  # registrable domain of the address, ASCII (Punycode)
    company_domain: str | None = None  # the company key it points at: `domain` unless free-mail
    cleaned: str | None = None  # the input trimmed, `mailto:` dropped, lower-cased, valid or not


def _fast_mail_host(domain: str) -> _Host | None:
    """The host of an address's domain when email-validator would accept it as it is; else None."""
    if "--" in domain or not _FAST_DOMAIN.fullmatch(domain) or domain.rpartition(".")[2] in _SPECIAL_USE_TLDS:
        return None
    # _FAST_DOMAIN admits only LDH labels, a subset of what _host checks, so only the length is left.
    return _classify(domain, False) if len(domain) <= 253 else _host(domain)


# `_fast_mail_host` per address domain: a plain dict the key functions read inline (a `dict.get` costs a
# third of an lru_cache call on the path every record takes), emptied when it reaches _MAIL_HOSTS_MAX.
_MAIL_HOSTS: dict[str, _Host | None] = {}
_MAIL_HOSTS_MAX = 1 << 18


def _mail_host(domain: str) -> _Host | None:
    host = _MAIL_HOSTS.get(domain)
    return _mail_host_miss(domain) if host is None and domain not in _MAIL_HOSTS else host


def _mail_host_miss(domain: str) -> _Host | None:
    if len(_MAIL_HOSTS) >= _MAIL_HOSTS_MAX:
        _MAIL_HOSTS.clear()
    host = _MAIL_HOSTS[domain] = _fast_mail_host(domain)
    return host


def clear_caches() -> None:
    """Forget every per-domain answer (the benchmark times passes from empty caches, as after a start)."""
    _MAIL_HOSTS.clear()
    _host.cache_clear()
    _mail_domain.cache_clear()


@lru_cache(maxsize=1 << 16)
def _mail_domain(domain: str) -> tuple[str, str] | str:
    """email-validator's verdict on the part after the @ (Unicode form, ASCII form) or why it refused it.

    Cached: the domain is the costly half of the check (~40-150 us) and people at one company share it.
    """
    try:
        found = validate_email(f"x@{domain}", check_deliverability=False)
    except EmailNotValidError as e:
        return str(e)
    return found.domain.lower(), found.ascii_domain


def _slow_email(text: str) -> tuple[str, str, str] | str:
    """(local part, Unicode domain, ASCII domain) as email-validator accepts them, or why it refused."""
    local, at, domain = text.rpartition("@")
    verdict = _mail_domain(domain.lower()) if at and local else None
    if isinstance(verdict, tuple):
        unicode_domain, ascii_domain = verdict
        lowered = local.lower()
        if not _FAST_LOCAL.fullmatch(lowered):
            try:  # the local part alone, beside a domain that is known to pass
                lowered = validate_email(f"{local}@example.com", check_deliverability=False).local_part.lower()
            except EmailNotValidError as e:
                return str(e)
        lowered = unicodedata.normalize("NFC", lowered)
        if len(f"{lowered}@{ascii_domain}".encode()) <= 254:
            return lowered, unicode_domain, ascii_domain
    elif isinstance(verdict, str):
        return verdict
    try:  # email-validator's own words for what is wrong with the whole
        validate_email(text, check_deliverability=False)
    except EmailNotValidError as e:
        return str(e)
    return "not a valid email address"  # unreachable while the split checks agree with the whole


def analyze_email(raw: object, options: EmailOptions = DEFAULT_EMAIL_OPTIONS) -> NormalizedEmail:
    """Trim, drop `mailto:`, lower-case, check syntax, fold per `options`; flag role and free-mail.

    Written for speed (it runs once per person per sync): the common address costs two string
    copies, one regular expression and two cached look-ups.
    """
    if raw is None:
        return NormalizedEmail(None, False, "empty", ())
    original = raw if type(raw) is str else str(raw)
    text = original.strip()
    lowered = text.lower()
    steps: tuple[str, ...] = ("trimmed whitespace",) if len(text) != len(original) else ()
    if lowered.startswith("mailto:"):
        text, lowered = text[7:].strip(), lowered[7:].strip()
        steps += ("removed 'mailto:'",)
        if "?" in lowered:
            text, lowered = text.partition("?")[0], lowered.partition("?")[0]
            steps += ("removed the mailto query",)
    if lowered.endswith(">") and "<" in lowered:  # `Jane Doe <jane@acme.com>`
        text, lowered = text[:-1].rpartition("<")[2].strip(), lowered[:-1].rpartition("<")[2].strip()
        steps += ("dropped the display name",)
    if lowered != text:
        steps += ("lower-cased",)
    if not lowered:
        return NormalizedEmail(None, False, "empty", steps)
    local, _, domain = lowered.partition("@")
    # Both expressions admit ASCII only, so a match needs no separate isascii().
    host = _mail_host(domain) if len(lowered) <= 254 and _FAST_LOCAL.fullmatch(local) else None
    value = lowered
    if host is None:
        verdict = _slow_email(text)
        if isinstance(verdict, str):
            return NormalizedEmail(None, False, verdict, steps, cleaned=lowered)
        local, domain, ascii_domain = verdict
        value = f"{local}@{domain}"
        if value != lowered:
            steps += ("normalized Unicode (NFC) and the domain (IDNA)",)
        host = _host(ascii_domain)
    base = (local.partition("+")[0] or local) if "+" in local else local
    if options.fold_plus_tags and base != local:
        steps += (f"folded plus tag {local[len(base):]!r}",)
        local = base
        value = f"{local}@{domain}"
    if options.fold_gmail_dots and domain in _GMAIL:
        if "." in local:
            local = local.replace(".", "")
            steps += ("removed dots (Gmail ignores them)",)
        if domain != "gmail.com":
            domain = "gmail.com"
            host = _host(domain)
            steps += ("googlemail.com is gmail.com",)
        value = f"{local}@{domain}"
    return NormalizedEmail(value, True, "", steps, base in ROLE_LOCAL_PARTS, host.free_mail, host.registrable,
                           host.company, lowered)


KeyFunction = Callable[[object], tuple[str | None, str | None]]


def email_keys(raw: object, options: EmailOptions = DEFAULT_EMAIL_OPTIONS) -> tuple[str | None, str | None]:
    """(person key, company key) of an address: exactly `analyze_email`'s `value` (None when invalid) and
    `company_domain`, without the step list, flags and result tuple that only `revhub explain` needs.

    A loop over many addresses should take `email_keys_for(options)` once and call what it returns.
    """
    return email_keys_for(options)(raw)


@lru_cache(maxsize=8)
def email_keys_for(options: EmailOptions = DEFAULT_EMAIL_OPTIONS) -> KeyFunction:
    """`email_keys` with `options` bound: the key-only fast path matching runs on every record.

    An ASCII address (after trimming, `mailto:` and a display name are dropped as `analyze_email` drops
    them) that passes the strict expressions costs a `strip`, a `lower`, a `partition`, one regular
    expression and one dict look-up of its domain; the options are read once here, not per record. Anything else
    (Unicode, IDNA, what the strict expressions refuse) goes through `analyze_email` itself, so the two
    cannot disagree (tests and bench/identity_bench.py hold them to it on every variant the bench makes).
    """
    fold_plus, fold_gmail = options.fold_plus_tags, options.fold_gmail_dots
    local_ok, hosts, gmail_domains = _FAST_LOCAL.fullmatch, _MAIL_HOSTS, _GMAIL

    def keys(raw: object) -> tuple[str | None, str | None]:
        # `in` before startswith/endswith and partition over find: those parse their arguments on every
        # call, and on this path that was a fifth of the instructions (callgrind, bench --instructions).
        if type(raw) is str:
            lowered = raw.strip().lower()
            if ":" in lowered and lowered.startswith("mailto:"):  # as analyze_email cleans it, unrecorded
                lowered = lowered[7:].strip().partition("?")[0]
            if ">" in lowered and lowered.endswith(">") and "<" in lowered:
                lowered = lowered[:-1].rpartition("<")[2].strip()
            local, at, domain = lowered.partition("@")
            if at and local and len(lowered) <= 254 and local_ok(local):
                host = hosts.get(domain)
                if host is None and domain not in hosts:
                    host = _mail_host_miss(domain)
                if host is not None:
                    key = lowered
                    if fold_plus and "+" in local:
                        base = local.partition("+")[0]  # "+tag@" alone is kept
                        if base:
                            local, key = base, f"{base}@{domain}"
                    if fold_gmail and domain in gmail_domains:
                        return f"{local.replace('.', '')}@gmail.com", None
                    return key, host.company
        found = analyze_email(raw, options)
        return (found.value if found.valid else None), found.company_domain

    return keys


def entity_key(kind: str, canonical: Mapping[str, Any], options: EmailOptions = DEFAULT_EMAIL_OPTIONS) -> str | None:
    """The normalized key of a canonical record (email for a person, registrable domain for a company,
    the source id for a deal), or None when it has none. A free-mail domain is never a company key.
    """
    if kind == "person":
        return email_keys(canonical.get("email"), options)[0]
    if kind == "company":
        return company_domain(canonical.get("domain") or canonical.get("website"))
    value = canonical.get("source_key")
    return str(value) if value not in (None, "") else None


# --- the short forms -------------------------------------------------------------------------------

def normalize_email(raw: object) -> str | None:
    """The normalized address; an invalid one comes back trimmed and lower-cased. None when empty."""
    result = analyze_email(raw)
    return result.value if result.valid else result.cleaned


def is_valid_email(email: str | None) -> bool:
    return analyze_email(email).valid


def company_domain_of_email(email: str | None) -> str | None:
    """The company domain an email points at; None for free-mail and ISP addresses."""
    if not email or "@" not in email:
        return None
    return company_domain(email.rsplit("@", 1)[1])
