"""REMOTE_UNAVAILABLE: 5xx on some calls (retried away), then a system down (the run stops)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from drill.case import Case, dice

if TYPE_CHECKING:
    from drill.run import Drill


def cases(drill: Drill) -> list[Case]:
    f = drill.faults
    return [
        Case("REMOTE_UNAVAILABLE: HubSpot answers 503 on 30% of calls", "REMOTE_UNAVAILABLE", "transient",
             lambda: f("hubspot", {"rate_5xx": 0.3, "seed": dice(0.3)}), lambda: drill.calm("hubspot"),
             records={"hubspot_contacts": 3, "salesforce_contacts": 3, "opportunities": 2},
             fault={"system": "hubspot", "spec": {"rate_5xx": 0.3, "seed": dice(0.3)}}),
        Case("REMOTE_UNAVAILABLE: Salesforce is down (503 SERVER_UNAVAILABLE)", "REMOTE_UNAVAILABLE", "stop",
             lambda: f("salesforce", {"rate_5xx": 1.0}), lambda: drill.calm("salesforce"),
             records={"hubspot_contacts": 2, "salesforce_contacts": 2, "opportunities": 1}),
    ]
