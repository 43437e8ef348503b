"""Salesforce's error table: per-record `statusCode`s and whole-call failures -> revhub's `FailureCode`s.

Salesforce answers a refused collections record with HTTP 200 and a `statusCode`; a refused call
with an error array whose `errorCode` says more than the HTTP status does (REQUEST_LIMIT_EXCEEDED is
a 403, crm-apis.md A10/A11). simple-salesforce turns statuses >= 300 into exceptions without
retrying; this module classifies them so `call_with_retry` retries only what can succeed later.
"""
from __future__ import annotations

from typing import Any

import requests
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceError

from connectors.errors import ConnectorError, FailureCode, RemoteError, classify_status

# Per-record statusCode -> failure code (crm-apis.md A10 "sync handling" column).
RECORD_CODES: dict[str, FailureCode] = {
    "REQUIRED_FIELD_MISSING": FailureCode.REMOTE_REJECTED,
    "INVALID_EMAIL_ADDRESS": FailureCode.REMOTE_REJECTED,
    "FIELD_CUSTOM_VALIDATION_EXCEPTION": FailureCode.REMOTE_REJECTED,
    "STRING_TOO_LONG": FailureCode.REMOTE_REJECTED,
    "MALFORMED_ID": FailureCode.REMOTE_REJECTED,
    "INVALID_CROSS_REFERENCE_KEY": FailureCode.REMOTE_REJECTED,
    "INVALID_TYPE_ON_FIELD_IN_RECORD": FailureCode.REMOTE_REJECTED,
    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST": FailureCode.PICKLIST_MISMATCH,
    "INVALID_FIELD": FailureCode.SCHEMA_DRIFT,
    "INVALID_FIELD_FOR_INSERT_UPDATE": FailureCode.SCHEMA_DRIFT,
    "DUPLICATE_VALUE": FailureCode.DUPLICATE_CONFLICT,
    "DUPLICATES_DETECTED": FailureCode.DUPLICATE_CONFLICT,
    "DUPLICATE_EXTERNAL_ID": FailureCode.DUPLICATE_CONFLICT,
    "ENTITY_IS_DELETED": FailureCode.RECORD_NOT_FOUND,
    "UNABLE_TO_LOCK_ROW": FailureCode.LOCK_CONTENTION,
}

# Top-level errorCode -> failure code, checked before the HTTP status.
CALL_CODES: dict[str, FailureCode] = {
    "INVALID_SESSION_ID": FailureCode.AUTH_EXPIRED,
    "MALFORMED_QUERY": FailureCode.SCHEMA_DRIFT,
    "INVALID_FIELD": FailureCode.SCHEMA_DRIFT,
    "INVALID_TYPE": FailureCode.SCHEMA_DRIFT,
    "API_DISABLED_FOR_ORG": FailureCode.PERMISSION_DENIED,
    "INSUFFICIENT_ACCESS_OR_READONLY": FailureCode.PERMISSION_DENIED,
    "SERVER_UNAVAILABLE": FailureCode.REMOTE_UNAVAILABLE,
}


def record_error(errors: list[dict[str, Any]]) -> RemoteError:
    """The first per-record error of a collections result, classified; unknown codes keep their message."""
    first = errors[0] if errors else {}
    vendor = str(first.get("statusCode") or first.get("errorCode") or "")
    message = str(first.get("message") or "the record was refused without an error")
    return RemoteError(RECORD_CODES.get(vendor, FailureCode.UNKNOWN), message, vendor,
                       tuple(first.get("fields") or ()))


def _first_error(content: Any) -> tuple[str, str]:
    """(errorCode, message) of an error body: normally an array, but proxies answer with text or objects."""
    first = content[0] if isinstance(content, list) and content else content
    if isinstance(first, dict):
        return str(first.get("errorCode") or ""), str(first.get("message") or "")
    return "", str(content)[:500]


def classify_request_limit(message: str) -> FailureCode:
    """The daily allocation is spent only for "TotalRequests"; other limits (concurrency) pass soon."""
    return FailureCode.DAILY_QUOTA_EXHAUSTED if "TotalRequests" in message else FailureCode.RATE_LIMITED


def to_connector_error(exc: Exception) -> ConnectorError | None:
    """A `ConnectorError` for a simple-salesforce or requests exception, None for anything else (a bug)."""
    if isinstance(exc, SalesforceAuthenticationFailed):
        return ConnectorError(FailureCode.AUTH_INVALID, str(exc), status=401)
    if isinstance(exc, SalesforceError):
        vendor, message = _first_error(exc.content)
        if vendor == "REQUEST_LIMIT_EXCEEDED":
            code = classify_request_limit(message)
        else:
            code = CALL_CODES.get(vendor) or RECORD_CODES.get(vendor) or classify_status(
                exc.status, {401: FailureCode.AUTH_EXPIRED, 300: FailureCode.DUPLICATE_CONFLICT})
        return ConnectorError(code, message or f"HTTP {exc.status}", vendor_code=vendor, status=exc.status)
    if isinstance(exc, requests.exceptions.SSLError):
        # Not a network blip: the certificate is not trusted. Retrying cannot help; config can.
        return ConnectorError(FailureCode.CONFIG_ERROR,
                              f"TLS verification failed (set options.ca_file?): {exc}")
    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        return ConnectorError(FailureCode.NETWORK, f"{type(exc).__name__}: {exc}")
    return None
