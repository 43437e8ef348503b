"""`revhub daemon`: runs the pipelines on schedule, serves /healthz and /metrics, stops cleanly on SIGTERM."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from tests.e2e.conftest import World

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_daemon_syncs_serves_health_and_metrics_and_stops_on_sigterm(world: World) -> None:
    port = _free_port()
    env = {**os.environ, "REVHUB_HEALTH_PORT": str(port)}
    env.pop("REVHUB_STORE_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "sync_engine.cli", "--config", str(world.config), "daemon"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        metrics = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
                if 'pipeline="deals-salesforce-to-hubspot",outcome="succeeded"' in metrics:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert health.json()["config"]["refused"] is None and health.json()["config"]["version"]
        assert 'revhub_runs_total{pipeline="contacts-hubspot-to-salesforce",outcome="succeeded"} 1' in metrics
        assert 'revhub_records_total{pipeline="contacts-hubspot-to-salesforce",result="created"}' in metrics
        assert world.dump("hubspot", "deals"), "the daemon's first tick should have synced the deals"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-2000:]
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]  # every line is JSON
    assert any(d["message"].startswith("stopping") for d in lines)
    runs = [d["run"] for d in lines if "run" in d]
    assert {r["pipeline"] for r in runs} >= {"contacts-hubspot-to-salesforce"}
