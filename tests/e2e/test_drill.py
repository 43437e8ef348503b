"""`make drill` as a test: every failure class injected into the emulators, alert -> runbook -> fix ->
replay -> recovery alert, every record present exactly once (drill/README.md). 35-45 s, so it stays
in the e2e suite that `make test` runs."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from drill.run import run_drill

pytestmark = pytest.mark.e2e


def test_the_drill_keeps_every_promise(tmp_path: Path) -> None:
    log = io.StringIO()
    status = run_drill(tmp_path / "drill", out=log)
    assert status == 0, "the drill found a broken promise:\n" + log.getvalue()[-6000:]
    text = log.getvalue()
    for code in ("AUTH_EXPIRED", "RATE_LIMITED", "REMOTE_UNAVAILABLE", "LOCK_CONTENTION", "NETWORK",
                 "PICKLIST_MISMATCH"):
        assert f"PASS     {code}" in text, f"the drill did not walk {code}"
    assert "drill passed" in text
