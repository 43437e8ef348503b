"""The connector's one door to HubSpot: cached hubspot-api-client APIs, counted, timed-out, retried calls.

The generated APIs speak urllib3 and build a new pool per property access (crm-apis.md B1), so they are built
once and cached. urllib3's own retries are off: tenacity (`call_with_retry`) decides, from the error table.
Calls run with `_preload_content=False` so the connector reads HubSpot's JSON as sent (207 bodies included)
instead of the generated models.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import hubspot
import urllib3
from urllib3.util.retry import Retry

from connectors.base import CallCounter, ConnectorSettings
from connectors.hubspot.errors import Waits, classify
from connectors.retry import RetryBounds, call_with_retry


@dataclass(frozen=True, slots=True)
class ApiReply:
    status: int
    body: dict[str, Any]


def _maybe_delivered(exc: BaseException) -> bool:
    """A timeout while reading the answer: the request may have been processed (unlike a refused
    connection, which is safe to retry)."""
    seen: BaseException | None = exc
    for _ in range(10):  # the cause chain is short; never loop on a cycle
        if seen is None:
            return False
        if isinstance(seen, urllib3.exceptions.ReadTimeoutError | urllib3.exceptions.ProtocolError):
            return True
        reason = getattr(seen, "reason", None)
        seen = reason if isinstance(reason, BaseException) else (seen.__cause__ or seen.__context__)
    return False


class HubSpotClient:
    """Builds nothing until the first call (no I/O in constructors); every call is counted by kind."""

    def __init__(self, settings: ConnectorSettings, calls: CallCounter) -> None:
        self.settings = settings
        self.calls = calls
        self.waits = Waits.from_options(settings.options)
        self.bounds = RetryBounds.from_options(settings.options, settings.system)
        self._client: Any = None
        self._apis: dict[str, Any] = {}
        self.daily: tuple[int, int] | None = None  # (used, max) from the X-HubSpot-RateLimit-Daily* headers

    def api(self, path: str) -> Any:
        """A cached API object by discovery path, e.g. `contacts.batch_api`, `associations.v4.batch_api`."""
        found = self._apis.get(path)
        if found is None:
            if self._client is None:
                self._client = hubspot.HubSpot(
                    access_token=self.settings.token.reveal(),
                    host=self.settings.base_url.rstrip("/"),
                    retry=Retry(total=0, redirect=0),
                )
            found = self._client.crm
            for part in path.split("."):
                found = getattr(found, part)
            self._apis[path] = found
        return found

    def close(self) -> None:
        """Drop the cached APIs and their urllib3 pools (each API object owns one)."""
        for api in self._apis.values():
            rest = getattr(getattr(api, "api_client", None), "rest_client", None)
            pool = getattr(rest, "pool_manager", None)
            if pool is not None:
                pool.clear()
        self._apis.clear()
        self._client = None

    def _note_daily(self, headers: Any) -> None:
        """Private apps get the portal's daily allocation in every answer (B8); OAuth apps do not."""
        try:
            daily = int(headers.get("X-HubSpot-RateLimit-Daily"))
            remaining = int(headers.get("X-HubSpot-RateLimit-Daily-Remaining"))
        except (TypeError, ValueError):
            return
        self.daily = (daily - remaining, daily)

    def call(
        self, kind: Literal["read", "write"], method: Callable[..., Any], *args: Any, idempotent: bool = True,
        **kwargs: Any,
    ) -> ApiReply:
        """Run one API method with retries; each HTTP attempt counts as one call of `kind`.

        `idempotent=False` (batch create): a request that may have reached HubSpot before the answer
        was lost (a read timeout) is not sent again, or it could create every record twice; the
        engine's lookup-before-create on the next run finds what the lost request created.
        """
        attempt = 0

        def once() -> ApiReply:
            nonlocal attempt
            attempt += 1
            setattr(self.calls, kind, getattr(self.calls, kind) + 1)
            try:
                resp = method(*args, _preload_content=False, _request_timeout=self.settings.timeout, **kwargs)
            except Exception as exc:
                error = classify(exc, attempt, self.waits)
                if error is None:
                    raise
                if not idempotent and _maybe_delivered(exc):
                    error.final = True  # type: ignore[attr-defined]
                raise error from exc
            self._note_daily(getattr(resp, "headers", None) or {})
            try:
                data = resp.data
            finally:
                resp.release_conn()
            return ApiReply(int(resp.status), json.loads(data) if data else {})

        b = self.bounds
        return call_with_retry(once, attempts=b.attempts, base_wait=b.base_wait, max_wait=b.max_wait, total=b.total,
                               system=self.settings.system)
