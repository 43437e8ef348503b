"""Alert values shared by the alert tests."""
from __future__ import annotations

from datetime import UTC, datetime

from sync_engine.alerts import Alert, AlertState

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def firing(pipeline: str = "contacts-hubspot-to-salesforce", code: str = "AUTH_EXPIRED", count: int = 3,
           message: str = "") -> Alert:
    return Alert(pipeline, code, AlertState.FIRING, count, T0, T0, "stopped", 42, message)


def resolved(pipeline: str = "contacts-hubspot-to-salesforce", code: str = "AUTH_EXPIRED") -> Alert:
    return Alert(pipeline, code, AlertState.RESOLVED, 0, T0, T0, "succeeded", 43, previous_count=3)
