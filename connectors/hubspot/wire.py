"""HubSpot's wire formats for the emulator: timestamps, value coercion and error bodies (crm-apis.md B9)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from connectors.emulator import Reply, Response


def iso(dt: datetime) -> str:
    """HubSpot's timestamp form: UTC, millisecond precision, `Z` suffix."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def now_iso() -> str:
    return iso(datetime.now(UTC))


def parse_instant(value: str) -> datetime | None:
    """Epoch milliseconds or ISO 8601 (both are accepted on input, per the timestamp FAQ)."""
    text = str(value).strip()
    if not text:
        return None
    if text.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def to_ms(value: str) -> int | None:
    instant = parse_instant(value)
    return None if instant is None else int(instant.timestamp() * 1000)


def as_wire(value: Any) -> str:
    """Every property value is a string on the wire; JSON booleans and numbers are accepted on input."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def correlation_id() -> str:
    return str(uuid.uuid4())


def error_body(
    category: str,
    message: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    context: dict[str, list[str]] | None = None,
    sub_category: str | None = None,
) -> dict[str, Any]:
    """The `Error` shape of a failed call."""
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": correlation_id(),
        "category": category,
    }
    if sub_category:
        body["subCategory"] = sub_category
    if errors:
        body["errors"] = errors
    if context:
        body["context"] = context
    return body


def fail(status: int, category: str, message: str, **kw: Any) -> Reply:
    """A `Reply` to raise from a handler: the call fails as a whole."""
    return Reply(Response(status, error_body(category, message, **kw)))


class SeedRefused(Reply, ValueError):
    """A seed the emulator refuses: the admin API answers with `response` (HubSpot's error body), and a
    direct caller (`seed_dir` at `revhub emulator start`) gets a ValueError with a readable message."""

    def __str__(self) -> str:
        body = self.response.body
        return str(body.get("message")) if isinstance(body, dict) else str(body)


def seed_refused(reply: Reply, where: str) -> SeedRefused:
    body = dict(reply.response.body)
    body["message"] = f"{where}: {body.get('message')}"
    return SeedRefused(Response(reply.response.status, body))


def not_found(message: str = "resource not found") -> Reply:
    return fail(404, "OBJECT_NOT_FOUND", message)


def bad_request(message: str) -> Reply:
    return fail(400, "VALIDATION_ERROR", message)


class PropertyError(Exception):
    """One record's property problems, as HubSpot's validator reports them (each a dict with `error`)."""

    def __init__(
        self,
        problems: list[dict[str, Any]],
        *,
        category: str = "VALIDATION_ERROR",
        status: int = 400,
        message: str | None = None,
    ) -> None:
        super().__init__(message or "invalid")
        self.problems = problems
        self.category = category
        self.status = status
        self._message = message

    @property
    def message(self) -> str:
        if self._message:
            return self._message
        return "Property values were not valid: " + json.dumps(self.problems)

    @property
    def details(self) -> list[dict[str, Any]]:
        return [
            {"message": p["message"], "code": p["error"], "context": {"propertyName": [p["name"]]}}
            for p in self.problems
        ]

    def body(self) -> dict[str, Any]:
        return error_body(self.category, self.message, errors=self.details or None)

    def standard(self, context: dict[str, list[str]]) -> dict[str, Any]:
        """The `StandardError` shape used inside a 207 multi-status answer."""
        return {
            "status": "error",
            "category": self.category,
            "message": self.message,
            "context": context,
            "errors": self.details,
            "links": {},
        }


def problem(name: str, code: str, message: str) -> dict[str, Any]:
    return {
        "isValid": False,
        "message": message,
        "error": code,
        "name": name,
        "localizedErrorMessage": message,
    }


def missing_standard(object_label: str, ids: list[str]) -> dict[str, Any]:
    """The 207 entry for ids a batch could not find."""
    return {
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "message": f"Could not get some {object_label} objects, they may be deleted or not exist. "
        "Check that ids are valid.",
        "context": {"ids": ids},
        "errors": [],
        "links": {},
    }


def batch_body(results: list[dict[str, Any]], errors: list[dict[str, Any]], started: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": started,
        "completedAt": now_iso(),
        "requestedAt": started,
    }
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
    return body
