"""What every alert channel shares: routing (severity, pipelines), the send contract, safe HTTP posting.

A channel never lets a secret out: URLs with tokens, routing keys, passwords and signing keys are
`Secret`s revealed only at the call, and a failed delivery is described by status and exception type,
never by the exception's text (requests puts the full URL, token and all, into its messages).
urllib3 logs each request's path at DEBUG, and a Slack webhook's path *is* its token: while a secret
URL is being posted to, a filter on urllib3's logger masks it (a context variable scopes it to the
call, so concurrent posts in other threads are unaffected).
"""
from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlsplit

import requests

from connectors.base import Secret
from connectors.errors import ConnectorError, FailureCode, Severity
from connectors.http import make_session
from connectors.retry import call_with_retry
from sync_engine.alerts.model import ALL_PIPELINES, Alert, at_least
from sync_engine.errors import RevhubError

USER_AGENT = "revhub-alerts/1"

_HIDDEN: ContextVar[tuple[str, ...]] = ContextVar("revhub_alerts_hidden", default=())


class _HideSecretUrl(logging.Filter):
    """Masks the secret URL of the post in flight in urllib3's `"POST /services/T/B/<token>"` lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        hidden = _HIDDEN.get()
        if hidden and isinstance(record.args, tuple):
            record.args = tuple(_mask(a, hidden) if isinstance(a, str) else a for a in record.args)
        return True


def _mask(text: str, hidden: tuple[str, ...]) -> str:
    for value in hidden:
        text = text.replace(value, "****")
    return text


_URLLIB3 = logging.getLogger("urllib3.connectionpool")
if not any(isinstance(f, _HideSecretUrl) for f in _URLLIB3.filters):
    _URLLIB3.addFilter(_HideSecretUrl())


class DeliveryError(RevhubError):
    """A channel refused or could not take an alert. The message never holds a secret."""


@dataclass(frozen=True, slots=True)
class Route:
    """Which alerts a channel takes: at least `min_severity`, and only these pipelines when given."""

    min_severity: Severity = Severity.WARNING
    pipelines: frozenset[str] | None = None

    def accepts(self, alert: Alert) -> bool:
        if self.pipelines is not None and alert.pipeline not in self.pipelines | {ALL_PIPELINES}:
            return False  # an alert about the daemon's files concerns every pipeline
        return at_least(alert, self.min_severity)


class Channel(ABC):
    """One place alerts go. Subclasses format the alert in the service's own shape and send it."""

    kind: ClassVar[str]

    def __init__(self, name: str, route: Route, timeout: float = 10.0) -> None:
        self.name, self.route, self.timeout = name, route, timeout

    def accepts(self, alert: Alert) -> bool:
        return self.route.accepts(alert)

    @abstractmethod
    def send(self, alert: Alert) -> None:
        """Deliver one alert; raise `DeliveryError` (or OSError) when it did not arrive."""

    @abstractmethod
    def secrets(self) -> Iterable[Secret]:
        """The channel's secret values, scrubbed from anything it reports."""

    def scrub(self, text: str) -> str:
        for secret in self.secrets():
            if secret and secret.reveal():
                text = text.replace(secret.reveal(), "****")
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, route={self.route!r})"


def post(url: Secret | str, body: bytes, headers: Mapping[str, str], *, timeout: float,
         attempts: int = 3) -> requests.Response:
    """POST `body`, retrying 429/5xx/network errors (bounded, `Retry-After` honoured); 4xx raise at once."""
    target = url.reveal() if isinstance(url, Secret) else url
    all_headers = {"User-Agent": USER_AGENT, **headers}
    if isinstance(url, Secret):
        parts = urlsplit(target)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        token = _HIDDEN.set(tuple(v for v in (target, path) if len(v) > 1))
        try:
            return _post(target, body, all_headers, timeout=timeout, attempts=attempts)
        finally:
            _HIDDEN.reset(token)
    return _post(target, body, all_headers, timeout=timeout, attempts=attempts)


def _post(target: str, body: bytes, all_headers: Mapping[str, str], *, timeout: float,
          attempts: int) -> requests.Response:
    def once() -> requests.Response:
        with make_session(timeout) as session:
            try:
                response = session.post(target, data=body, headers=all_headers)
            except requests.Timeout:
                raise ConnectorError(FailureCode.NETWORK, "timed out") from None
            except requests.ConnectionError:
                raise ConnectorError(FailureCode.NETWORK, "connection failed") from None
        if response.status_code == 429 or response.status_code >= 500:
            code = FailureCode.RATE_LIMITED if response.status_code == 429 else FailureCode.REMOTE_UNAVAILABLE
            raise ConnectorError(code, f"HTTP {response.status_code}", status=response.status_code,
                                 retry_after=_retry_after(response))
        return response

    try:
        response = call_with_retry(once, attempts=attempts, base_wait=0.2, max_wait=5.0, total=30.0)
    except ConnectorError as exc:
        raise DeliveryError(f"{exc.code.value}: {exc.message} after {attempts} attempt(s)") from None
    if response.status_code >= 300:
        raise DeliveryError(f"HTTP {response.status_code}: {_reason(response)}")
    return response


def _retry_after(response: requests.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None


def _reason(response: requests.Response) -> str:
    """The service's short error word (Slack: `invalid_payload`), never an echo of what we sent."""
    text = response.text.strip()
    return text[:80] if text.replace("_", "").isalnum() else response.reason or "refused"
