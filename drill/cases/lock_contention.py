"""LOCK_CONTENTION: Salesforce rows locked for a moment (retried away), then for good (records fail)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from drill.case import Case

if TYPE_CHECKING:
    from drill.run import Drill


def cases(drill: Drill) -> list[Case]:
    f = drill.faults
    return [
        Case("LOCK_CONTENTION: a Salesforce flow holds 2 rows for a moment", "LOCK_CONTENTION", "transient",
             lambda: f("salesforce", {"lock_rows": 2}), lambda: drill.calm("salesforce"),
             records={"hubspot_contacts": 3, "salesforce_contacts": 0, "opportunities": 0},
             fault={"system": "salesforce", "spec": {"lock_rows": 2}}),
        Case("LOCK_CONTENTION: a Salesforce data load keeps every row locked", "LOCK_CONTENTION", "records",
             lambda: f("salesforce", {"lock_rows": 10_000}), lambda: drill.calm("salesforce"), replay="retry",
             records={"hubspot_contacts": 3, "salesforce_contacts": 0, "opportunities": 0}),
    ]
