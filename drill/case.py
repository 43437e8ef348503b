"""One failure class to drill (`Case`), the dice seed the transient ones inject with (drill/cases/), and the
`BrokenPromise` that ends the drill when a promise does not hold."""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class BrokenPromise(Exception):
    """A promise of the contract, an alert or a runbook did not hold."""


@dataclass(slots=True)
class Case:
    """One failure class to drill. `stop` runs are exit 3, `records` exit 1, `quarantine` exit 0 with
    failure rows, `transient` exit 0 with no failure at all (retried away inside the run)."""

    title: str
    code: str
    kind: str  # stop | records | quarantine | transient
    inject: Callable[[], object]
    fix: Callable[[], str]
    replay: str = "sync"  # sync: `revhub sync PIPELINE`; retry: `revhub failures retry --code C --pipeline P`
    records: dict[str, Any] = field(default_factory=dict)  # what to seed before the fault
    fault: dict[str, Any] | None = None  # for `transient`: (system, spec) to count the faulted answers



def dice(rate: float, longest: int = 3, horizon: int = 500) -> int:
    """A seed for the emulator's fault dice (connectors/emulator.py: one roll per served API request) that
    faults the very first request and never more than `longest` in a row in the first `horizon`, so a
    transient fault surely fires and surely stays within the connectors' retry attempts."""
    for seed in range(10_000):
        rng = random.Random(seed)
        rolls = [rng.random() < rate for _ in range(horizon)]
        run = best = 0
        for hit in rolls:
            run = run + 1 if hit else 0
            best = max(best, run)
        if rolls[0] and best <= longest:
            return seed
    raise ValueError(f"no seed for rate {rate}")

