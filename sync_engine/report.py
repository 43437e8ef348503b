"""What one run of a pipeline reports: its outcome, its counts, its calls, its message, its dry-run plan.

The shape `revhub sync --json` prints (a contract, README "Contracts"), the alerts judge and the daemon
logs; split from `pipeline`, which fills it in.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sync_engine import plan

__all__ = ["COUNTS", "Planned", "RunOutcome", "RunReport"]

COUNTS = ("read", "created", "updated", "unchanged", "quarantined", "failed")


class RunOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"
    STOPPED = "stopped"
    DRY_RUN = "dry_run"


@dataclass(frozen=True, slots=True)
class Planned:
    """One record's fate in a run, kept for `--dry-run` previews."""

    source_id: str
    action: str  # create | update | unchanged | quarantine
    target_id: str | None
    changes: tuple[plan.Change, ...] = ()
    reasons: tuple[str, ...] = ()
    # Per changed canonical field, the target's fields and the values that would be sent for it, after
    # the write transforms and value maps (the canonical `new` is what revhub decided, this is the wire).
    sends: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(slots=True)
class RunReport:
    pipeline: str
    outcome: RunOutcome = RunOutcome.SUCCEEDED
    records: Counter[str] = field(default_factory=Counter)
    calls: dict[str, dict[str, int]] = field(default_factory=dict)
    message: str = ""
    planned: list[Planned] = field(default_factory=list)  # filled only when `keep_plan` (dry runs)
    run_id: int | None = None
    keep_plan: bool = False
    would_write: dict[str, int] = field(default_factory=dict)  # dry runs: predicted write calls per system

    def say(self, text: str) -> None:
        """Add a sentence to the run's message (several things can be worth saying about one run)."""
        self.message = f"{self.message}; {text}" if self.message else text

    def note(self, planned: Planned) -> None:
        if self.keep_plan:
            self.planned.append(planned)

    def as_json(self) -> dict[str, Any]:
        doc = {"pipeline": self.pipeline, "outcome": self.outcome.value,
               "records": {k: int(self.records.get(k, 0)) for k in COUNTS}, "calls": self.calls,
               "message": self.message}
        if self.outcome is RunOutcome.DRY_RUN:
            doc["would_write_calls"] = self.would_write
        return doc

    def plan_json(self) -> list[dict[str, Any]]:
        """Per record: what a dry run would do, field by field (old -> new), or why not."""
        return [{"source_id": p.source_id, "action": p.action, "target_id": p.target_id,
                 "changes": [{"field": c.field, "old": c.old, "new": c.new, "sends": p.sends.get(c.field, {})}
                             for c in p.changes],
                 "reasons": list(p.reasons)} for p in self.planned]
