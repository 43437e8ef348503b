"""`revhub emulator start` as a person or a CI job runs it: a subprocess that prints its URL and stops on SIGTERM."""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

REPO = Path(__file__).resolve().parents[1]
TOKEN = "cli-token"
STARTUP_SECONDS = 20  # the Salesforce emulator makes its CA and certificate on first start


@dataclass(frozen=True)
class System:
    seed_file: str  # <object>.json in the seed folder
    seed: list[dict[str, Any]]  # native records
    dump_key: str  # the field that identifies a seeded record in the dump
    probe: str  # a vendor endpoint that needs the token


SYSTEMS = {
    "hubspot": System(
        seed_file="contacts.json",
        seed=[{"id": "501", "properties": {"email": "seeded@example.com", "firstname": "Seeded"}}],
        dump_key="properties.email",
        probe="/crm/v3/owners",
    ),
    "salesforce": System(
        seed_file="Contact.json",
        seed=[{"LastName": "Seeded", "Email": "seeded@example.com"}],
        dump_key="Email",
        probe="/services/data/v59.0/limits",
    ),
}


class Running:
    """One `revhub emulator start` subprocess and its stdout, read line by line without blocking the test."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sync_engine.cli", "emulator", "start", *args],
            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def line(self, timeout: float = STARTUP_SECONDS) -> str:
        try:
            got = self._lines.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no stdout line within {timeout} s")
        if got is None:
            stderr = self.proc.stderr.read() if self.proc.stderr else ""
            pytest.fail(f"the emulator exited ({self.proc.wait()}) before printing a line: {stderr}")
        return got

    def stop(self) -> int:
        """SIGTERM, then the exit code; a process still running after a few seconds fails the test."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail("the emulator did not stop within 5 s of SIGTERM")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Any]:
    started: list[Running] = []

    def run(*args: str) -> Running:
        proc = Running(list(args), tmp_path)
        started.append(proc)
        return proc

    yield run
    for proc in started:
        proc.kill()


def _field(record: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        record = record[part]
    return record


@pytest.mark.parametrize("system", sorted(SYSTEMS))
def test_emulator_start_serves_seeds_guards_and_stops_on_sigterm(system: str, start: Any,
                                                                 tmp_path: Path) -> None:
    spec = SYSTEMS[system]
    seed_dir = tmp_path / "seed"
    seed_dir.mkdir()
    (seed_dir / spec.seed_file).write_text(json.dumps(spec.seed), encoding="utf-8")

    emulator = start("--system", system, "--port", "0", "--seed", str(seed_dir), "--token", TOKEN)
    first = emulator.line()
    assert first.startswith("listening on "), first
    url = first.removeprefix("listening on ")
    assert url.startswith(("http://127.0.0.1:", "https://127.0.0.1:")) and not url.endswith(":0"), url
    verify: str | bool = True
    if system == "salesforce":
        second = emulator.line()
        assert second.startswith("ca file: "), second
        ca_file = Path(second.removeprefix("ca file: "))
        assert ca_file.is_file() and ca_file.is_relative_to(tmp_path / ".revhub" / "emulator"), ca_file
        assert url.startswith("https://")
        verify = str(ca_file)

    http = requests.Session()
    http.trust_env = False
    http.verify = verify
    stats = http.get(f"{url}/__emulator__/stats", timeout=10).json()
    assert isinstance(stats["requests"], dict) and isinstance(stats["total"], int)

    dump = http.get(f"{url}/__emulator__/dump/{spec.seed_file.removesuffix('.json')}", timeout=10).json()
    assert [_field(r, spec.dump_key) for r in dump] == [_field(r, spec.dump_key) for r in spec.seed]

    assert http.get(url + spec.probe, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).status_code == 200
    refused = http.get(url + spec.probe, headers={"Authorization": "Bearer someone-else"}, timeout=10)
    assert refused.status_code == 401

    assert emulator.stop() == 0


def test_every_registered_emulator_has_a_cli_case() -> None:
    from connectors.registry import emulator_names

    assert set(emulator_names()) <= set(SYSTEMS), sorted(set(emulator_names()) - set(SYSTEMS))
