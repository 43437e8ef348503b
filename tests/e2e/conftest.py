"""End-to-end fixtures: both emulators on free ports, seeded with sample data, and a config pointing at them."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.emulator import EmulatorServer
from sync_engine import sample_data
from sync_engine.app import App, open_app
from sync_engine.demo import emulator_for

ROOT = Path(__file__).resolve().parents[2]

WRITE_ROUTES = ("POST", "PATCH", "PUT", "DELETE")


@dataclass
class World:
    root: Path
    config: Path
    data: sample_data.SampleData
    hubspot: EmulatorServer
    salesforce: EmulatorServer
    ca_file: str

    def app(self) -> App:
        return open_app(self.config)

    def stats(self, system: str) -> dict[str, int]:
        server = getattr(self, system)
        return dict(server.emulator.counts)

    def calls_to(self, system: str, route: str, before: dict[str, int]) -> int:
        """Requests to one route template since the `before` snapshot of `stats(system)`."""
        return self.stats(system).get(route, 0) - before.get(route, 0)

    def writes(self, system: str, before: dict[str, int] | None = None) -> int:
        """Write requests the system received (search and batch read are POSTs but read nothing)."""
        before = before or {}
        return sum(n - before.get(route, 0) for route, n in self.stats(system).items()
                   if route.split(" ")[0] in WRITE_ROUTES and not _is_read(route))

    def dump(self, system: str, obj: str) -> list[dict[str, Any]]:
        server = getattr(self, system)
        kw: dict[str, Any] = {"verify": self.ca_file} if system == "salesforce" else {}
        with requests.Session() as s:
            s.trust_env = False
            return s.get(f"{server.url}/__emulator__/dump/{obj}", timeout=10, **kw).json()


def _is_read(route: str) -> bool:
    return route.endswith(("/search", "/batch/read"))


def make_world(tmp_path: Path, **sizes: int) -> Iterator[World]:
    data = sample_data.generate(**sizes)
    seeds = sample_data.write_seeds(tmp_path / "seeds", data)
    servers = {}
    for system in ("hubspot", "salesforce"):
        emu = emulator_for(system, tmp_path / "certs" / system)
        emu.seed_dir(seeds[system])
        servers[system] = EmulatorServer(emu, 0).start()
    ca_file = servers["salesforce"].emulator.ca_file
    shutil.copytree(ROOT / "mappings", tmp_path / "mappings")
    text = (ROOT / "config.example.toml").read_text()
    text = text.replace("http://127.0.0.1:8710", servers["hubspot"].url)
    text = text.replace("https://127.0.0.1:8711", servers["salesforce"].url)
    text = text.replace('ca_file = ".revhub/emulator/salesforce/ca.pem"', f'ca_file = "{ca_file}"')
    text = text.replace('url = "sqlite:///.revhub/state.db"', f'url = "sqlite:///{tmp_path / "state.db"}"')
    config = tmp_path / "config.toml"
    config.write_text(text)
    try:
        yield World(tmp_path, config, data, servers["hubspot"], servers["salesforce"], ca_file)
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.delenv("REVHUB_STORE_URL", raising=False)
    yield from make_world(tmp_path, companies=20, contacts=120, opportunities=25)
