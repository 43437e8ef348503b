"""The closed registry of value transforms a mapping file may name. No eval, no expressions.

Each entry is a factory: it takes the options written in the file and returns the function applied
to one value. A factory refuses bad options with a ValueError the mapping loader turns into file:line.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sync_engine import identity
from sync_engine.errors import FailureCode, RecordError

Fn = Callable[[Any], Any]


def _text(fn: Callable[[str], Any]) -> Fn:
    return lambda v: None if v is None else fn(str(v))


def _default(options: Mapping[str, Any]) -> Fn:
    fallback = options["default"]
    return lambda v: fallback if v is None or v == "" else v


def _map_values(options: Mapping[str, Any]) -> Fn:
    table = options["map_values"]
    if not isinstance(table, dict) or not table:
        raise ValueError("map_values needs a table of `from = to` pairs")
    unknown = options.get("unknown", "keep")
    if unknown not in ("keep", "quarantine", "empty"):
        raise ValueError("unknown must be one of keep, quarantine, empty")
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
        return float(v)
    except (TypeError, ValueError):
        raise RecordError(FailureCode.RECORD_INVALID, [f"{v!r} is not a number"]) from None


def _int(v: Any) -> int | None:
    n = _number(v)
    return None if n is None else round(n)


def _string(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _date(v: Any) -> str | None:
    """An ISO date or datetime (or epoch ms) -> `YYYY-MM-DD`."""
    if v is None or v == "":
        return None
    text = str(v)
    if text.isdigit():
        from datetime import UTC, datetime
        return datetime.fromtimestamp(int(text) / 1000, UTC).date().isoformat()
    return text[:10]


REGISTRY: dict[str, Callable[[Mapping[str, Any]], Fn]] = {
    "strip": lambda _o: _text(str.strip),
    "lower": lambda _o: _text(str.lower),
    "upper": lambda _o: _text(str.upper),
    "title": lambda _o: _text(str.title),
    "normalize_email": lambda _o: identity.normalize_email,
    "domain_from_url": lambda _o: identity.registrable_domain,
    "domain_from_email": lambda _o: _text(identity.company_domain_of_email),
    "default": _default,
    "map_values": _map_values,
    "to_number": lambda _o: _number,
    "to_int": lambda _o: _int,
    "to_string": lambda _o: _string,
    "date": lambda _o: _date,
}

# Options a transform written as a table may carry besides its own name.
OPTIONS: dict[str, frozenset[str]] = {"map_values": frozenset({"unknown"})}


def build(spec: Any) -> tuple[str, Fn]:
    """`"lower"` or `{ map_values = {...}, unknown = "quarantine" }` -> (name, function)."""
    if isinstance(spec, str):
        name, options = spec, {}
    elif isinstance(spec, dict):
        names = [k for k in spec if k in REGISTRY]
        if len(names) != 1:
            raise ValueError("write a transform as a name, or a table with exactly one transform name in it")
        name, options = names[0], dict(spec)
        extra = set(spec) - {name} - OPTIONS.get(name, frozenset())
        if extra:
            raise ValueError(f"unknown option {sorted(extra)[0]!r} for {name}")
    else:
        raise ValueError("a transform is a name in quotes, or an inline table")
    if name not in REGISTRY:
        raise KeyError(name)
    if isinstance(spec, str) and name in ("default", "map_values"):
        raise ValueError(f"{name} needs a value: write {{ {name} = ... }}")
    return name, REGISTRY[name](options)
