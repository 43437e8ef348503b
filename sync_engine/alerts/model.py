"""What the alert engine reads (a finished run's facts) and what it emits (one `Alert` per state change)."""
from __future__ import annotations

import hashlib
import re
import shlex
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, Protocol

from connectors.errors import FailureCode, Severity
from sync_engine.redact import redact

# Failure rows in these states still need a person or a retry; `resolved`, `ignored` are done.
ACTIVE_STATUSES = ("open", "retrying", "dead")
_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}
_STOP_PREFIX = re.compile(r"^([A-Z][A-Z_]+): ")
_MAX_MESSAGE = 600

# The key under which an alert about the daemon's own files is kept: it concerns every pipeline.
ALL_PIPELINES = "*"
# Codes decided by the run monitors (`monitor.py`), never by failure rows: a run's own evaluation
# neither fires nor resolves them.
MONITOR_CODES = frozenset({FailureCode.RUN_STUCK.value, FailureCode.RUN_SLOW.value,
                           FailureCode.FAILURE_RATE_HIGH.value})


class AlertState(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


def severity_rank(severity: Severity) -> int:
    return _SEVERITY_RANK[severity]


def code_of(code: str) -> FailureCode:
    """The taxonomy member for a stored code string; anything unknown counts as UNKNOWN."""
    try:
        return FailureCode(code)
    except ValueError:
        return FailureCode.UNKNOWN


def inspect_command(pipeline: str, code: str) -> str:
    """The exact CLI line that shows what the alert is about (quoted for a POSIX shell)."""
    if code in (FailureCode.RUN_STUCK.value, FailureCode.RUN_SLOW.value):
        return "revhub status --json"  # the run's start, outcome and message
    if pipeline == ALL_PIPELINES:
        return "revhub check --config config.toml" if code == FailureCode.CONFIG_ERROR.value else "revhub status"
    quoted = shlex.quote(pipeline)
    if code == FailureCode.FAILURES_DEAD.value:
        return f"revhub failures list --pipeline {quoted} --status dead"
    if code == FailureCode.FAILURE_RATE_HIGH.value:
        return f"revhub failures list --pipeline {quoted}"  # every code: the share is over all of them
    return f"revhub failures list --pipeline {quoted} --code {shlex.quote(code)}"


def dedup_key(pipeline: str, code: str) -> str:
    """Stable per (pipeline, code), so PagerDuty folds a trigger and its resolve into one incident.

    PagerDuty caps dedup keys at 255 characters; a very long pipeline name is hashed instead.
    """
    key = f"revhub/{pipeline}/{code}"
    if len(key) <= 255:
        return key
    return f"revhub/{hashlib.sha256(pipeline.encode()).hexdigest()}/{code}"


class ReportLike(Protocol):
    """The least the engine needs to know about a finished run."""

    @property
    def pipeline(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def codes(self) -> Mapping[str, int]: ...
    @property
    def message(self) -> str: ...


@dataclass(frozen=True, slots=True)
class RunFacts:
    """A finished run as the alert engine sees it: which failure codes it had, and how many of each."""

    pipeline: str
    outcome: str
    codes: Mapping[str, int] = field(default_factory=dict)
    message: str = ""
    run_id: int | None = None
    summary: str = ""  # one sentence replacing the default "N x CODE in run R" (monitors, reloads)
    command: str = ""  # the inspect command, when it needs more than (pipeline, code), e.g. a file


def run_facts(report: Any, store: Any, *, scope: Literal["run", "open"] = "run") -> RunFacts:
    """Adapt a `RunReport` (pipeline, outcome, message, run_id) using the store's failure rows.

    `scope="run"` counts the still-active failure rows this run wrote or re-tried (`run_id` matches);
    `scope="open"` counts every active failure of the pipeline, whichever run wrote it, so an alert
    stays firing until the failure log is clean. A stopped run's code (its message starts with
    `CODE: `) counts at least once even though it wrote no failure row.
    """
    outcome = str(getattr(report.outcome, "value", report.outcome))
    rows = store.failures(pipeline=report.pipeline, status=ACTIVE_STATUSES)
    if scope == "run":
        rows = [r for r in rows if report.run_id is not None and r["run_id"] == report.run_id]
    codes: Counter[str] = Counter(str(r["code"]) for r in rows)
    stop = _STOP_PREFIX.match(report.message or "")
    if outcome == "stopped" and stop and stop.group(1) in FailureCode.__members__:
        codes[stop.group(1)] = max(codes[stop.group(1)], 1)
    return RunFacts(report.pipeline, outcome, dict(codes), report.message or "", report.run_id)


@dataclass(frozen=True, slots=True)
class Alert:
    """One change of state of a (pipeline, failure code): it started firing, or it recovered.

    Everything in it is safe to send: the run message is redacted (emails masked, tokens `****`).
    """

    pipeline: str
    code: str
    state: AlertState
    count: int  # failures with this code in the run that caused the alert (0 for a recovery)
    occurred_at: datetime
    firing_since: datetime
    outcome: str = ""
    run_id: int | None = None
    message: str = ""
    previous_count: int = 0  # on a recovery: the count when it last fired
    reminder: bool = False  # still firing, repeated after `repeat_minutes`
    held_back: int = 0  # firing changes not sent because of throttling since the last alert
    level: Severity | None = None  # the severity it is routed with, when `[alerts] severity` sets one
    note: str = ""  # replaces the default summary sentence (monitors, config reloads, dead failures)
    inspect: str = ""  # replaces the default inspect command

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", redact(self.message)[:_MAX_MESSAGE])
        object.__setattr__(self, "note", redact(self.note)[:_MAX_MESSAGE])

    @property
    def failure_code(self) -> FailureCode:
        return code_of(self.code)

    @property
    def severity(self) -> Severity:
        return self.level or self.failure_code.severity

    @property
    def runbook(self) -> str:
        return self.failure_code.runbook

    @property
    def command(self) -> str:
        return self.inspect or inspect_command(self.pipeline, self.code)

    @property
    def where(self) -> str:
        return "all pipelines" if self.pipeline == ALL_PIPELINES else self.pipeline

    @property
    def dedup_key(self) -> str:
        return dedup_key(self.pipeline, self.code)

    @property
    def title(self) -> str:
        if self.state is AlertState.RESOLVED:
            return f"RESOLVED: {self.code} on {self.where}"
        word = "STILL FIRING" if self.reminder else "FIRING"
        return f"{word}: {self.code} on {self.where} ({self.severity.value})"

    @property
    def summary(self) -> str:
        """One sentence with the count, for notification previews."""
        if self.note:
            return self.note
        run = f"run {self.run_id}" if self.run_id is not None else "the last run"
        if self.state is AlertState.RESOLVED:
            return (f"{self.pipeline}: {self.code} recovered in {run} (was {self.previous_count}, "
                    f"firing since {_stamp(self.firing_since)})")
        return f"{self.pipeline}: {self.count} x {self.code} in {run} (outcome {self.outcome or 'unknown'})"

    def lines(self) -> list[str]:
        """The plain-text body shared by email and the Slack fallback text."""
        out = [self.summary]
        if self.message:
            out.append(f"Run message: {self.message}")
        out += [f"Severity: {self.severity.value}", f"Runbook: {self.runbook}", f"Inspect: {self.command}"]
        if self.held_back:
            out.append(f"Held back by throttling since the last alert: {self.held_back} change(s)")
        return out

    def details(self) -> dict[str, Any]:
        """Structured form for PagerDuty custom_details and the generic webhook."""
        return {"pipeline": self.pipeline, "code": self.code, "state": self.state.value,
                "severity": self.severity.value, "count": self.count, "previous_count": self.previous_count,
                "outcome": self.outcome, "run_id": self.run_id, "message": self.message,
                "runbook": self.runbook, "command": self.command, "reminder": self.reminder,
                "held_back": self.held_back, "occurred_at": self.occurred_at.isoformat(),
                "firing_since": self.firing_since.isoformat(), "dedup_key": self.dedup_key}


def _stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def at_least(alert: Alert, minimum: Severity) -> bool:
    return severity_rank(alert.severity) >= severity_rank(minimum)
