"""Builds what a command needs from the config: store, mappings, rules and one connector per system."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from connectors import registry
from connectors.base import Connector
from sync_engine import plan, rules_file, validate
from sync_engine.alerts import Alerter
from sync_engine.config import Config, load_config
from sync_engine.errors import ConfigError
from sync_engine.mapping import Mapping_, load_mappings
from sync_engine.pipeline import Progress, RunReport, run_pipeline
from sync_engine.store import Store
from sync_engine.tomlfile import did_you_mean


def default_config_path() -> Path:
    """REVHUB_CONFIG, else ./config.toml, else the shipped ./config.example.toml (emulators)."""
    if os.environ.get("REVHUB_CONFIG"):
        return Path(os.environ["REVHUB_CONFIG"])
    return Path("config.toml") if Path("config.toml").exists() else Path("config.example.toml")


@dataclass(slots=True)
class App:
    config: Config
    mappings: dict[tuple[str, str], Mapping_]
    rules: list[validate.Rule]
    _store: Store | None = None
    _connectors: dict[str, Connector] | None = None
    _alerter: Alerter | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            import sync_engine.alerts.log  # noqa: F401 - registers the alert_log table before create_all

            self._store = Store(self.config.store_url)
            self._store.migrate()
        return self._store

    @property
    def connectors(self) -> dict[str, Connector]:
        if self._connectors is None:
            self._connectors = {name: _connector(self.config, name) for name in self.config.systems}
        return self._connectors

    def pipeline_names(self, wanted: list[str] | None) -> list[str]:
        if not wanted:
            return [n for n, p in self.config.pipelines.items() if p.enabled]
        for name in wanted:
            if name not in self.config.pipelines:
                raise ConfigError(f"no pipeline named `{name}`", file=str(self.config.path),
                                  hint=did_you_mean(name, self.config.pipelines) or
                                  "known: " + ", ".join(self.config.pipelines))
        return wanted

    @property
    def alerter(self) -> Alerter:
        """Built on first use; a channel whose secret variable is unset is a ConfigError then."""
        if self._alerter is None:
            self._alerter = Alerter.from_config(self.config.alerts, self.store, base_dir=self.config.path.parent,
                                                file=str(self.config.path))
        return self._alerter

    def sync(self, names: list[str] | None = None, *, dry_run: bool = False, full: bool = False,
             progress: Progress | None = None) -> list[RunReport]:
        """Run pipelines in order; after each real run, alert on what changed (last step of a run)."""
        names = self.pipeline_names(names)
        alerter = None if dry_run else self.alerter
        reports = []
        for name in names:
            report = run_pipeline(self.config, self.store, self.connectors, self.mappings, self.rules, name,
                                  dry_run=dry_run, full=full, progress=progress)
            if alerter is not None:
                alerter.after_run(report)
            reports.append(report)
        return reports

    def retry_failures(self, rows: list[dict], progress: Progress | None = None) -> list[RunReport]:
        """Replay exactly these failure rows, pipeline by pipeline, in config order."""
        by_pipeline: dict[str, list[int]] = {}
        for row in rows:
            by_pipeline.setdefault(row["pipeline"], []).append(int(row["id"]))
        self.store.set_failure_status([int(r["id"]) for r in rows], "open")
        reports = []
        for name in [n for n in self.config.pipelines if n in by_pipeline]:
            report = run_pipeline(self.config, self.store, self.connectors, self.mappings, self.rules, name,
                                  progress=progress, replay=by_pipeline[name])
            self.alerter.after_run(report)
            reports.append(report)
        return reports

    def close(self) -> None:
        for c in (self._connectors or {}).values():
            c.close()
        if self._store is not None:
            self._store.engine.dispose()


def _connector(config: Config, system: str) -> Connector:
    name = config.systems[system].connector
    try:
        cls = registry.connector_class(name)
    except KeyError:
        raise ConfigError(f"no connector named `{name}` is installed", file=str(config.path),
                          key=f"systems.{system}.connector",
                          hint=did_you_mean(name, registry.connector_names()) or
                          "installed: " + ", ".join(registry.connector_names())) from None
    return cls(config.settings(system))


def _check_sensitivity(config: Config, pipeline: str, src: Mapping_, tgt: Mapping_) -> None:
    """Refuse a pipeline that would send a tagged field to a system not cleared for its class.

    A field is tagged in either file of the pair (`sensitivity = "revenue"`); each system lists the
    classes it may receive (`receives = [...]` under [systems.X]; absent means every class).
    """
    cleared = config.systems[tgt.system].receives
    if cleared is None:
        return
    for fm in tgt.fields:
        if not fm.writes:
            continue
        tag = src.sensitivity_of(fm.canonical) or tgt.sensitivity_of(fm.canonical)
        if tag and tag[0] not in cleared:
            where = next(m for m in (src, tgt) if m.sensitivity_of(fm.canonical) == tag)
            raise ConfigError(
                f"pipeline {pipeline} would send `{fm.canonical}` ({tag[0]} data) to {tgt.system}, which is "
                f"cleared only for: {', '.join(cleared) or 'nothing tagged'}", file=where.path, line=tag[1].line,
                key=f"{fm.canonical}.sensitivity",
                hint=f"make `{fm.field}` direction = \"read\" in {tgt.path}, or add \"{tag[0]}\" to "
                     f"receives under [systems.{tgt.system}] if it really is cleared")


def open_app(config_path: str | Path | None = None, *, activate: bool = True) -> App:
    """Load and check every file a run depends on; raises ConfigError naming file:line.

    `activate=False` checks without making the config's `[privacy]` the process's policy (`load_config`).
    """
    config = load_config(config_path or default_config_path(), activate=activate)
    mappings = load_mappings(config.mappings_dir)
    rules = rules_file.load_rules(config.rules_file)
    for name, p in config.pipelines.items():
        for system, obj, which in ((p.source_system, p.source_object, "from"),
                                   (p.target_system, p.target_object, "to")):
            if (system, obj) not in mappings:
                known = [o for s, o in mappings if s == system]
                raise ConfigError(f"no mapping file for {system}.{obj}", file=str(config.path),
                                  line=config.line_of(["pipelines", name, which]), key=f"pipelines.{name}.{which}",
                                  hint=did_you_mean(obj, known) or f"add mappings/{system}/{obj.lower()}.toml")
        src, tgt = mappings[(p.source_system, p.source_object)], mappings[(p.target_system, p.target_object)]
        if src.kind != tgt.kind:
            raise ConfigError(f"pipeline maps a {src.kind} ({src.path}) onto a {tgt.kind} ({tgt.path})",
                              file=str(config.path), line=config.line_of(["pipelines", name]), key=f"pipelines.{name}",
                              hint="source and target mappings must have the same `canonical` kind")
        plan.check_rules(src, tgt, config.systems)  # who-wins rules name real systems and agree across the pair
        _check_sensitivity(config, name, src, tgt)
    return App(config, mappings, rules)
