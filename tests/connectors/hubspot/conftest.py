"""Fixtures for the HubSpot room: one emulator served over real HTTP per module, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields
from typing import Any

import pytest
import requests

from connectors.base import ConnectorSettings, Secret
from connectors.emulator import EmulatorServer
from connectors.hubspot import HubSpotConnector
from connectors.hubspot.emulator import HubSpotEmulator


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    srv = EmulatorServer(HubSpotEmulator()).start()
    yield srv
    srv.stop()


@pytest.fixture
def emulator(server: EmulatorServer) -> HubSpotEmulator:
    emu = server.emulator
    assert isinstance(emu, HubSpotEmulator)
    emu.reset()
    for limits in (emu.rate_limits, emu.search_limits):  # tests shrink them; back to HubSpot's figures
        for f in fields(limits):
            setattr(limits, f.name, f.default)
    return emu


class Admin:
    """The emulator's admin API, as a test or `revhub emulator` uses it."""

    def __init__(self, url: str) -> None:
        self.url = url

    def seed(self, payload: dict[str, Any]) -> dict[str, Any]:
        r = requests.post(f"{self.url}/__emulator__/seed", json=payload, timeout=30)
        r.raise_for_status()
        return r.json()

    def dump(self, obj: str) -> list[dict[str, Any]]:
        return requests.get(f"{self.url}/__emulator__/dump/{obj}", timeout=10).json()

    def stats(self) -> dict[str, int]:
        return requests.get(f"{self.url}/__emulator__/stats", timeout=10).json()["requests"]

    def faults(self, **spec: Any) -> dict[str, Any]:
        return requests.post(f"{self.url}/__emulator__/faults", json=spec, timeout=10).json()


@pytest.fixture
def admin(server: EmulatorServer, emulator: HubSpotEmulator) -> Admin:
    return Admin(server.url)


@pytest.fixture
def connector(server: EmulatorServer, emulator: HubSpotEmulator) -> Iterator[HubSpotConnector]:
    settings = ConnectorSettings(
        "hubspot",
        server.url,
        Secret("pat-test-token"),
        {"rate_limit_wait": 0.02, "lock_wait": 0.01, "retry_max_wait": 0.2},
        timeout=10,
    )
    conn = HubSpotConnector(settings)
    yield conn
    conn.close()


def contact(cid: str, email: str, stamp: str | None = None, **props: str) -> dict[str, Any]:
    """A seed contact in HubSpot's native shape."""
    properties = {"email": email, **props}
    if stamp:
        properties["lastmodifieddate"] = stamp
    return {"id": cid, "properties": properties}
