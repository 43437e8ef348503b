"""The failure taxonomy shared by connectors and the engine, and the default HTTP classification table.

Every failure revhub records carries one `FailureCode`. A code says whether retrying can help, how
severe it is, and which runbook the on-call engineer follows (`runbooks/<CODE>.md`). Connectors
translate their vendor's errors into these codes; the engine decides what to do from the code alone.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Severity(str, Enum):  # noqa: UP042 - StrEnum would change str() from "Severity.X" to "X"
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class FailureCode(str, Enum):  # noqa: UP042 - StrEnum would change str() from "FailureCode.X" to "X"
    """One fixed taxonomy (DESIGN.md section 3). The value is the runbook's file name."""

    AUTH_EXPIRED = "AUTH_EXPIRED"
    AUTH_INVALID = "AUTH_INVALID"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    RATE_LIMITED = "RATE_LIMITED"
    DAILY_QUOTA_EXHAUSTED = "DAILY_QUOTA_EXHAUSTED"
    REMOTE_UNAVAILABLE = "REMOTE_UNAVAILABLE"
    NETWORK = "NETWORK"
    RECORD_INVALID = "RECORD_INVALID"
    REMOTE_REJECTED = "REMOTE_REJECTED"
    DUPLICATE_CONFLICT = "DUPLICATE_CONFLICT"
    RECORD_NOT_FOUND = "RECORD_NOT_FOUND"
    LOCK_CONTENTION = "LOCK_CONTENTION"
    SCHEMA_DRIFT = "SCHEMA_DRIFT"
    PICKLIST_MISMATCH = "PICKLIST_MISMATCH"
    MAPPING_ERROR = "MAPPING_ERROR"
    CONFIG_ERROR = "CONFIG_ERROR"
    UNKNOWN = "UNKNOWN"
    # Run health, raised by the alert monitors rather than by a record (no failure row carries them).
    RUN_STUCK = "RUN_STUCK"
    RUN_SLOW = "RUN_SLOW"
    FAILURE_RATE_HIGH = "FAILURE_RATE_HIGH"
    FAILURES_DEAD = "FAILURES_DEAD"

    @property
    def retryable(self) -> bool:
        return self in _RETRYABLE

    @property
    def fatal(self) -> bool:
        """A fatal code stops the whole run: nothing else in it can succeed until a person acts."""
        return self in _FATAL

    @property
    def severity(self) -> Severity:
        if self in _RUN_HEALTH:
            return _RUN_HEALTH[self]
        if self in _FATAL:
            return Severity.CRITICAL
        return Severity.WARNING if self.retryable else Severity.INFO

    @property
    def runbook(self) -> str:
        return f"runbooks/{self.value}.md"


_RETRYABLE = frozenset({
    FailureCode.RATE_LIMITED, FailureCode.REMOTE_UNAVAILABLE, FailureCode.NETWORK,
    FailureCode.LOCK_CONTENTION, FailureCode.AUTH_EXPIRED, FailureCode.RECORD_NOT_FOUND,
})
# Run-health codes carry no record, so retryable/fatal say nothing about them: each has its own severity.
_RUN_HEALTH: dict[FailureCode, Severity] = {
    FailureCode.RUN_STUCK: Severity.CRITICAL,
    FailureCode.RUN_SLOW: Severity.WARNING,
    FailureCode.FAILURE_RATE_HIGH: Severity.WARNING,
    FailureCode.FAILURES_DEAD: Severity.WARNING,
}
_FATAL = frozenset({
    FailureCode.AUTH_EXPIRED, FailureCode.AUTH_INVALID, FailureCode.PERMISSION_DENIED,
    FailureCode.DAILY_QUOTA_EXHAUSTED, FailureCode.CONFIG_ERROR, FailureCode.SCHEMA_DRIFT,
})


@dataclass(frozen=True, slots=True)
class RemoteError:
    """One record's failure as the remote system reported it, already classified."""

    code: FailureCode
    message: str
    vendor_code: str = ""
    fields: tuple[str, ...] = ()


class ConnectorError(Exception):
    """A whole call failed (not one record). `retry_after` is the wait the vendor asked for, in seconds."""

    def __init__(self, code: FailureCode, message: str, *, vendor_code: str = "",
                 status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(f"{code.value}: {message}")
        self.code = code
        self.message = message
        self.vendor_code = vendor_code
        self.status = status
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.code.retryable


# Default HTTP status -> code table; each connector extends it with its vendor's quirks
# (HubSpot 423 Locked, Salesforce REQUEST_LIMIT_EXCEEDED as a 403, ...).
HTTP_STATUS_CODES: dict[int, FailureCode] = {
    400: FailureCode.REMOTE_REJECTED,
    401: FailureCode.AUTH_INVALID,
    403: FailureCode.PERMISSION_DENIED,
    404: FailureCode.RECORD_NOT_FOUND,
    409: FailureCode.DUPLICATE_CONFLICT,
    423: FailureCode.LOCK_CONTENTION,
    429: FailureCode.RATE_LIMITED,
    500: FailureCode.REMOTE_UNAVAILABLE,
    502: FailureCode.REMOTE_UNAVAILABLE,
    503: FailureCode.REMOTE_UNAVAILABLE,
    504: FailureCode.REMOTE_UNAVAILABLE,
}


def classify_status(status: int, overrides: dict[int, FailureCode] | None = None) -> FailureCode:
    """Map an HTTP status to a failure code, vendor overrides first."""
    if overrides and status in overrides:
        return overrides[status]
    if status in HTTP_STATUS_CODES:
        return HTTP_STATUS_CODES[status]
    if status >= 500:
        return FailureCode.REMOTE_UNAVAILABLE
    return FailureCode.UNKNOWN
