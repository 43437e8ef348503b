"""One alert per state change of a (pipeline, code), throttled, routed, and remembered across restarts."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from connectors.base import Secret
from connectors.errors import Severity
from sync_engine.alerts import (
    AlertLog,
    AlertState,
    PagerDutyChannel,
    Policy,
    Route,
    RunFacts,
    SlackChannel,
    dispatch,
    evaluate,
    run_facts,
)
from sync_engine.cli import build_parser
from sync_engine.pipeline import RunOutcome, RunReport
from sync_engine.store import FailureRow, PageOutcome, Store
from tests.sync_engine.alerts.conftest import Receiver
from tests.sync_engine.alerts.helpers import T0, firing

P = "contacts-hubspot-to-salesforce"
POLICY = Policy(throttle=timedelta(minutes=30))


def run(codes: dict[str, int], outcome: str = "partial", pipeline: str = P, run_id: int = 1,
        message: str = "") -> RunFacts:
    return RunFacts(pipeline, outcome, codes, message, run_id)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def test_two_identical_failing_runs_alert_once_and_recovery_alerts_once(store: Store) -> None:
    log = AlertLog(store)
    first = evaluate(log, run({"REMOTE_REJECTED": 4}, run_id=1), POLICY, now=T0)
    again = evaluate(log, run({"REMOTE_REJECTED": 4}, run_id=2), POLICY, now=T0 + minutes(5))
    recovered = evaluate(log, run({}, "succeeded", run_id=3), POLICY, now=T0 + minutes(10))
    quiet = evaluate(log, run({}, "succeeded", run_id=4), POLICY, now=T0 + minutes(15))

    assert [(a.state, a.code, a.count) for a in first] == [(AlertState.FIRING, "REMOTE_REJECTED", 4)]
    assert again == [] and quiet == []
    (r,) = recovered
    assert (r.state, r.previous_count, r.firing_since, r.run_id) == (AlertState.RESOLVED, 4, T0, 3)
    assert first[0].runbook == "runbooks/REMOTE_REJECTED.md"
    assert first[0].command == f"revhub failures list --pipeline {P} --code REMOTE_REJECTED"


def test_each_code_of_a_pipeline_has_its_own_state(store: Store) -> None:
    log = AlertLog(store)
    a = evaluate(log, run({"RATE_LIMITED": 2, "PICKLIST_MISMATCH": 1}), POLICY, now=T0)
    b = evaluate(log, run({"RATE_LIMITED": 5}), POLICY, now=T0 + minutes(5))
    c = evaluate(log, run({"RATE_LIMITED": 1}, pipeline="deals"), POLICY, now=T0 + minutes(5))
    assert [(x.code, x.state) for x in a] == [("PICKLIST_MISMATCH", AlertState.FIRING),
                                               ("RATE_LIMITED", AlertState.FIRING)]
    assert [(x.code, x.state) for x in b] == [("PICKLIST_MISMATCH", AlertState.RESOLVED)]
    assert [(x.pipeline, x.code) for x in c] == [("deals", "RATE_LIMITED")]


def test_flapping_is_held_back_inside_the_throttle_window_then_sent(store: Store) -> None:
    log = AlertLog(store)
    seq = [({"NETWORK": 1}, 0), ({}, 5), ({"NETWORK": 1}, 10), ({}, 15), ({"NETWORK": 2}, 20), ({"NETWORK": 3}, 35)]
    sent = [[(a.state.value, a.held_back) for a in evaluate(log, run(codes), POLICY, now=T0 + minutes(m))]
            for codes, m in seq]
    assert sent == [
        [("firing", 0)],
        [("resolved", 0)],
        [],  # fired again 10 min after the last firing alert: held back
        [],  # and recovered unseen: nobody heard it fire, so no recovery either
        [],  # fired again, still inside the window
        [("firing", 1)],  # still failing once the window has passed: sent, saying one change was held back
    ]


def test_zero_throttle_still_sends_one_alert_per_state_change(store: Store) -> None:
    log = AlertLog(store)
    policy = Policy(throttle=timedelta(0))
    counts = [len(evaluate(log, run(codes), policy, now=T0 + minutes(i)))
              for i, codes in enumerate([{"NETWORK": 1}, {"NETWORK": 1}, {}, {"NETWORK": 1}])]
    assert counts == [1, 0, 1, 1]


def test_repeat_reminds_while_still_firing(store: Store) -> None:
    log = AlertLog(store)
    policy = Policy(throttle=minutes(30), repeat=minutes(60))
    out = [evaluate(log, run({"AUTH_INVALID": 1}, "stopped"), policy, now=T0 + minutes(m)) for m in (0, 30, 60, 90)]
    assert [[a.reminder for a in alerts] for alerts in out] == [[False], [], [True], []]
    assert out[2][0].title.startswith("STILL FIRING: AUTH_INVALID")


def test_a_stopped_run_fires_its_code_but_resolves_nothing(store: Store) -> None:
    log = AlertLog(store)
    evaluate(log, run({"PICKLIST_MISMATCH": 2}), POLICY, now=T0)
    stopped = evaluate(log, run({"DAILY_QUOTA_EXHAUSTED": 1}, "stopped"), POLICY, now=T0 + minutes(5))
    lock_held = evaluate(log, run({}, "stopped"), POLICY, now=T0 + minutes(6))
    dry = evaluate(log, run({}, "dry_run"), POLICY, now=T0 + minutes(7))
    assert [(a.code, a.state) for a in stopped] == [("DAILY_QUOTA_EXHAUSTED", AlertState.FIRING)]
    assert lock_held == [] and dry == []
    assert {r["code"] for r in log.firing()} == {"PICKLIST_MISMATCH", "DAILY_QUOTA_EXHAUSTED"}


def test_state_survives_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    before = Store(url)
    before.migrate()
    assert len(evaluate(AlertLog(before), run({"AUTH_EXPIRED": 1}, "stopped"), POLICY, now=T0)) == 1
    before.engine.dispose()

    after = Store(url)  # a new process: nothing in memory
    after.migrate()
    assert evaluate(AlertLog(after), run({"AUTH_EXPIRED": 1}, "stopped"), POLICY, now=T0 + minutes(5)) == []
    (r,) = evaluate(AlertLog(after), run({}, "succeeded"), POLICY, now=T0 + minutes(10))
    assert r.state is AlertState.RESOLVED and r.firing_since == T0
    after.engine.dispose()


def test_routing_by_severity_and_pipeline(receiver: Receiver) -> None:
    critical_only = SlackChannel("pager-ish", Route(Severity.CRITICAL), Secret(receiver.url + "/critical"))
    deals_only = SlackChannel("deals", Route(Severity.INFO, frozenset({"deals"})), Secret(receiver.url + "/deals"))
    everything = SlackChannel("all", Route(Severity.INFO), Secret(receiver.url + "/all"))
    alerts = [firing(P, "AUTH_EXPIRED"), firing(P, "RECORD_INVALID"), firing("deals", "RATE_LIMITED")]
    assert [a.severity for a in alerts] == [Severity.CRITICAL, Severity.INFO, Severity.WARNING]

    deliveries = dispatch(alerts, [critical_only, deals_only, everything])
    assert [(d.alert.code, d.channel) for d in deliveries] == [
        ("AUTH_EXPIRED", "pager-ish"), ("AUTH_EXPIRED", "all"), ("RECORD_INVALID", "all"),
        ("RATE_LIMITED", "deals"), ("RATE_LIMITED", "all")]
    assert sorted(r.path for r in receiver.requests) == ["/all", "/all", "/all", "/critical", "/deals"]


def test_firing_and_recovery_reach_pagerduty_as_one_incident(store: Store, receiver: Receiver) -> None:
    pd = PagerDutyChannel("pd", Route(), Secret("k" * 32), events_url=receiver.url + "/v2/enqueue")
    log = AlertLog(store)
    for codes, m in (({"AUTH_EXPIRED": 1}, 0), ({"AUTH_EXPIRED": 1}, 5), ({}, 10)):
        outcome = "stopped" if codes else "succeeded"
        dispatch(evaluate(log, run(codes, outcome), POLICY, now=T0 + minutes(m)), [pd])
    events = [r.json() for r in receiver.requests]
    assert [e["event_action"] for e in events] == ["trigger", "resolve"]
    assert events[0]["dedup_key"] == events[1]["dedup_key"]


def _page(*rows: tuple[str, str]) -> PageOutcome:
    return PageOutcome(failures=[FailureRow("load", "salesforce", "Contact", rid, code, f"{code} for {rid}")
                                 for rid, code in rows])


def test_run_facts_counts_this_runs_failure_rows_and_the_stop_code(store: Store) -> None:
    r1 = store.start_run(P, dry_run=False)
    store.commit_page(P, r1, _page(("a", "PICKLIST_MISMATCH"), ("b", "PICKLIST_MISMATCH"), ("c", "NETWORK")))
    r2 = store.start_run(P, dry_run=False)
    store.commit_page(P, r2, _page(("c", "NETWORK"), ("d", "REMOTE_REJECTED")))  # c retried, failed again
    report = RunReport(P, RunOutcome.STOPPED, message="AUTH_EXPIRED: session expired (runbook: x)", run_id=r2)

    facts = run_facts(report, store)
    assert (facts.pipeline, facts.outcome, facts.run_id) == (P, "stopped", r2)
    assert facts.codes == {"NETWORK": 1, "REMOTE_REJECTED": 1, "AUTH_EXPIRED": 1}
    assert run_facts(report, store, scope="open").codes == {
        "PICKLIST_MISMATCH": 2, "NETWORK": 1, "REMOTE_REJECTED": 1, "AUTH_EXPIRED": 1}
    assert run_facts(RunReport(P, RunOutcome.STOPPED, message="another run holds its lock", run_id=None),
                     store).codes == {}


def test_the_inspect_command_parses_with_the_real_cli() -> None:
    for pipeline in (P, "odd name; rm -rf /"):
        alert = firing(pipeline, "PICKLIST_MISMATCH")
        import shlex

        argv = shlex.split(alert.command)
        assert argv[0] == "revhub"
        args = build_parser().parse_args(argv[1:])
        assert (args.command, args.action, args.pipeline, args.code) == ("failures", "list", pipeline,
                                                                         "PICKLIST_MISMATCH")


@dataclass
class _Report:
    """Anything with pipeline, outcome, codes and message will do."""

    pipeline: str
    outcome: str
    codes: dict[str, int]
    message: str


def test_evaluate_accepts_any_report_like(store: Store) -> None:
    (a,) = evaluate(AlertLog(store), _Report(P, "failed", {"SCHEMA_DRIFT": 7}, "field Email__c gone"), now=T0)
    assert (a.code, a.count, a.run_id, a.message) == ("SCHEMA_DRIFT", 7, None, "field Email__c gone")
