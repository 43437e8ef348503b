"""The daily API budget: a cap per system shared by every pipeline, fed by what the APIs report.

A run checks it before each page. When a system's budget is reached (revhub's own `daily_budget`,
or the vendor reporting fewer than `quota_reserve` calls left today), the run stops at the last
committed checkpoint with DAILY_QUOTA_EXHAUSTED; nothing is lost, and the next run after the window
resets (00:00 UTC for revhub's count; the vendor's own window for its count) carries on.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from connectors.base import Connector
from sync_engine.errors import FailureCode, FatalError
from sync_engine.store import Store


@dataclass(frozen=True, slots=True)
class Limit:
    daily_budget: int | None  # revhub's own cap on calls per UTC day, all pipelines together
    quota_reserve: int  # stop when the vendor reports this many calls or fewer left today


def today() -> date:
    return datetime.now(UTC).date()


@dataclass(slots=True)
class Budget:
    """Counts one run's calls against the day's budget of each system it touches."""

    store: Store
    limits: Mapping[str, Limit]
    connectors: Mapping[str, Connector]
    start: dict[str, int]  # each connector's call count when the run started

    @classmethod
    def begin(cls, store: Store, limits: Mapping[str, Limit], connectors: Mapping[str, Connector]) -> Budget:
        return cls(store, limits, connectors, {s: c.calls.read + c.calls.write for s, c in connectors.items()})

    def spent(self, system: str) -> int:
        c = self.connectors[system]
        return c.calls.read + c.calls.write - self.start[system]

    def check(self) -> None:
        """Raise FatalError(DAILY_QUOTA_EXHAUSTED) if any system's budget for today is used up."""
        for system, limit in self.limits.items():
            if system not in self.connectors:
                continue
            if limit.daily_budget is not None:
                used = self.store.calls_on(system, today()) + self.spent(system)
                if used >= limit.daily_budget:
                    raise FatalError(FailureCode.DAILY_QUOTA_EXHAUSTED, (
                        f"{system}: revhub's daily API budget of {limit.daily_budget} calls is used up "
                        f"({used} today); stopped at a checkpoint, the next run after 00:00 UTC resumes"))
            usage = self.connectors[system].api_usage
            if usage is not None and usage[1] - usage[0] <= limit.quota_reserve:
                raise FatalError(FailureCode.DAILY_QUOTA_EXHAUSTED, (
                    f"{system} reports {usage[1] - usage[0]} of {usage[1]} daily API calls left (reserve "
                    f"{limit.quota_reserve}); stopped at a checkpoint, the next run in a new window resumes"))

    def record(self) -> None:
        """Add this run's calls to today's count (called once, when the run ends or stops)."""
        for system in self.limits:
            if system in self.connectors and self.spent(system):
                self.store.add_calls(system, today(), self.spent(system))
