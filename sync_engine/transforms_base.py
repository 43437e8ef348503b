"""What every transform module shares: the transform type, the quarantine code, and the bad-value policies.

A module of its own so the transform families (`transforms`, `transforms_dates`, `transforms_people`)
can share it without importing each other.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sync_engine.errors import FailureCode, RecordError

__all__ = ["INVALID", "POLICIES", "Fn", "as_text", "choice", "on_bad"]

Fn = Callable[[Any], Any]
INVALID = FailureCode.RECORD_INVALID
POLICIES = ("keep", "empty", "quarantine")  # what to do with a value a transform cannot read


def choice(transform: str, option: str, value: Any, allowed: tuple[str, ...]) -> str:
    """An option that takes one of a few words; anything else is the file's mistake (ValueError -> file:line)."""
    if value not in allowed:
        raise ValueError(f"{transform}: {option} must be one of {', '.join(allowed)}, not {value!r}")
    return str(value)


def on_bad(policy: str, value: Any, reason: str) -> Any:
    """What `invalid = keep | empty | quarantine` does with a value a transform cannot read."""
    if policy == "quarantine":
        raise RecordError(INVALID, [reason])
    return None if policy == "empty" else value


def as_text(v: Any) -> str | None:
    """A value as the text a person would write: 42.0 -> "42"; None stays None."""
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)
