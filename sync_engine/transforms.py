"""The closed registry of value transforms a mapping file may name. No eval, no expressions.

Each entry is a factory: it takes the options written in the file and returns the function applied
to one value. A factory refuses bad options with a ValueError the mapping loader turns into file:line.
A value that cannot be transformed raises RecordError, which quarantines the record. Every function
passes None through as None; nothing else escapes it (a hypothesis test feeds them arbitrary text).

One transform reads more than the field's value: `concat` (see `RECORD_TRANSFORMS`) is called with
the record's values as a mapping, field name -> value, and reads the fields its `fields` names.
"""
from __future__ import annotations

import gettext
import math
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
import pycountry

from sync_engine import identity
from sync_engine.errors import FailureCode, RecordError
from sync_engine.tomlfile import did_you_mean

Fn = Callable[[Any], Any]
INVALID = FailureCode.RECORD_INVALID
POLICIES = ("keep", "empty", "quarantine")  # what to do with a value a transform cannot read


def _choice(transform: str, option: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{transform}: {option} must be one of {', '.join(allowed)}, not {value!r}")
    return str(value)


def _on_bad(policy: str, value: Any, reason: str) -> Any:
    if policy == "quarantine":
        raise RecordError(INVALID, [reason])
    return None if policy == "empty" else value


def _text(fn: Callable[[str], Any]) -> Fn:
    return lambda v: None if v is None else fn(str(v))


def _string(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _domain(fn: Callable[[str], str | None]) -> Fn:
    """identity's domain helpers, with a malformed address (`http://[`) quarantined instead of raised."""
    def apply(v: Any) -> str | None:
        if v is None:
            return None
        try:
            return fn(str(v))
        except ValueError:
            raise RecordError(INVALID, [f"{v!r} is not a web address or email"]) from None
    return apply


def _default(options: Mapping[str, Any]) -> Fn:
    fallback = options["default"]
    return lambda v: fallback if v is None or v == "" else v


def _map_values(options: Mapping[str, Any]) -> Fn:
    table = options["map_values"]
    if not isinstance(table, dict) or not table:
        raise ValueError("map_values needs a table of `from = to` pairs")
    unknown = _choice("map_values", "unknown", options.get("unknown", "keep"), ("keep", "quarantine", "empty"))
    folded = {str(k).lower(): v for k, v in table.items()}

    def apply(v: Any) -> Any:
        if v is None or v == "":
            return None
        if v in table:
            return table[v]
        if str(v).lower() in folded:
            return folded[str(v).lower()]
        if unknown == "quarantine":
            raise RecordError(FailureCode.PICKLIST_MISMATCH, [f"value {v!r} is not in the value map"])
        return None if unknown == "empty" else v
    return apply


def _number(v: Any) -> float | None:
    if v is None or v == "":
        return None
    try:
        n = float(v)
    except (TypeError, ValueError):
        raise RecordError(INVALID, [f"{v!r} is not a number"]) from None
    if not math.isfinite(n):  # float() reads "nan" and "inf"; no CRM field can hold them
        raise RecordError(INVALID, [f"{v!r} is not a number"])
    return n


def _int(v: Any) -> int | None:
    n = _number(v)
    return None if n is None else round(n)


def _date(v: Any) -> str | None:
    """An ISO date or datetime (or epoch ms) -> `YYYY-MM-DD`."""
    if v is None or v == "":
        return None
    text = str(v)
    if text.isascii() and text.isdigit():
        try:
            return datetime.fromtimestamp(int(text) / 1000, UTC).date().isoformat()
        except (OverflowError, ValueError, OSError):
            raise RecordError(INVALID, [f"{v!r} is out of the range of dates"]) from None
    return text[:10]


def _to_bool(v: Any) -> bool | None:
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, int | float) and v in (0, 1):
        return bool(v)
    text = str(v).strip().lower()
    if not text:
        return None
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off"):
        return False
    raise RecordError(INVALID, [f"{v!r} is not a yes/no value (true/false, yes/no, 1/0, on/off)"])


# -- concat: the one transform that reads other fields of the record ------------------------------

@dataclass(frozen=True, slots=True)
class Concat:
    """`{ concat = ["first_name", "last_name"], separator = " " }`: the named fields' values, joined.

    Call it with the record's values as a mapping (on read: the system record's fields, by API
    name; on write: the canonical values). Empty and missing values are skipped; all empty -> None.
    """

    fields: tuple[str, ...]
    separator: str

    def __call__(self, values: Any) -> str | None:
        if not isinstance(values, Mapping):
            raise RecordError(FailureCode.MAPPING_ERROR, [
                "concat must be given the whole record, not one value: make it the first transform of the list"])
        parts = [_string(values.get(name)) for name in self.fields]
        kept = [p.strip() for p in parts if p and p.strip()]
        return self.separator.join(kept) or None


RECORD_TRANSFORMS = frozenset({"concat"})  # built as `Concat`: call with the record's values


def _concat(options: Mapping[str, Any]) -> Fn:
    names, separator = options["concat"], options.get("separator", " ")
    if (not isinstance(names, list) or len(names) < 2
            or not all(isinstance(n, str) and n.strip() for n in names)):
        raise ValueError('concat needs a list of two or more field names, like { concat = ["FirstName", "LastName"] }')
    if not isinstance(separator, str):
        raise ValueError('concat: separator must be text in quotes, like separator = " "')
    return Concat(tuple(names), separator)


# -- split_full_name -------------------------------------------------------------------------------

# Compared lower-case, honorifics without a trailing dot, suffixes without any dots ("Ph.D." is "phd").
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


def _split_full_name(options: Mapping[str, Any]) -> Fn:
    part = _choice("split_full_name", "the part", options["split_full_name"], ("first", "last"))
    index = 0 if part == "first" else 1

    def apply(v: Any) -> str | None:
        text = _string(v)
        return None if text is None or not text.strip() else _split_name(text)[index]
    return apply


# -- parse_date ------------------------------------------------------------------------------------

_TIME_CODES = ("%H", "%I", "%M", "%S", "%f", "%p", "%z", "%Z", "%c", "%X")


def _check_format(fmt: Any) -> None:
    if fmt == "iso":
        return
    if not isinstance(fmt, str) or "%" not in fmt:
        raise ValueError(f'parse_date: {fmt!r} is not a date format; write it with % codes like "%d/%m/%Y", '
                         'or "iso" for 2024-01-31 and 2024-01-31T13:45:00')
    try:
        datetime.strptime(datetime(2024, 1, 31, 13, 45, 30, tzinfo=UTC).strftime(fmt), fmt)
    except ValueError as exc:
        raise ValueError(f"parse_date: {fmt!r} is not a format revhub can read ({exc})") from None
    if not any(code in fmt for code in ("%Y", "%y", "%G", "%c", "%x")):
        raise ValueError(f"parse_date: {fmt!r} has no year in it; add %Y (2024) or %y (24)")


def _zone(name: Any) -> tzinfo:
    if not isinstance(name, str) or not name.strip():
        raise ValueError('parse_date: timezone must be a time zone name in quotes, like "Europe/Berlin" or "UTC"')
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        hint = did_you_mean(name, available_timezones()) or 'use a name like "Europe/Berlin" or "UTC"'
        raise ValueError(f"parse_date: unknown time zone {name!r}; {hint}") from None


def _read_date(text: str, fmt: str) -> date | datetime | None:
    try:
        if fmt == "iso":
            try:
                return date.fromisoformat(text)
            except ValueError:
                return datetime.fromisoformat(text)
        parsed = datetime.strptime(text, fmt)
    except (ValueError, OverflowError):
        return None
    return parsed if any(code in fmt for code in _TIME_CODES) else parsed.date()


def _iso_utc(value: date | datetime, zone: tzinfo) -> str:
    """A date stays a calendar day; a datetime without an offset is read in `zone`, then told in UTC."""
    if not isinstance(value, datetime):
        return value.isoformat()
    try:
        aware = value if value.tzinfo is not None else value.replace(tzinfo=zone)
        return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, ValueError):
        raise RecordError(INVALID, [f"{value.isoformat()!r} is out of the range of dates"]) from None


def _parse_date(options: Mapping[str, Any]) -> Fn:
    formats = options.get("parse_date", ["iso"])
    formats = [formats] if isinstance(formats, str) else formats
    if not isinstance(formats, list) or not formats:
        raise ValueError('parse_date needs a format or a list of formats, like { parse_date = ["%d/%m/%Y", "iso"] }')
    for fmt in formats:
        _check_format(fmt)
    zone = _zone(options.get("timezone", "UTC"))

    def apply(v: Any) -> str | None:
        if v is None:
            return None
        if isinstance(v, date):  # already typed by the connector (datetime is a date too)
            return _iso_utc(v, zone)
        text = str(v).strip()
        if not text:
            return None
        for fmt in formats:
            parsed = _read_date(text, fmt)
            if parsed is not None:
                return _iso_utc(parsed, zone)
        raise RecordError(INVALID, [f"{text!r} is not a date in any of the formats tried: {', '.join(formats)}"])
    return apply


# -- truncate --------------------------------------------------------------------------------------

def truncator(length: int) -> Fn:
    """Cut text to `length` characters (`truncate`, and `truncate_to_target` once bound to a length)."""
    def apply(v: Any) -> str | None:
        text = _string(v)
        if text is None or text == "":
            return None
        return text if len(text) <= length else text[:length].rstrip()
    return apply


@dataclass(frozen=True, slots=True)
class TruncateToTarget:
    """`truncate_to_target`: cut text to the length of the field it is written to, as the target describes it.

    A mapping file cannot know that length (each Salesforce org sets its own), so the loader builds this
    with `length=None` and a run binds it once, from `Connector.describe`, before the first record
    (`Mapping_.with_target_lengths`). Unbound, or for a field whose schema states no length (HubSpot
    states none), it passes the value through unchanged: there is nothing known to cut to.
    """

    length: int | None = None

    def __call__(self, v: Any) -> Any:
        return v if self.length is None else truncator(self.length)(v)

    def cut(self, v: Any) -> tuple[int, int] | None:
        """(characters before, characters kept) when this step shortens `v`, else None."""
        text = _string(v)
        if self.length is None or text is None or len(text) <= self.length:
            return None
        return len(text), len(truncator(self.length)(text) or "")


WRITE_TRANSFORMS = frozenset({"truncate_to_target"})  # need the target's schema: only in `write = [...]`


def bind_lengths(chain: tuple[tuple[str, Fn], ...], length: int | None) -> tuple[tuple[str, Fn], ...]:
    """`chain` with each `truncate_to_target` step knowing the target field's `length` (None: unknown)."""
    return tuple((name, TruncateToTarget(length) if isinstance(fn, TruncateToTarget) else fn) for name, fn in chain)


def truncation(chain: tuple[tuple[str, Fn], ...], value: Any) -> str | None:
    """What a `truncate_to_target` step of `chain` cuts from `value`, in words for the dry run and explain.

    None when nothing is cut, or when an earlier step refuses the value (the write reports that itself).
    """
    for _name, fn in chain:
        if isinstance(fn, TruncateToTarget):
            cut = fn.cut(value)
            if cut is not None:
                return (f"truncated from {cut[0]} to {cut[1]} characters, the length of the target field "
                        f"(truncate_to_target)")
        try:
            value = fn(value)
        except RecordError:
            return None
    return None


def _truncate(options: Mapping[str, Any]) -> Fn:
    length = options["truncate"]
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise ValueError(f"truncate needs a whole number of characters above 0, like {{ truncate = 80 }}, "
                         f"not {length!r}")
    return truncator(length)


# -- phone_e164 ------------------------------------------------------------------------------------

def _phone_e164(options: Mapping[str, Any]) -> Fn:
    region = options.get("phone_e164")
    if region is not None:
        if not isinstance(region, str) or region.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"phone_e164: {region!r} is not a country code; write the two-letter code of the "
                             'country numbers without a + are from, like "US" or "DE"')
        region = region.upper()
    invalid = _choice("phone_e164", "invalid", options.get("invalid", "quarantine"), POLICIES)
    where = f"for region {region}" if region else "and has no +country code"

    def apply(v: Any) -> Any:
        text = _string(v)
        if text is None or not text.strip():
            return None
        try:
            number = phonenumbers.parse(text, region)
            if phonenumbers.is_valid_number(number):
                return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        except phonenumbers.NumberParseException:
            pass
        return _on_bad(invalid, v, f"{text!r} is not a valid phone number {where}")
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


def _country_code(options: Mapping[str, Any]) -> Fn:
    form = _choice("country_code", "the output", options.get("country_code", "alpha-2"), ("alpha-2", "alpha-3", "name"))
    unknown = _choice("country_code", "unknown", options.get("unknown", "quarantine"), POLICIES)

    def render(alpha_2: str) -> str:
        country = pycountry.countries.lookup(alpha_2)  # always there: the code came from the index
        if form == "alpha-3":
            return str(country.alpha_3)
        return str(getattr(country, "common_name", None) or country.name) if form == "name" else alpha_2

    def apply(v: Any) -> Any:
        text = _string(v)
        if text is None or not text.strip():
            return None
        code = _country_index().get(_fold(text))
        if code is None:
            return _on_bad(unknown, v, f"{text!r} is not a country name or ISO 3166 code revhub knows")
        return render(code)
    return apply


REGISTRY: dict[str, Callable[[Mapping[str, Any]], Fn]] = {
    "strip": lambda _o: _text(str.strip),
    "lower": lambda _o: _text(str.lower),
    "upper": lambda _o: _text(str.upper),
    "title": lambda _o: _text(str.title),
    "normalize_email": lambda _o: identity.normalize_email,
    "domain_from_url": lambda _o: _domain(identity.registrable_domain),
    "domain_from_email": lambda _o: _domain(identity.company_domain_of_email),
    "default": _default,
    "map_values": _map_values,
    "to_number": lambda _o: _number,
    "to_int": lambda _o: _int,
    "to_string": lambda _o: _string,
    "to_bool": lambda _o: _to_bool,
    "date": lambda _o: _date,
    "parse_date": _parse_date,
    "concat": _concat,
    "split_full_name": _split_full_name,
    "truncate": _truncate,
    "truncate_to_target": lambda _o: TruncateToTarget(),
    "phone_e164": _phone_e164,
    "country_code": _country_code,
}

# Options a transform written as a table may carry besides its own name.
OPTIONS: dict[str, frozenset[str]] = {
    "map_values": frozenset({"unknown"}),
    "concat": frozenset({"separator"}),
    "parse_date": frozenset({"timezone"}),
    "phone_e164": frozenset({"invalid"}),
    "country_code": frozenset({"unknown"}),
}
NEEDS_VALUE = frozenset({"default", "map_values", "concat", "split_full_name", "truncate"})
TAKES_VALUE = NEEDS_VALUE | {"parse_date", "phone_e164", "country_code"}  # the others are written as a name


def build(spec: Any) -> tuple[str, Fn]:
    """`"lower"` or `{ map_values = {...}, unknown = "quarantine" }` -> (name, function)."""
    if isinstance(spec, str):
        name, options = spec, {}
    elif isinstance(spec, dict):
        names = [k for k in spec if k in REGISTRY]
        if not names:
            guesses = [k for k in spec if not any(k in opts for opts in OPTIONS.values())]
            if len(guesses) == 1:
                raise KeyError(guesses[0])  # a misspelt transform: the loader suggests the right name
        if len(names) != 1:
            raise ValueError("write a transform as a name, or a table with exactly one transform name in it")
        name, options = names[0], dict(spec)
        if name not in TAKES_VALUE:
            raise ValueError(f'{name} takes no value: write it as "{name}"')
        allowed = OPTIONS.get(name, frozenset())
        extra = set(spec) - {name} - allowed
        if extra:
            bad = sorted(extra)[0]
            hint = did_you_mean(bad, allowed) or (f"{name} takes {', '.join(sorted(allowed))}" if allowed
                                                  else f"{name} takes no options")
            raise ValueError(f"unknown option {bad!r} for {name}; {hint}")
    else:
        raise ValueError("a transform is a name in quotes, or an inline table")
    if name not in REGISTRY:
        raise KeyError(name)
    if isinstance(spec, str) and name in NEEDS_VALUE:
        raise ValueError(f"{name} needs a value: write {{ {name} = ... }}")
    return name, REGISTRY[name](options)
