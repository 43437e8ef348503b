"""Generic webhook: the alert as JSON, signed with HMAC-SHA256 so the receiver can trust it.

Headers on every POST:
- `X-Revhub-Timestamp`: Unix seconds when it was signed.
- `X-Revhub-Signature`: `sha256=<hex>`, the HMAC-SHA256 of `<timestamp>.<raw body>` under the shared
  key. Signing the timestamp with the body lets a receiver refuse replays: recompute it with
  `verify_signature`, compare in constant time, and reject timestamps older than a few minutes.
- `X-Revhub-Event`: `alert.firing` or `alert.resolved`; `X-Revhub-Delivery`: a unique id per POST.
Body: `{"schema": "revhub.alert/v1", "alert": {...}}` with the fields of `Alert.details()`.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterable

from connectors.base import Secret
from sync_engine.alerts.channels.base import Channel, Route, post
from sync_engine.alerts.model import Alert

SIGNATURE_HEADER = "X-Revhub-Signature"
TIMESTAMP_HEADER = "X-Revhub-Timestamp"
SCHEMA = "revhub.alert/v1"


def sign(key: str | bytes, timestamp: str, body: bytes) -> str:
    """The `X-Revhub-Signature` value for a body sent at `timestamp`."""
    raw_key = key.encode() if isinstance(key, str) else key
    digest = hmac.new(raw_key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(key: str | bytes, body: bytes, timestamp: str, signature: str, *,
                     tolerance: float = 300.0, now: float | None = None) -> bool:
    """What a receiver runs: the signature matches and the timestamp is within `tolerance` seconds."""
    try:
        age = abs((time.time() if now is None else now) - float(timestamp))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(sign(key, timestamp, body), signature)


class WebhookChannel(Channel):
    kind = "webhook"

    def __init__(self, name: str, route: Route, url: Secret | str, key: Secret, timeout: float = 10.0) -> None:
        super().__init__(name, route, timeout)
        self._url, self._key = url, key

    def secrets(self) -> Iterable[Secret]:
        return tuple(s for s in (self._url, self._key) if isinstance(s, Secret))

    def send(self, alert: Alert) -> None:
        body = json.dumps({"schema": SCHEMA, "alert": alert.details()}, sort_keys=True).encode()
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp,
                   SIGNATURE_HEADER: sign(self._key.reveal(), timestamp, body),
                   "X-Revhub-Event": f"alert.{alert.state.value}", "X-Revhub-Delivery": uuid.uuid4().hex}
        post(self._url, body, headers, timeout=self.timeout)
