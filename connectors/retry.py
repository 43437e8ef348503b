"""Bounded retries of transient whole-call failures, shared by connectors (tenacity underneath).

Only what a retry can fix is retried: rate limits (honouring the vendor's `Retry-After` or window),
outages, network errors and lock contention. Auth, validation and quota errors are raised at once.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, stop_after_delay
from tenacity.wait import wait_random_exponential

from connectors.errors import ConnectorError, FailureCode

T = TypeVar("T")

_RETRY_CODES = frozenset({FailureCode.RATE_LIMITED, FailureCode.REMOTE_UNAVAILABLE, FailureCode.NETWORK,
                          FailureCode.LOCK_CONTENTION})


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, ConnectorError) and exc.code in _RETRY_CODES and not getattr(exc, "final", False)


class _Wait:
    """Jittered exponential backoff, or the vendor's own wait when it names one."""

    def __init__(self, base: float, cap: float) -> None:
        self._backoff = wait_random_exponential(multiplier=base, max=cap)
        self._cap = cap

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, ConnectorError) and exc.retry_after is not None:
            return min(max(exc.retry_after, 0.0), self._cap)
        return float(self._backoff(state))


@dataclass(frozen=True, slots=True)
class RetryBounds:
    """How long a system's transient failures are retried: `[systems.X.options]` `retry_attempts`
    (tries in all, first included), `retry_base_wait` (seconds, doubled each try, jittered),
    `retry_max_wait` (longest single wait, also caps a vendor's `Retry-After`) and `retry_total`
    (seconds from the first try after which no new try starts). The defaults are what both connectors
    always did."""

    attempts: int = 5
    base_wait: float = 0.2
    max_wait: float = 20.0
    total: float = 120.0

    @classmethod
    def from_options(cls, options: Mapping[str, Any], system: str = "") -> RetryBounds:
        """Raises ConnectorError(CONFIG_ERROR) naming the option when a value is not a positive number."""
        values: dict[str, Any] = {}
        for name, kind in (("attempts", int), ("base_wait", float), ("max_wait", float), ("total", float)):
            key = f"retry_{name}"
            if key not in options:
                continue
            raw = options[key]
            try:
                value = kind(raw)
            except (TypeError, ValueError):
                value = None
            if value is None or isinstance(raw, bool) or value != value or value <= 0 or (
                    kind is int and value != raw):
                where = f"systems.{system}.options.{key}" if system else key
                raise ConnectorError(FailureCode.CONFIG_ERROR, f"{where} = {raw!r}: must be a positive "
                                     + ("whole number" if kind is int else "number of seconds"))
            values[name] = value
        return cls(**values)


def call_with_retry(fn: Callable[[], T], *, attempts: int = 5, base_wait: float = 0.2,
                    max_wait: float = 20.0, total: float = 120.0, system: str = "") -> T:
    """Call `fn`, retrying transient `ConnectorError`s; bounded in attempts and total time.

    `system` tags the error that escapes (`error.system`), so a stopped run can say which system stopped it.
    """
    retrying = Retrying(
        retry=retry_if_exception(_transient),
        stop=stop_after_attempt(attempts) | stop_after_delay(total),
        wait=_Wait(base_wait, max_wait),
        reraise=True,
    )
    try:
        return retrying(fn)
    except ConnectorError as exc:
        tag(exc, system)
        raise


def tag(error: ConnectorError, system: str) -> None:
    """Name the system an error came from, unless already named (a connector calling another's code)."""
    if system and not getattr(error, "system", ""):
        error.system = system  # type: ignore[attr-defined]
