"""Salesforce's value formats shared by the connector and the emulator: 18-char ids and datetime text."""
from __future__ import annotations

import re
from datetime import UTC, datetime

_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID = re.compile(r"^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$")
# Salesforce writes `2026-01-02T03:04:05.000+0000`; SOQL and clients also send `Z` and `+00:00` forms.
_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d{1,6})?(Z|[+-]\d{2}:?\d{2})?$")


def _checksum(id15: str) -> str:
    """The 3-char suffix that makes an id case-insensitive: one bit per upper-case letter, 5 chars a chunk."""
    out = ""
    for chunk in (id15[0:5], id15[5:10], id15[10:15]):
        bits = sum(1 << i for i, ch in enumerate(chunk) if "A" <= ch <= "Z")
        out += _CHECKSUM_ALPHABET[bits]
    return out


def is_id(value: object) -> bool:
    """True for a well-formed 15- or 18-char Salesforce id (it may still point at nothing)."""
    return isinstance(value, str) and bool(_ID.match(value)) and (len(value) == 15 or to18(value) == value)


def to18(value: str) -> str:
    """The 18-char form of a 15-char id (REST always returns 18; compare ids in this form)."""
    return value + _checksum(value) if len(value) == 15 else value


def make_id(prefix: str, number: int) -> str:
    """A deterministic 18-char id: key prefix, a fixed pod/instance part, then `number` in base 62."""
    digits = ""
    while number:
        number, rem = divmod(number, 62)
        digits = _BASE62[rem] + digits
    return to18(prefix + "Dn000" + digits.rjust(7, "0"))


def format_datetime(value: datetime) -> str:
    """`2026-01-02T03:04:05.123+0000`: Salesforce's own datetime text, millisecond precision, UTC."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def parse_datetime(text: str) -> datetime:
    """Parse any datetime Salesforce or a client writes; a missing offset means UTC. Raises ValueError."""
    m = _DATETIME.match(text.strip())
    if not m:
        raise ValueError(f"not a datetime: {text!r}")
    day, clock, fraction, offset = m.groups()
    offset = "+00:00" if offset in (None, "Z") else offset
    if ":" not in offset:
        offset = offset[:3] + ":" + offset[3:]
    parsed = datetime.fromisoformat(f"{day}T{clock}{fraction or ''}{offset}")
    return parsed.astimezone(UTC)
