"""The calls the engine and the daemon make: after each run, on each watch tick, on each config reload.

Each gathers facts (failure rows, the run monitors, a refused file), lets `evaluate` decide what changed
against `alert_log`, and hands the alerts to `dispatch`.
"""
from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sync_engine.alerts import monitor
from sync_engine.alerts.channels.base import Channel
from sync_engine.alerts.config import AlertsConfig, build_channels
from sync_engine.alerts.engine import Delivery, Policy, dispatch, evaluate
from sync_engine.alerts.log import AlertLog
from sync_engine.alerts.model import ALL_PIPELINES, Alert, AlertState, RunFacts, run_facts
from sync_engine.errors import ConfigError, FailureCode

_CONFIG = frozenset({FailureCode.CONFIG_ERROR.value})


@dataclass(slots=True)
class Alerter:
    store: Any  # sync_engine.store.Store (needs .engine and .failures)
    channels: Sequence[Channel]
    policy: Policy = field(default_factory=Policy)
    scope: Literal["run", "open"] = "run"
    limits: Callable[[str], monitor.Limits] = field(default=lambda _pipeline: monitor.Limits())

    @classmethod
    def from_config(cls, config: AlertsConfig, store: Any, *, environ: Mapping[str, str] | None = None,
                    base_dir: Path | None = None, file: str = "") -> Alerter:
        """Raises ConfigError when a channel's secret variable is not set: check this at start-up."""
        return cls(store, build_channels(config, environ=environ, base_dir=base_dir, file=file),
                   config.policy(), config.scope, config.limits)

    def after_run(self, report: Any) -> list[Delivery]:
        """Alert on what changed with this `RunReport` (pipeline, outcome, message, run_id, records)."""
        facts = run_facts(report, self.store, scope=self.scope)
        alerts = evaluate(AlertLog(self.store), facts, self.policy)
        if facts.run_id is not None and facts.outcome != "dry_run":
            alerts += self._run_health(facts, getattr(report, "records", {}))
        return dispatch(alerts, self.channels)

    def _run_health(self, facts: RunFacts, records: Mapping[str, int]) -> list[Alert]:
        """Slow run and failed-record rate (state changes), and the failures this run made dead (an event)."""
        assert facts.run_id is not None
        limits, log, out = self.limits(facts.pipeline), AlertLog(self.store), []
        for found in (monitor.slow(self.store, facts.pipeline, facts.run_id, limits),
                      monitor.failure_rate(facts.pipeline, facts.run_id, facts.outcome, records, limits)):
            if found is not None:
                out += evaluate(log, found, self.policy, only={found.code})
        dead = monitor.newly_dead(self.store, facts.pipeline, facts.run_id)
        if dead:
            # One alert per newly dead set, never a recovery: dead failures wait for a person, who
            # retries, resolves or ignores them (`revhub failures`), so there is no state to track.
            n, t = sum(dead.values()), datetime.now(UTC)
            codes = ", ".join(f"{code} x {k}" for code, k in sorted(dead.items()))
            out.append(Alert(facts.pipeline, monitor.FAILURES_DEAD, AlertState.FIRING, n, t, t, facts.outcome,
                             facts.run_id, facts.message, level=self.policy.severity.get(monitor.FAILURES_DEAD),
                             note=f"{facts.pipeline}: {n} failure(s) reached the attempt limit in run "
                                  f"{facts.run_id} and are now dead, no longer retried: {codes}"))
        return out

    def watch(self, pipelines: Iterable[str], *, now: datetime | None = None) -> list[Delivery]:
        """Stuck runs, judged from the `runs` and `locks` tables: any replica may call this on its tick."""
        t = now or datetime.now(UTC)
        alerts: list[Alert] = []
        for name in pipelines:
            found = monitor.stuck(self.store, name, self.limits(name), t)
            alerts += evaluate(AlertLog(self.store), found, self.policy, now=t, only={found.code})
        return dispatch(alerts, self.channels)

    def config_refused(self, error: ConfigError, config_file: str | Path, live: str, *,
                       again: bool = False) -> list[Delivery]:
        """A changed file failed `revhub check`: fire CONFIG_ERROR for all pipelines, once until fixed.

        `again`: a different edit was refused while an earlier refusal is still firing. The throttle
        would hold it back, so its error goes out as a STILL FIRING update: whoever is fixing the files
        never reads the first error while the daemon refuses them for another.
        """
        where = error.file + (f":{error.line}" if error.line else "") if error.file else str(config_file)
        summary = f"a changed file was refused ({where}); the daemon keeps running version {live}"
        command = f"revhub check --config {shlex.quote(str(config_file))}"
        code = FailureCode.CONFIG_ERROR.value
        facts = RunFacts(ALL_PIPELINES, "refused", {code: 1}, error.render(), summary=summary, command=command)
        alerts = evaluate(AlertLog(self.store), facts, self.policy, only=_CONFIG)
        if again and not alerts:
            t = datetime.now(UTC)
            alerts = [Alert(ALL_PIPELINES, code, AlertState.FIRING, 1, t, t, "refused", None, error.render(),
                            reminder=True, level=self.policy.severity.get(code),
                            note=f"another change was refused ({where}); the daemon keeps running version {live}",
                            inspect=command)]
        return dispatch(alerts, self.channels)

    def config_loaded(self, config_file: str | Path, version: str) -> list[Delivery]:
        """A good version is live: recover a refusal alert, if one is firing."""
        facts = RunFacts(ALL_PIPELINES, "reloaded", {}, "",
                         summary=f"configuration version {version} passed the checks and is live",
                         command=f"revhub check --config {shlex.quote(str(config_file))}")
        return dispatch(evaluate(AlertLog(self.store), facts, self.policy, only=_CONFIG), self.channels)
