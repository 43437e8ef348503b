"""Masks personal data and secrets in text that leaves the sync path (failure rows, logs, alerts).

Emails are masked (`j***@acme.com`) or, with `[privacy] email_in_failures = "hash"`, replaced by a keyed
HMAC-SHA256 token (`email#3f9a1c2b7d4e5f60`): the same address always gives the same token, so on-call can
see that two failures are about one person without seeing who, and someone holding the key can look a
person up (`email_token`). The policy is set once per process when the config is loaded (`configure`):
every place text leaves revhub calls `redact`, and none of them should need the config to do it right.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Literal

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+)")
_WHOLE_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_BEARER = re.compile(r"(?i)(bearer\s+|session[_ ]?id[=:]\s*|token[=:]\s*)[A-Za-z0-9._~+/=!-]+")
HASH_PREFIX = "email#"


@dataclass(frozen=True, slots=True)
class Privacy:
    """How emails appear in failure rows, alerts and logs; `key` is the HMAC secret for "hash"."""

    emails: Literal["mask", "hash"] = "mask"
    key: bytes = b""

    def __post_init__(self) -> None:
        if self.emails == "hash" and not self.key:
            raise ValueError("hashing emails needs a secret key")

    def __repr__(self) -> str:  # the key never prints
        return f"Privacy(emails={self.emails!r}, key=****)"


_policy = Privacy()


def configure(policy: Privacy) -> None:
    """Set the process's policy (called by `load_config`); the default masks."""
    global _policy
    _policy = policy


def policy() -> Privacy:
    return _policy


def email_token(email: str, key: bytes) -> str:
    """`Jane@Acme.com ` -> `email#<16 hex>`: HMAC-SHA256 of the trimmed, lower-cased address."""
    digest = hmac.new(key, email.strip().lower().encode(), hashlib.sha256).hexdigest()
    return HASH_PREFIX + digest[:16]


def redact(text: str, privacy: Privacy | None = None) -> str:
    """`jane.doe@acme.com` -> `j***@acme.com` (or its `email#...` token); bearer tokens, session ids -> `****`."""
    p = privacy or _policy
    text = _BEARER.sub(lambda m: m.group(1) + "****", text)
    if p.emails == "hash":
        text = _WHOLE_EMAIL.sub(lambda m: email_token(m.group(0), p.key), text)
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
