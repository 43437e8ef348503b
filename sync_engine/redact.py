"""Masks personal data and secrets in text that leaves the sync path (failure rows, logs, alerts)."""
from __future__ import annotations

import re

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+)")
_BEARER = re.compile(r"(?i)(bearer\s+|session[_ ]?id[=:]\s*|token[=:]\s*)[A-Za-z0-9._~+/=!-]+")


def redact(text: str) -> str:
    """`jane.doe@acme.com` -> `j***@acme.com`; bearer tokens and session ids -> `****`."""
    text = _BEARER.sub(lambda m: m.group(1) + "****", text)
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
