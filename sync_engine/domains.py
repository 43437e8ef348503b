"""Companies are keyed by registrable domain: a website, bare domain or email host reduced to it.

Split from `identity` (emails) because hosts have their own machinery: IDNA to Punycode, the public
suffix list bundled with tldextract (private section included, so `acme.myshopify.com` and
`other.myshopify.com` stay two companies; never fetched at run time) and the free-mail list, which is
never a company key. `analyze_domain` says what it did and why, for `revhub explain`; the email side
(`identity`) shares `_host` and `_classify`, so both agree on what a domain is.
"""
from __future__ import annotations

import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import idna
import tldextract

__all__ = ["FREE_MAIL_DOMAINS", "NormalizedDomain", "analyze_domain", "company_domain", "is_free_mail_domain",
           "registrable_domain"]

_DATA = Path(__file__).parent / "data"


def _read_list(name: str) -> frozenset[str]:
    """One entry a line; `#` starts a comment; blank lines ignored."""
    lines = (line.partition("#")[0].strip().lower() for line in (_DATA / name).read_text("utf-8").splitlines())
    return frozenset(line for line in lines if line)


# Thousands of free-mail, ISP and relay domains, never a company key (see the file's header for its source).
FREE_MAIL_DOMAINS = _read_list("free_mail_domains.txt")

_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
_HOST_NAME = re.compile(r"(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")


class NormalizedDomain(NamedTuple):
    """A website, domain or email reduced to its registrable domain, with what was done and why."""

    value: str | None          # registrable domain, ASCII (Punycode); None when there is none
    valid: bool
    reason: str                # why there is no domain; "" when valid
    steps: tuple[str, ...]
    host: str | None = None    # the full host name, ASCII, without `www.`
    free_mail: bool = False

    @property
    def company_key(self) -> str | None:
        """The company key: the registrable domain unless it is a free-mail or ISP domain."""
        return None if self.free_mail else self.value


class _Host(NamedTuple):
    ascii: str | None
    registrable: str | None
    suffix: str
    free_mail: bool
    reason: str
    idn: bool
    company: str | None = None  # `registrable` unless free-mail


@lru_cache(maxsize=1)
def _suffix_rules() -> tuple[frozenset[str], frozenset[str]]:
    """The public suffix list as (every rule and every right-hand part of one, the rules themselves).

    The rules come from the snapshot bundled with tldextract (private section included), never
    fetched at run time. `_suffix_length` walks them as tldextract does, a set look-up a label instead
    of tldextract's per-call URL parsing: 2 us a host instead of 10 (a test holds the two to agreement).
    """
    rules = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True).tlds
    paths = {".".join(labels[i:]) for labels in (rule.split(".") for rule in rules) for i in range(len(labels))}
    return frozenset(paths), frozenset(rules)


def _decode_label(label: str) -> str:
    if label.startswith("xn--"):
        try:
            return idna.decode(label)
        except (idna.IDNAError, UnicodeError):
            return label
    return label


def _suffix_length(labels: list[str]) -> int:
    """How many labels at the right of a host form its public suffix; 0 when none is known.

    The general walk, for hosts with Punycode labels (the list holds their Unicode form).
    """
    paths, rules = _suffix_rules()
    path, found = "", 0
    for depth, label in enumerate(reversed(labels)):
        name = _decode_label(label) if label.startswith("xn--") else label
        candidate = f"{name}.{path}" if path else name
        if candidate in paths:
            path = candidate
            if candidate in rules:
                found = depth + 1
            continue
        if path and f"*.{path}" in paths:  # a wildcard rule, unless an exception names this label
            return depth if f"!{candidate}" in paths else depth + 1
        break
    return found


def _suffix_start(host: str) -> int:
    """Where in `host` (ASCII, no Punycode label) its public suffix starts; -1 when none is known.

    `_suffix_length`'s walk over slices of the host instead of joined labels: every candidate is a
    tail of the host, so the common new domain costs two or three slices and set look-ups.
    """
    paths, rules = _suffix_rules()
    found = matched = -1
    end = len(host)
    while True:
        dot = host.rfind(".", 0, end)
        start = dot + 1
        candidate = host[start:]
        if candidate not in paths:
            if matched >= 0 and f"*.{host[matched:]}" in paths:  # wildcard, unless an exception names it
                return matched if f"!{candidate}" in paths else start
            return found
        if candidate in rules:
            found = start
        if dot < 0:
            return found
        matched, end = start, dot


def is_free_mail_domain(host: str) -> bool:
    """Whether `host` (ASCII, lower-case) or a parent of it is on the free-mail list."""
    while "." in host:
        if host in FREE_MAIL_DOMAINS:
            return True
        host = host.partition(".")[2]
    return False


@lru_cache(maxsize=1 << 18)
def _host(host: str) -> _Host:
    """Per-host work, cached: IDNA to Punycode, label syntax, public suffix, free-mail."""
    idn = not host.isascii()
    if len(host) > 1000:  # before IDNA, whose work grows with the length (email-validator does the same)
        return _Host(None, None, "", False, "too long for a host name", idn)
    if idn:
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError) as e:
            return _Host(None, None, "", False, f"not a valid international domain name ({e})", idn)
    if len(host) > 253 or not _HOST_NAME.fullmatch(host):
        return _Host(None, None, "", False, f"{host!r} is not a host name", idn)
    return _classify(host, idn)


def _classify(host: str, idn: bool) -> _Host:
    """The public suffix, registrable domain and free-mail flag of a valid ASCII host name."""
    if "xn--" in host:
        labels = host.split(".")
        n = _suffix_length(labels)
        start = len(host) - len(".".join(labels[len(labels) - n:])) if n else -1
    else:
        start = _suffix_start(host)
    if start < 0:
        return _Host(host, None, "", False, f"{host!r} is not under a public suffix", idn)
    suffix = host[start:]
    if start == 0:
        return _Host(host, None, suffix, False, f"{host!r} is a public suffix, not a domain", idn)
    # Interned: every record of a company then carries the one string object, so a dict keyed by company
    # domain compares pointers instead of reading a second copy from memory (1M look-ups in a 100k-key
    # dict: 0.26 s against 0.40 s with equal but distinct strings, measured).
    registrable, free_mail = sys.intern(host[host.rfind(".", 0, start - 1) + 1:]), is_free_mail_domain(host)
    return _Host(host, registrable, suffix, free_mail, "", idn, None if free_mail else registrable)


def analyze_domain(raw: object) -> NormalizedDomain:
    """A website, bare domain or email -> registrable domain: scheme, user, port, path, query, `www.` dropped."""
    if raw is None:
        return NormalizedDomain(None, False, "empty", ())
    original = str(raw)
    text = original.strip().lower()
    steps: list[str] = []
    if len(text) != len(original):
        steps.append("trimmed whitespace")
    if text != original.strip():
        steps.append("lower-cased")
    if text.startswith("mailto:"):
        text = text[7:]
        steps.append("removed 'mailto:'")
    scheme, sep, rest = text.partition("://")
    if sep and _SCHEME.fullmatch(scheme):
        text = rest
        steps.append(f"removed scheme '{scheme}://'")
    elif text.startswith("//"):
        text = text[2:]
        steps.append("removed '//'")
    cut = min((i for i in (text.find("/"), text.find("?"), text.find("#")) if i >= 0), default=-1)
    if cut >= 0:
        text, tail = text[:cut], text[cut:]
        steps.append(f"removed path, query and fragment {tail!r}")
    if "@" in text:
        text = text.rpartition("@")[2]
        steps.append("kept the part after '@'")
    if text.startswith("["):
        return NormalizedDomain(None, False, "an IP address is not a domain", tuple(steps))
    if ":" in text:
        text, _, port = text.rpartition(":")
        if port and not port.isdigit():
            return NormalizedDomain(None, False, f"{port!r} is not a port", tuple(steps))
        steps.append(f"removed port ':{port}'")
    if text.endswith("."):
        text = text.rstrip(".")
        steps.append("removed the trailing dot")
    if not text:
        return NormalizedDomain(None, False, "empty", tuple(steps))
    host = _host(text)
    if host.idn and host.ascii:
        steps.append(f"IDN to Punycode {host.ascii!r}")
    if host.ascii is None or host.registrable is None:
        return NormalizedDomain(None, False, host.reason, tuple(steps), host.ascii)
    name = host.ascii
    if name.startswith("www.") and name != host.registrable:
        name = name[4:]
        steps.append("removed 'www.'")
    if name != host.registrable:
        steps.append(f"removed subdomain {name[: -len(host.registrable) - 1]!r} "
                     f"(public suffix {host.suffix!r})")
    if host.free_mail:
        steps.append("free-mail or ISP domain: never a company key")
    return NormalizedDomain(host.registrable, True, "", tuple(steps), name, host.free_mail)


def registrable_domain(raw: object) -> str | None:
    """`https://www.shop.example.co.uk/about?x=1` -> `example.co.uk`; None when there is no domain."""
    return analyze_domain(raw).value


def company_domain(raw: object) -> str | None:
    """The company key of a website or domain: its registrable domain unless that is free-mail."""
    return analyze_domain(raw).company_key
