"""Normalization of the keys that identify people (email) and companies (registrable domain).

One module shared by dedup, matching and routing, so every step agrees on what "the same" means.
"""
from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit

import tldextract

# A deliberately small starter list; issue 5 replaces it with a maintained data file.
FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "ymail.com", "outlook.com", "hotmail.com",
    "hotmail.co.uk", "live.com", "msn.com", "aol.com", "icloud.com", "me.com", "mac.com", "proton.me",
    "protonmail.com", "gmx.com", "gmx.de", "web.de", "mail.com", "yandex.com", "yandex.ru", "zoho.com",
    "fastmail.com", "qq.com", "163.com", "126.com", "comcast.net", "verizon.net", "att.net",
})

# Syntax only, no DNS: local part of permitted characters, one @, a dotted domain with a 2+ letter TLD.
_EMAIL = re.compile(r"^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*"
                    r"[a-z0-9])?)*\.[a-z]{2,}$")


def normalize_email(raw: object) -> str | None:
    """Trim, drop a `mailto:` prefix, lower-case. None for an empty value; the text is kept otherwise."""
    if raw is None:
        return None
    text = str(raw).strip()
    if text.lower().startswith("mailto:"):
        text = text[7:].strip()
    return text.lower() or None


def is_valid_email(email: str | None) -> bool:
    return bool(email) and _EMAIL.match(email or "") is not None and ".." not in (email or "")


@lru_cache(maxsize=1)
def _extractor() -> tldextract.TLDExtract:
    # The public suffix list snapshot bundled with tldextract; never fetched at run time.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def registrable_domain(raw: object) -> str | None:
    """`https://www.shop.example.co.uk/about?x=1` -> `example.co.uk`; None when there is no domain."""
    if raw is None:
        return None
    text = str(raw).strip().lower()
    if not text:
        return None
    if "@" in text and "/" not in text:
        text = text.rsplit("@", 1)[1]
    if "://" not in text:
        text = "http://" + text
    host = urlsplit(text).hostname or ""
    host = host.strip(".")
    if not host:
        return None
    parts = _extractor()(host)
    if not parts.domain or not parts.suffix:
        return None
    return f"{parts.domain}.{parts.suffix}"


def company_domain_of_email(email: str | None) -> str | None:
    """The company domain an email points at; None for free-mail and ISP addresses."""
    if not email or "@" not in email:
        return None
    domain = registrable_domain(email.rsplit("@", 1)[1])
    return None if domain is None or domain in FREE_MAIL_DOMAINS else domain
