"""Fixtures: one HTTPS Salesforce emulator for the whole session, reset before each test."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from connectors.base import ConnectorSettings, Secret
from connectors.emulator import EmulatorServer
from connectors.salesforce import SalesforceConnector
from connectors.salesforce.emulator import SalesforceEmulator

API = "/services/data/v59.0/"


@pytest.fixture(scope="session")
def sf_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    emulator = SalesforceEmulator(cert_dir=tmp_path_factory.mktemp("sf-certs"))
    with EmulatorServer(emulator) as server:
        yield server


@pytest.fixture
def emulator(sf_server: EmulatorServer) -> Iterator[SalesforceEmulator]:
    emu: SalesforceEmulator = sf_server.emulator  # type: ignore[assignment]
    emu.reset()
    yield emu
    emu.page_size, emu.daily_max = 2000, 100_000


class Api:
    """Plain `requests` against the emulator, trusting its CA (trust_env off: crm-apis.md A3)."""

    def __init__(self, server: EmulatorServer, ca_file: str, token: str = "tok") -> None:
        self.url = server.url
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = ca_file
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """`path` is relative to /services/data/v59.0/ unless it starts with a slash."""
        full = path if path.startswith("/") else API + path
        return self.session.request(method, self.url + full, timeout=10, **kwargs)

    def admin(self, method: str, action: str, **kwargs: Any) -> Any:
        response = self.session.request(method, f"{self.url}/__emulator__/{action}", timeout=10, **kwargs)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, int]:
        return self.admin("GET", "stats")["requests"]


@pytest.fixture
def api(sf_server: EmulatorServer, emulator: SalesforceEmulator) -> Api:
    return Api(sf_server, emulator.ca_file)


@pytest.fixture
def connector(sf_server: EmulatorServer, emulator: SalesforceEmulator) -> Iterator[SalesforceConnector]:
    settings = ConnectorSettings("salesforce", sf_server.url, Secret("tok"), {"ca_file": emulator.ca_file},
                                 timeout=10)
    conn = SalesforceConnector(settings)
    yield conn
    conn.close()

