"""NETWORK: HubSpot unreachable, by a config edit pointing its base_url at a closed port."""
from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from drill.case import Case

if TYPE_CHECKING:
    from drill.run import Drill


def cases(drill: Drill) -> list[Case]:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    dead_port = closed.getsockname()[1]
    closed.close()  # nothing listens there now: connection refused
    hub_url = drill.servers["hubspot"].url

    def unplug() -> None:
        drill.expect(hub_url in drill.good_config, "the config points at the HubSpot emulator")
        drill.config.write_text(drill.good_config.replace(hub_url, f"http://127.0.0.1:{dead_port}"))
        drill.say("inject", f"config.toml: systems.hubspot.base_url -> http://127.0.0.1:{dead_port} "
                            "(nothing listens there)")

    def replug() -> str:
        drill.config.write_text(drill.good_config)
        return f"config.toml: systems.hubspot.base_url back to {hub_url}"

    return [
        Case("NETWORK: HubSpot unreachable (base_url points at a closed port)", "NETWORK", "stop",
             unplug, replug, records={"hubspot_contacts": 2, "salesforce_contacts": 2, "opportunities": 1}),
    ]
