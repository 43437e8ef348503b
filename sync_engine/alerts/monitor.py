"""Run health, read from the store: stuck runs, slow runs, the failed-record rate, newly dead failures.

Each check turns what the `runs`, `locks` and `failures` tables say into `RunFacts` for one code, which
`evaluate(..., only={code})` turns into a firing or a recovery like any other code. Nothing here needs
the run it judges: a stuck run is seen by whichever daemon (or replica) looks at the tables next.
"""
from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from connectors.errors import FailureCode
from sync_engine.store import failures, locks, runs

RUN_STUCK, RUN_SLOW = FailureCode.RUN_STUCK.value, FailureCode.RUN_SLOW.value
FAILURE_RATE_HIGH, FAILURES_DEAD = FailureCode.FAILURE_RATE_HIGH.value, FailureCode.FAILURES_DEAD.value
FINISHED = ("succeeded", "partial", "failed")  # runs that went to the end: their length and rate mean something
_WINDOW = 10  # recent finished runs whose median duration is "normal"


@dataclass(frozen=True, slots=True)
class Limits:
    """One pipeline's limits (from `[alerts]` and `[alerts.pipelines.<name>]`)."""

    stuck: timedelta = timedelta(minutes=20)
    slow_factor: float = 3.0
    slow_min_runs: int = 5
    slow_min_seconds: float = 60.0
    failure_rate: float = 0.2
    failure_rate_min_records: int = 20


@dataclass(frozen=True, slots=True)
class Facts:
    """What one check found for one pipeline; `RunFacts`-shaped for `evaluate`."""

    pipeline: str
    code: str
    firing: bool
    summary: str
    outcome: str = "checked"
    run_id: int | None = None
    message: str = ""

    @property
    def codes(self) -> Mapping[str, int]:
        return {self.code: 1} if self.firing else {}


def _aware(value: datetime | None) -> datetime | None:
    from datetime import UTC

    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _minutes(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 60:.0f} min"


def stuck(store: Any, pipeline: str, limits: Limits, now: datetime) -> Facts:
    """RUN_STUCK while the pipeline's lock is held by a run started longer ago than `limits.stuck`.

    A run that died leaves its `runs` row at "running" but its lock lease runs out: that is a crash the
    next run recovers from, not a stuck run, so only a live lock counts.
    """
    with store.engine.begin() as c:
        lock = c.execute(select(locks).where(locks.c.name == f"pipeline:{pipeline}",
                                             locks.c.expires_at > now)).first()
        run = c.execute(select(runs).where(runs.c.pipeline == pipeline, runs.c.outcome == "running",
                                           runs.c.dry_run == 0).order_by(runs.c.id.desc()).limit(1)).first()
    if lock is None or run is None:
        return Facts(pipeline, RUN_STUCK, False, f"{pipeline}: no run holds the lock any more")
    held = now - (_aware(run.started_at) or now)
    if held <= limits.stuck:
        return Facts(pipeline, RUN_STUCK, False, f"{pipeline}: run {run.id} is within its time "
                                                 f"({_minutes(held)} of {_minutes(limits.stuck)})", run_id=run.id)
    return Facts(pipeline, RUN_STUCK, True,
                 f"{pipeline}: run {run.id} has held the pipeline lock for {_minutes(held)} "
                 f"(limit {_minutes(limits.stuck)}); holder {lock.holder}", outcome="stuck", run_id=run.id,
                 message=f"started {run.started_at:%Y-%m-%d %H:%M:%S} UTC, lock lease until "
                         f"{lock.expires_at:%Y-%m-%d %H:%M:%S} UTC")


def slow(store: Any, pipeline: str, run_id: int, limits: Limits) -> Facts | None:
    """RUN_SLOW when this finished run took more than `slow_factor` x the median of the runs before it.

    None (no verdict) until `slow_min_runs` finished runs give a median, or for a run that did not finish.
    """
    with store.engine.begin() as c:
        rows = c.execute(select(runs.c.id, runs.c.started_at, runs.c.finished_at, runs.c.outcome).where(
            runs.c.pipeline == pipeline, runs.c.dry_run == 0, runs.c.outcome.in_(FINISHED),
            runs.c.finished_at.is_not(None), runs.c.id <= run_id).order_by(runs.c.id.desc()).limit(_WINDOW + 1)).all()
    if not rows or rows[0].id != run_id:
        return None
    seconds = [(r.finished_at - r.started_at).total_seconds() for r in rows]
    took, before = seconds[0], seconds[1:]
    if len(before) < limits.slow_min_runs:
        return None
    median = statistics.median(before)
    is_slow = took >= limits.slow_min_seconds and took > limits.slow_factor * median
    verdict = (f"{pipeline}: run {run_id} took {took:.0f} s, {took / median if median else float('inf'):.1f} x "
               f"the median {median:.0f} s of the {len(before)} runs before it (limit {limits.slow_factor:g} x)")
    return Facts(pipeline, RUN_SLOW, is_slow, verdict, outcome=rows[0].outcome, run_id=run_id)


def failure_rate(pipeline: str, run_id: int | None, outcome: str, records: Mapping[str, int],
                 limits: Limits) -> Facts | None:
    """FAILURE_RATE_HIGH when a finished run failed or quarantined more than `failure_rate` of what it read.

    None (no verdict) for a run that read fewer than `failure_rate_min_records` or did not finish.
    """
    read = int(records.get("read", 0))
    if outcome not in FINISHED or read < limits.failure_rate_min_records:
        return None
    bad = int(records.get("failed", 0)) + int(records.get("quarantined", 0))
    share = bad / read
    summary = (f"{pipeline}: run {run_id} failed or quarantined {bad} of {read} records read ({share:.0%}, "
               f"limit {limits.failure_rate:.0%})")
    return Facts(pipeline, FAILURE_RATE_HIGH, share > limits.failure_rate, summary, outcome=outcome, run_id=run_id)


def newly_dead(store: Any, pipeline: str, run_id: int) -> Counter[str]:
    """Codes of the failures this run made `dead` (`Store.bury` at its end), with their counts."""
    with store.engine.begin() as c:
        run = c.execute(select(runs.c.started_at, runs.c.finished_at).where(runs.c.id == run_id)).first()
        if run is None or run.finished_at is None:
            return Counter()
        rows = c.execute(select(failures.c.code).where(
            failures.c.pipeline == pipeline, failures.c.status == "dead",
            failures.c.updated_at >= run.started_at, failures.c.updated_at <= run.finished_at)).all()
    return Counter(str(r.code) for r in rows)
