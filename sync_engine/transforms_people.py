"""Transforms for values about people and places: full names, phone numbers, countries.

Split from `transforms` because each leans on outside knowledge rather than string rules: honorifics,
suffixes and surname particles for names; Google's libphonenumber rules (phonenumbers) for E.164;
ISO 3166 codes and names with their translations (pycountry) for countries.
"""
from __future__ import annotations

import gettext
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import phonenumbers
import pycountry

from sync_engine.transforms_base import POLICIES, Fn, as_text, choice, on_bad

__all__ = ["country_code", "phone_e164", "split_full_name"]


_HONORIFICS = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "professor", "sir", "dame", "rev", "fr",
                         "hon", "herr", "frau", "mme", "mlle", "sr", "sra", "srta", "dott", "ing"})
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "phd", "md", "mba", "esq", "cpa", "dds", "jd", "msc", "bsc"})
_PARTICLES = frozenset({"van", "von", "der", "den", "de", "del", "della", "dei", "degli", "di", "da", "das", "do",
                        "dos", "du", "la", "le", "ter", "ten", "te", "vander", "vande", "op", "bin", "ibn", "al",
                        "el", "st"})


def _is_honorific(token: str) -> bool:
    return token.lower().rstrip(".") in _HONORIFICS


def _is_suffix(token: str) -> bool:
    return token.lower().replace(".", "").strip(",") in _SUFFIXES


def _split_name(text: str) -> tuple[str | None, str | None]:
    """`Dr. Jane van der Berg` -> (`Jane`, `van der Berg`); `Berg, Jane` -> (`Jane`, `Berg`)."""
    parts = [p.split() for p in text.split(",")]
    parts = [p for p in parts if p and not all(_is_suffix(t) for t in p)]
    if len(parts) == 2:  # "Last, First"
        last, first = ([t for t in p if not _is_honorific(t)] for p in parts)
        return " ".join(first) or None, " ".join(last) or None
    tokens = [t for p in parts for t in p]
    while len(tokens) > 1 and _is_honorific(tokens[0]):
        tokens.pop(0)
    while len(tokens) > 2 and _is_suffix(tokens[-1]):
        tokens.pop()
    if len(tokens) <= 1:
        return (tokens[0] if tokens and not _is_honorific(tokens[0]) else None), None
    start = next((i for i in range(1, len(tokens) - 1) if tokens[i].lower().rstrip(".") in _PARTICLES),
                 len(tokens) - 1)
    return " ".join(tokens[:start]), " ".join(tokens[start:])


def split_full_name(options: Mapping[str, Any]) -> Fn:
    part = choice("split_full_name", "the part", options["split_full_name"], ("first", "last"))
    index = 0 if part == "first" else 1

    def apply(v: Any) -> str | None:
        text = as_text(v)
        return None if text is None or not text.strip() else _split_name(text)[index]
    return apply


# -- parse_date ------------------------------------------------------------------------------------


def phone_e164(options: Mapping[str, Any]) -> Fn:
    region = options.get("phone_e164")
    if region is not None:
        if not isinstance(region, str) or region.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"phone_e164: {region!r} is not a country code; write the two-letter code of the "
                             'country numbers without a + are from, like "US" or "DE"')
        region = region.upper()
    invalid = choice("phone_e164", "invalid", options.get("invalid", "quarantine"), POLICIES)
    where = f"for region {region}" if region else "and has no +country code"

    def apply(v: Any) -> Any:
        text = as_text(v)
        if text is None or not text.strip():
            return None
        try:
            number = phonenumbers.parse(text, region)
            if phonenumbers.is_valid_number(number):
                return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        except phonenumbers.NumberParseException:
            pass
        return on_bad(invalid, v, f"{text!r} is not a valid phone number {where}")
    return apply


# -- country_code ----------------------------------------------------------------------------------

# Names ISO 3166 does not use but CRM data does; each names one country only.
_COUNTRY_ALIASES = {
    "UK": "GB", "Great Britain": "GB", "England": "GB", "Scotland": "GB", "Wales": "GB", "Northern Ireland": "GB",
    "USA": "US", "Holland": "NL", "Russia": "RU", "Turkey": "TR", "Ivory Coast": "CI", "Macedonia": "MK",
    "Swaziland": "SZ", "Cape Verde": "CV", "Burma": "MM", "Vatican": "VA", "Vatican City": "VA", "Brunei": "BN",
    "Palestine": "PS", "Micronesia": "FM", "DR Congo": "CD", "DRC": "CD", "Democratic Republic of the Congo": "CD",
    "UAE": "AE", "East Timor": "TL", "Macau": "MO",
}
# Languages whose country names are recognised too ("Deutschland", "Allemagne"), from pycountry's catalogues.
_COUNTRY_LANGUAGES = ("de", "fr", "es", "it", "nl", "pt", "sv", "da", "nb_NO", "fi", "pl")


def _fold(text: str) -> str:
    """Case, accents, dots and a leading "the" do not matter: `the U.S.A.` and `usa` are one key."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    plain = plain.casefold().replace(".", "")
    words = "".join(c if c.isalnum() else " " for c in plain).split()
    return " ".join(words[1:] if words[:1] == ["the"] and len(words) > 1 else words)


@lru_cache(maxsize=1)
def _country_index() -> dict[str, str]:
    """Folded code or name -> alpha-2. English names and codes win; a local name meaning two countries is left out."""
    index: dict[str, str] = {}
    for c in pycountry.countries:
        for name in (c.alpha_2, c.alpha_3, c.name, getattr(c, "common_name", ""), getattr(c, "official_name", "")):
            if name:
                index.setdefault(_fold(name), c.alpha_2)
    for alias, code in _COUNTRY_ALIASES.items():
        index.setdefault(_fold(alias), code)
    local: dict[str, set[str]] = {}
    for lang in _COUNTRY_LANGUAGES:
        catalogue = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang], fallback=True)
        for c in pycountry.countries:
            for name in (c.name, getattr(c, "common_name", ""), getattr(c, "official_name", "")):
                if name:
                    local.setdefault(_fold(catalogue.gettext(name)), set()).add(c.alpha_2)
    for key, codes in local.items():
        if key not in index and len(codes) == 1 and len(key) > 3:  # not "man" (Isle of Man) or "oma"
            index[key] = next(iter(codes))
    return index


def country_code(options: Mapping[str, Any]) -> Fn:
    form = choice("country_code", "the output", options.get("country_code", "alpha-2"), ("alpha-2", "alpha-3", "name"))
    unknown = choice("country_code", "unknown", options.get("unknown", "quarantine"), POLICIES)

    def render(alpha_2: str) -> str:
        country = pycountry.countries.lookup(alpha_2)  # always there: the code came from the index
        if form == "alpha-3":
            return str(country.alpha_3)
        return str(getattr(country, "common_name", None) or country.name) if form == "name" else alpha_2

    def apply(v: Any) -> Any:
        text = as_text(v)
        if text is None or not text.strip():
            return None
        code = _country_index().get(_fold(text))
        if code is None:
            return on_bad(unknown, v, f"{text!r} is not a country name or ISO 3166 code revhub knows")
        return render(code)
    return apply
