"""RATE_LIMITED: some calls refused (retried away inside the run), then every call (the run stops)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from drill.case import Case, dice

if TYPE_CHECKING:
    from drill.run import Drill


def cases(drill: Drill) -> list[Case]:
    f = drill.faults
    return [
        Case("RATE_LIMITED: HubSpot 429 TEN_SECONDLY_ROLLING on 30% of calls", "RATE_LIMITED", "transient",
             lambda: f("hubspot", {"rate_429": 0.3, "seed": dice(0.3)}), lambda: drill.calm("hubspot"),
             records={"hubspot_contacts": 3, "salesforce_contacts": 3, "opportunities": 2},
             fault={"system": "hubspot", "spec": {"rate_429": 0.3, "seed": dice(0.3)}}),
        Case("RATE_LIMITED: Salesforce REQUEST_LIMIT_EXCEEDED (ConcurrentPerOrgLongTxn) on 30% of calls",
             "RATE_LIMITED", "transient",
             lambda: f("salesforce", {"rate_429": 0.3, "seed": dice(0.3)}), lambda: drill.calm("salesforce"),
             records={"hubspot_contacts": 3, "salesforce_contacts": 3, "opportunities": 2},
             fault={"system": "salesforce", "spec": {"rate_429": 0.3, "seed": dice(0.3)}}),
        Case("RATE_LIMITED: HubSpot refuses every call until the burst passes", "RATE_LIMITED", "stop",
             lambda: f("hubspot", {"rate_429": 1.0}), lambda: drill.calm("hubspot"),
             records={"hubspot_contacts": 2, "salesforce_contacts": 2, "opportunities": 1}),
    ]
