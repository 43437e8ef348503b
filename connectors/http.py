"""The one factory connectors get HTTP sessions from, so every call has a timeout by construction."""
from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter


class _TimeoutAdapter(HTTPAdapter):
    def __init__(self, timeout: float, **kwargs: Any) -> None:
        self._timeout = timeout
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return super().send(request, **kwargs)


def make_session(timeout: float, *, verify: str | bool = True, pool_size: int = 10) -> requests.Session:
    """A requests session whose every call times out after `timeout` seconds unless told otherwise.

    `trust_env` is off when a CA file is given: REQUESTS_CA_BUNDLE would otherwise silently replace
    it (crm-apis.md A3), which breaks trusting a local emulator's certificate.
    """
    session = requests.Session()
    adapter = _TimeoutAdapter(timeout, pool_connections=pool_size, pool_maxsize=pool_size)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.verify = verify
    if isinstance(verify, str):
        session.trust_env = False
    return session
