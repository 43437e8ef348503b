"""The closed registry of value transforms a mapping file may name. No eval, no expressions.

Each entry is a factory: it takes the options written in the file and returns the function applied
to one value. A factory refuses bad options with a ValueError the mapping loader turns into file:line.
A value that cannot be transformed raises RecordError, which quarantines the record. Every function
passes None through as None; nothing else escapes it (a hypothesis test feeds them arbitrary text).

One transform reads more than the field's value: `concat` (see `RECORD_TRANSFORMS`) is called with
the record's values as a mapping, field name -> value, and reads the fields its `fields` names.

The families with outside knowledge live beside it: `transforms_dates` (parse_date) and
`transforms_people` (split_full_name, phone_e164, country_code); `transforms_base` holds what all share.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sync_engine import identity
from sync_engine.errors import FailureCode, RecordError
from sync_engine.tomlfile import did_you_mean
from sync_engine.transforms_base import INVALID, Fn, as_text, choice
from sync_engine.transforms_dates import parse_date
from sync_engine.transforms_people import country_code, phone_e164, split_full_name


def _text(fn: Callable[[str], Any]) -> Fn:
    return lambda v: None if v is None else fn(str(v))


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
    unknown = choice("map_values", "unknown", options.get("unknown", "keep"), ("keep", "quarantine", "empty"))
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
        parts = [as_text(values.get(name)) for name in self.fields]
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
def truncator(length: int) -> Fn:
    """Cut text to `length` characters (`truncate`, and `truncate_to_target` once bound to a length)."""
    def apply(v: Any) -> str | None:
        text = as_text(v)
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
        text = as_text(v)
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
    "to_string": lambda _o: as_text,
    "to_bool": lambda _o: _to_bool,
    "date": lambda _o: _date,
    "parse_date": parse_date,
    "concat": _concat,
    "split_full_name": split_full_name,
    "truncate": _truncate,
    "truncate_to_target": lambda _o: TruncateToTarget(),
    "phone_e164": phone_e164,
    "country_code": country_code,
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
