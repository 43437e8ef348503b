"""AUTH_EXPIRED: a system revokes revhub's token; runs stop (exit 3) until a fresh one is set."""
from __future__ import annotations

from typing import TYPE_CHECKING

from drill.case import Case

if TYPE_CHECKING:
    from drill.run import Drill


def cases(drill: Drill) -> list[Case]:
    f = drill.faults
    return [
        Case("AUTH_EXPIRED: Salesforce revokes revhub's session", "AUTH_EXPIRED", "stop",
             lambda: f("salesforce", {"expire_tokens": True}), lambda: drill.fresh_token("salesforce"),
             replay="retry",
             records={"hubspot_contacts": 2, "salesforce_contacts": 2, "opportunities": 1}),
        Case("AUTH_EXPIRED: HubSpot's OAuth access token expires", "AUTH_EXPIRED", "stop",
             lambda: f("hubspot", {"expire_tokens": True}), lambda: drill.fresh_token("hubspot"), replay="retry",
             records={"hubspot_contacts": 2, "salesforce_contacts": 2, "opportunities": 1}),
    ]
