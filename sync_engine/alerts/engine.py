"""After each run: decide which (pipeline, code) changed state (`evaluate`), then tell the channels (`dispatch`).

Rules, per (pipeline, failure code):
- It *fires* when a run has failures (or stopped) with that code, and *recovers* when a later run of
  the pipeline no longer has it. One alert per change: the same code in two runs in a row sends once.
- Throttling: a code that fires again within `throttle` of its last firing alert (flapping) is held
  back; if it is still failing at a run after the window, the firing alert goes out then. A recovery
  is sent only if the channels last heard "firing", so they never see a recovery they cannot place.
- `repeat` (off by default) re-sends a still-firing alert that often, marked as a reminder.
- A stopped run proves nothing about codes it did not reach, so it fires its own code but resolves
  none; a dry run is ignored.
- An evaluation speaks only for the codes it checked (`only`): a run's failure rows say nothing about
  the run monitors' codes (stuck, slow, failure rate), and a monitor says nothing about record codes.
State lives in `alert_log` (see `log.py`), so a restart neither repeats nor forgets an alert.
"""
from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError

from sync_engine.alerts.channels.base import Channel, DeliveryError
from sync_engine.alerts.log import AlertLog, Entry
from sync_engine.alerts.model import MONITOR_CODES, Alert, AlertState, ReportLike
from sync_engine.errors import Severity
from sync_engine.redact import redact

log = logging.getLogger("revhub.alerts")

_IGNORED_OUTCOMES = frozenset({"dry_run", "running"})


@dataclass(frozen=True, slots=True)
class Policy:
    throttle: timedelta = timedelta(minutes=30)
    repeat: timedelta | None = None
    severity: Mapping[str, Severity] = field(default_factory=dict)  # per code: route with this instead


@dataclass(frozen=True, slots=True)
class Delivery:
    """One alert's fate at one channel. `error` is safe to print: it never holds a secret."""

    alert: Alert
    channel: str
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def evaluate(alert_log: AlertLog, report: ReportLike, policy: Policy = Policy(), *,
             now: datetime | None = None, only: Collection[str] | None = None) -> list[Alert]:
    """The alerts this run causes, with their state saved in `alert_log` in one transaction.

    `only`: the codes this evaluation checked; default every code but the run monitors'.
    """
    outcome = str(getattr(report.outcome, "value", report.outcome))
    if outcome in _IGNORED_OUTCOMES:
        return []
    t = now or datetime.now(UTC)
    try:
        return _evaluate(alert_log, report, outcome, policy, t, only)
    except IntegrityError:  # another replica created the same new row first: read it and decide again
        return _evaluate(alert_log, report, outcome, policy, t, only)


def _evaluate(alert_log: AlertLog, report: ReportLike, outcome: str, policy: Policy, t: datetime,
              only: Collection[str] | None) -> list[Alert]:
    def watched(code: str) -> bool:
        return code not in MONITOR_CODES if only is None else code in only

    run_id = getattr(report, "run_id", None)
    note, inspect = str(getattr(report, "summary", "")), str(getattr(report, "command", ""))
    failing = {code: int(n) for code, n in report.codes.items() if n > 0 and watched(code)}
    alerts: list[Alert] = []
    with alert_log.entries(report.pipeline) as entries:
        for code in sorted(failing):
            entry = entries.setdefault(code, Entry(code, AlertState.RESOLVED, AlertState.RESOLVED, since=t))
            reminder = _fire(entry, failing[code], run_id, t, policy)
            if reminder is not None:
                alerts.append(Alert(report.pipeline, code, AlertState.FIRING, failing[code], t, entry.since,
                                    outcome, run_id, report.message, reminder=reminder, held_back=entry.held_back,
                                    level=policy.severity.get(code), note=note, inspect=inspect))
                entry.held_back = 0
        if outcome != "stopped":
            for code, entry in sorted(entries.items()):
                if code in failing or entry.state is not AlertState.FIRING or not watched(code):
                    continue
                firing_since, previous = entry.since, entry.count
                if _recover(entry, run_id, t):
                    alerts.append(Alert(report.pipeline, code, AlertState.RESOLVED, 0, t, firing_since, outcome,
                                        run_id, report.message, previous_count=previous,
                                        level=policy.severity.get(code), note=note, inspect=inspect))
    return alerts


def _fire(entry: Entry, count: int, run_id: int | None, t: datetime, policy: Policy) -> bool | None:
    """Update a failing entry; None if nothing is sent, else whether the alert is a reminder."""
    if entry.state is not AlertState.FIRING:
        entry.state, entry.since = AlertState.FIRING, t
    entry.count, entry.run_id = count, run_id
    last = entry.last_fired_at
    if entry.notified is AlertState.FIRING:
        if policy.repeat and last is not None and t - last >= policy.repeat:
            entry.last_fired_at = t
            return True
        return None
    if last is not None and t - last < policy.throttle:
        entry.held_back += 1
        return None
    entry.notified, entry.last_fired_at = AlertState.FIRING, t
    return False


def _recover(entry: Entry, run_id: int | None, t: datetime) -> bool:
    """Mark a recovered entry; True when the channels must hear about it."""
    entry.state, entry.since, entry.count, entry.run_id = AlertState.RESOLVED, t, 0, run_id
    if entry.notified is not AlertState.FIRING:
        entry.held_back = 0  # it fired and recovered inside the throttle window: nobody was told
        return False
    entry.notified, entry.last_resolved_at = AlertState.RESOLVED, t
    return True


def dispatch(alerts: Iterable[Alert], channels: Sequence[Channel]) -> list[Delivery]:
    """Send each alert to every channel whose route takes it. A failing channel never stops the others."""
    out: list[Delivery] = []
    for alert in alerts:
        for channel in channels:
            if not channel.accepts(alert):
                continue
            try:
                channel.send(alert)
            except (DeliveryError, OSError) as exc:
                error = channel.scrub(redact(str(exc) if isinstance(exc, DeliveryError) else type(exc).__name__))
                log.warning("alert %s %s/%s not delivered to %s: %s", alert.state.value, alert.pipeline,
                            alert.code, channel.name, error)
                out.append(Delivery(alert, channel.name, error))
                continue
            log.info("alert %s %s/%s sent to %s", alert.state.value, alert.pipeline, alert.code, channel.name)
            out.append(Delivery(alert, channel.name))
    return out
