"""Bounded retries of transient whole-call failures, shared by connectors (tenacity underneath).

Only what a retry can fix is retried: rate limits (honouring the vendor's `Retry-After` or window),
outages, network errors and lock contention. Auth, validation and quota errors are raised at once.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

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


def call_with_retry(fn: Callable[[], T], *, attempts: int = 5, base_wait: float = 0.2,
                    max_wait: float = 20.0, total: float = 120.0) -> T:
    """Call `fn`, retrying transient `ConnectorError`s; bounded in attempts and total time."""
    retrying = Retrying(
        retry=retry_if_exception(_transient),
        stop=stop_after_attempt(attempts) | stop_after_delay(total),
        wait=_Wait(base_wait, max_wait),
        reraise=True,
    )
    return retrying(fn)
