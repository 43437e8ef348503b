"""`parse_date`: dates written by people in many formats, read into ISO 8601 in UTC.

Split from `transforms` because reading dates needs its own machinery: strftime formats checked when
the mapping file loads, IANA time zones (zoneinfo, with tzdata on machines without a zone database),
and the range of dates a CRM can hold.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sync_engine.errors import RecordError
from sync_engine.tomlfile import did_you_mean
from sync_engine.transforms_base import INVALID, Fn

__all__ = ["parse_date"]


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


def parse_date(options: Mapping[str, Any]) -> Fn:
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
