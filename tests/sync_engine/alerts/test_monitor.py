"""The run monitors through `Alerter.after_run`: slow runs, the failed-record rate, newly dead failures,
with their routing severity, runbook and inspect command; on SQLite and PostgreSQL."""
from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Iterable
from datetime import timedelta

import pytest
from sqlalchemy import insert

from connectors.base import Secret
from connectors.errors import Severity
from sync_engine.alerts import Alerter, AlertsConfig, Route
from sync_engine.alerts.channels.base import Channel
from sync_engine.alerts.model import Alert, AlertState
from sync_engine.cli import build_parser
from sync_engine.pipeline import RunOutcome, RunReport
from sync_engine.store import FailureRow, PageOutcome, Store, now, runs

P = "contacts-hubspot-to-salesforce"


class Inbox(Channel):
    """A channel that keeps what it is sent (routing applies as for any channel)."""

    kind = "inbox"

    def __init__(self, route: Route | None = None) -> None:
        super().__init__("inbox", route or Route())
        self.alerts: list[Alert] = []

    def send(self, alert: Alert) -> None:
        self.alerts.append(alert)

    def secrets(self) -> Iterable[Secret]:
        return ()

    def of(self, code: str) -> list[Alert]:
        return [a for a in self.alerts if a.code == code]


def alerter(store: Store, inbox: Inbox, **settings: object) -> Alerter:
    config = AlertsConfig(**settings)  # type: ignore[arg-type]
    return Alerter(store, [inbox], config.policy(), config.scope, config.limits)


def finished_run(store: Store, seconds: float, outcome: str = "succeeded",
                 records: dict[str, int] | None = None) -> RunReport:
    """A run row that took `seconds` (written directly: no waiting), and its report."""
    t = now()
    with store.begin() as c:
        run_id = int(c.execute(insert(runs).values(
            pipeline=P, started_at=t - timedelta(seconds=seconds), finished_at=t, outcome=outcome, dry_run=0,
            records=records or {}, calls={}, message="")).inserted_primary_key[0])
    return RunReport(P, RunOutcome(outcome), records=Counter(records or {}), run_id=run_id)


def assert_parses(command: str) -> None:
    build_parser().parse_args(shlex.split(command)[1:])


def test_a_run_far_slower_than_the_median_alerts_once_and_recovers(store: Store) -> None:
    inbox = Inbox()
    a = alerter(store, inbox, slow_min_seconds=0)
    for _ in range(5):
        assert not a.after_run(finished_run(store, 10))
    a.after_run(finished_run(store, 45))
    [slow] = inbox.of("RUN_SLOW")
    assert slow.state is AlertState.FIRING and slow.severity is Severity.WARNING
    assert "took 45 s" in slow.summary and "median 10 s" in slow.summary
    assert slow.runbook == "runbooks/RUN_SLOW.md" and slow.command == "revhub status --json"
    a.after_run(finished_run(store, 50))  # still slow: no second alert
    assert len(inbox.of("RUN_SLOW")) == 1
    a.after_run(finished_run(store, 11))
    assert [x.state for x in inbox.of("RUN_SLOW")] == [AlertState.FIRING, AlertState.RESOLVED]


def test_slowness_needs_a_history_and_a_floor(store: Store) -> None:
    inbox = Inbox()
    a = alerter(store, inbox)  # default slow_min_seconds = 60
    for _ in range(3):
        a.after_run(finished_run(store, 1))
    a.after_run(finished_run(store, 30))  # 30 x the median, but only 3 runs before it
    for _ in range(3):
        a.after_run(finished_run(store, 1))
    a.after_run(finished_run(store, 30))  # enough history, but under a minute
    assert not inbox.of("RUN_SLOW")


def test_failed_record_rate_fires_above_the_threshold_and_recovers_under_it(store: Store) -> None:
    inbox = Inbox()
    a = alerter(store, inbox)
    a.after_run(finished_run(store, 1, "partial", {"read": 50, "failed": 5, "quarantined": 6, "created": 39}))
    [high] = inbox.of("FAILURE_RATE_HIGH")
    assert "11 of 50" in high.summary and "22%" in high.summary and "limit 20%" in high.summary
    assert high.command == f"revhub failures list --pipeline {P}" and high.severity is Severity.WARNING
    assert_parses(high.command)
    a.after_run(finished_run(store, 1, "partial", {"read": 5, "failed": 5}))  # too few records to judge
    a.after_run(finished_run(store, 1, "stopped", {"read": 80}))  # did not finish: not judged either
    assert len(inbox.of("FAILURE_RATE_HIGH")) == 1
    a.after_run(finished_run(store, 1, "partial", {"read": 50, "failed": 2, "created": 48}))
    assert [x.state for x in inbox.of("FAILURE_RATE_HIGH")] == [AlertState.FIRING, AlertState.RESOLVED]


def test_a_pipeline_can_have_its_own_threshold() -> None:
    config = AlertsConfig(failure_rate=0.2, pipelines={P: {"failure_rate": 0.5, "stuck_minutes": 90}})
    assert config.limits(P).failure_rate == 0.5 and config.limits(P).stuck == timedelta(minutes=90)
    assert config.limits("other").failure_rate == 0.2
    assert config.unknown_pipelines([P, "other"]) == []
    assert config.unknown_pipelines(["other"]) == [(("alerts", "pipelines", P), P)]


def test_failures_that_become_dead_send_one_alert_with_count_codes_and_command(store: Store) -> None:
    inbox = Inbox()
    a = alerter(store, inbox)
    page = PageOutcome(failures=[FailureRow("load", "salesforce", "Contact", rid, code, f"{code} on {rid}")
                                 for rid, code in (("a", "RATE_LIMITED"), ("b", "RATE_LIMITED"), ("c", "NETWORK"))])
    first = store.start_run(P, dry_run=False)
    store.commit_page(P, first, page)
    store.finish_run(first, "partial", {"read": 3, "failed": 3}, {})
    a.after_run(RunReport(P, RunOutcome.PARTIAL, run_id=first))
    assert not inbox.of("FAILURES_DEAD")

    second = store.start_run(P, dry_run=False)  # the replay fails again and the attempt limit is reached
    store.commit_page(P, second, page)
    dead = store.bury(P, ["RATE_LIMITED", "NETWORK"], max_attempts=2)
    store.finish_run(second, "partial", {"read": 3, "failed": 3}, {})
    a.after_run(RunReport(P, RunOutcome.PARTIAL, run_id=second))
    assert len(dead) == 3
    [alert] = inbox.of("FAILURES_DEAD")
    assert alert.count == 3 and "RATE_LIMITED x 2" in alert.summary and "NETWORK x 1" in alert.summary
    assert alert.command == f"revhub failures list --pipeline {P} --status dead"
    assert alert.runbook == "runbooks/FAILURES_DEAD.md" and alert.severity is Severity.WARNING
    assert_parses(alert.command)

    third = store.start_run(P, dry_run=False)  # nothing newly dead: no new alert
    store.finish_run(third, "succeeded", {"read": 0}, {})
    a.after_run(RunReport(P, RunOutcome.SUCCEEDED, run_id=third))
    assert len(inbox.of("FAILURES_DEAD")) == 1


def test_a_runs_own_evaluation_leaves_the_monitor_codes_alone(store: Store) -> None:
    inbox = Inbox()
    a = alerter(store, inbox)
    a.after_run(finished_run(store, 1, "partial", {"read": 40, "failed": 20, "created": 20}))
    a.after_run(finished_run(store, 1, "succeeded", {"read": 3, "created": 3}))  # too few to judge the rate
    assert [x.state for x in inbox.of("FAILURE_RATE_HIGH")] == [AlertState.FIRING]  # not resolved by the run


@pytest.mark.parametrize(("settings", "delivered"), [
    ({}, True),  # routed as warning by default, though the taxonomy calls it info
    ({"severity": {"FAILURE_RATE_HIGH": "info"}}, False),
])
def test_routing_by_severity_covers_the_monitor_codes(store: Store, settings: dict, delivered: bool) -> None:
    warning_and_up, other_pipeline = Inbox(Route(Severity.WARNING)), Inbox(Route(Severity.INFO, frozenset({"x"})))
    config = AlertsConfig(**settings)
    a = Alerter(store, [warning_and_up, other_pipeline], config.policy(), config.scope, config.limits)
    a.after_run(finished_run(store, 1, "failed", {"read": 30, "failed": 30}))
    assert bool(warning_and_up.of("FAILURE_RATE_HIGH")) is delivered
    assert not other_pipeline.alerts


def test_severity_overrides_must_name_a_code() -> None:
    with pytest.raises(ValueError, match="not a failure code"):
        AlertsConfig(severity={"RUN_SLOWW": "warning"})
