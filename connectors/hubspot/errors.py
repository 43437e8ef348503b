"""HubSpot's error table: whole-call failures and per-record 207 errors -> revhub `FailureCode`s.

hubspot-api-client raises a different `ApiException` class per API package, with no shared base, so the
table matches on what they all carry (`status`, `body`, `headers`); urllib3 errors mean the network.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import urllib3

from connectors.errors import ConnectorError, FailureCode, RemoteError, classify_status

# HubSpot quirks on top of the shared status table (crm-apis.md B6, B8, B9).
STATUS_OVERRIDES: dict[int, FailureCode] = {423: FailureCode.LOCK_CONTENTION}
# Per-record categories and property-validation codes, most specific first.
VALIDATION_CODES: tuple[tuple[str, FailureCode], ...] = (
    ("PROPERTY_DOESNT_EXIST", FailureCode.SCHEMA_DRIFT),
    ("INVALID_OPTION", FailureCode.PICKLIST_MISMATCH),
)
CATEGORY_CODES: dict[str, FailureCode] = {
    "OBJECT_NOT_FOUND": FailureCode.RECORD_NOT_FOUND,
    "CONFLICT": FailureCode.DUPLICATE_CONFLICT,
    "EXPIRED_AUTHENTICATION": FailureCode.AUTH_EXPIRED,
    "MISSING_SCOPES": FailureCode.PERMISSION_DENIED,
}


@dataclass(frozen=True, slots=True)
class Waits:
    """Seconds to wait on a 429 without `Retry-After`: HubSpot's own client waits 10 s x attempt on the
    ten-secondly window and 1 s x attempt on search's secondly limit; tests shrink `rate_limit`."""

    rate_limit: float = 10.0
    lock: float = 2.0  # 423 Locked: "wait at least 2 s" (B6)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> Waits:
        return cls(float(options.get("rate_limit_wait", 10.0)), float(options.get("lock_wait", 2.0)))


class HubSpotCallError(ConnectorError):
    """A whole call failed; `remote` is the record-level reading when the answer was about a record."""

    def __init__(
        self, code: FailureCode, message: str, *, remote: RemoteError | None = None, **kw: Any
    ) -> None:
        super().__init__(code, message, **kw)
        self.remote = remote


def parse_body(body: Any) -> dict[str, Any]:
    if isinstance(body, bytes | bytearray):
        body = body.decode("utf-8", "replace")
    try:
        parsed = json.loads(body) if body else {}
    except ValueError:
        return {"message": str(body)[:500]}
    return parsed if isinstance(parsed, dict) else {"message": str(parsed)[:500]}


def record_error(error: Mapping[str, Any]) -> RemoteError:
    """One `Error`/`StandardError` body about one record -> its `RemoteError`."""
    category = str(error.get("category") or "")
    message = str(error.get("message") or category or "rejected")
    details = [d for d in error.get("errors") or [] if isinstance(d, Mapping)]
    codes = [str(d.get("code") or "") for d in details]
    fields = tuple(n for d in details for n in (d.get("context") or {}).get("propertyName", []))
    for vendor, code in VALIDATION_CODES:
        if vendor in codes or vendor in message:
            return RemoteError(code, message, vendor, fields)
    code = CATEGORY_CODES.get(category, FailureCode.REMOTE_REJECTED)
    return RemoteError(code, message, next((c for c in codes if c), category), fields)


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def classify(exc: BaseException, attempt: int, waits: Waits) -> HubSpotCallError | None:
    """The `HubSpotCallError` for an exception a client call raised, or None if it is no call failure."""
    if isinstance(exc, urllib3.exceptions.HTTPError | ConnectionError | TimeoutError):
        return HubSpotCallError(FailureCode.NETWORK, f"{type(exc).__name__}: {exc}")
    status = getattr(exc, "status", None)
    if not hasattr(exc, "body") or status is None:
        return None
    if status == 0:  # the client wraps SSL and protocol errors as ApiException(status=0)
        return HubSpotCallError(FailureCode.NETWORK, str(getattr(exc, "reason", exc)))
    body, headers = parse_body(getattr(exc, "body", None)), getattr(exc, "headers", None)
    category = str(body.get("category") or "")
    message = str(body.get("message") or getattr(exc, "reason", "") or f"HTTP {status}")
    if status == 429:
        policy = str(body.get("policyName") or "")
        if policy == "DAILY":
            return HubSpotCallError(
                FailureCode.DAILY_QUOTA_EXHAUSTED, message, vendor_code=policy, status=status
            )
        secondly = policy == "SECONDLY" or "secondly limit" in message
        wait = _retry_after(headers)
        if wait is None:
            wait = waits.rate_limit * attempt / (10 if secondly else 1)
        return HubSpotCallError(
            FailureCode.RATE_LIMITED, message, vendor_code=policy, status=status, retry_after=wait
        )
    if status == 423:
        return HubSpotCallError(
            FailureCode.LOCK_CONTENTION,
            message,
            status=status,
            retry_after=_retry_after(headers) or waits.lock,
        )
    if status in (401, 403):
        code = CATEGORY_CODES.get(category) or classify_status(status)
        return HubSpotCallError(code, message, vendor_code=category, status=status)
    if status in (400, 404, 409):
        remote = record_error(body)
        return HubSpotCallError(
            remote.code, message, vendor_code=remote.vendor_code, status=status, remote=remote
        )
    return HubSpotCallError(
        classify_status(status, STATUS_OVERRIDES), message, vendor_code=category, status=status
    )
