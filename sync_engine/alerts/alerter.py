"""The one call the engine makes after each run: facts from the store -> `evaluate` -> `dispatch`."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sync_engine.alerts.channels.base import Channel
from sync_engine.alerts.config import AlertsConfig, build_channels
from sync_engine.alerts.engine import Delivery, Policy, dispatch, evaluate
from sync_engine.alerts.log import AlertLog
from sync_engine.alerts.model import run_facts


@dataclass(slots=True)
class Alerter:
    store: Any  # sync_engine.store.Store (needs .engine and .failures)
    channels: Sequence[Channel]
    policy: Policy = field(default_factory=Policy)
    scope: Literal["run", "open"] = "run"

    @classmethod
    def from_config(cls, config: AlertsConfig, store: Any, *, environ: Mapping[str, str] | None = None,
                    base_dir: Path | None = None, file: str = "") -> Alerter:
        """Raises ConfigError when a channel's secret variable is not set: check this at start-up."""
        return cls(store, build_channels(config, environ=environ, base_dir=base_dir, file=file),
                   config.policy(), config.scope)

    def after_run(self, report: Any) -> list[Delivery]:
        """Alert on what changed with this `RunReport` (pipeline, outcome, message, run_id)."""
        facts = run_facts(report, self.store, scope=self.scope)
        return dispatch(evaluate(AlertLog(self.store), facts, self.policy), self.channels)
