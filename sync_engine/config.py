"""Loads and checks `config.toml`: systems, pipelines, store, files; every error names file:line.

Secrets never live in the file: each system names the environment variable (`token_env`) or the
secret file (`token_file`) holding its token. The store URL can be overridden with REVHUB_STORE_URL.
"""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from connectors.base import ConnectorSettings, Secret
from sync_engine import redact, tomlfile
from sync_engine.alerts.config import AlertsConfig
from sync_engine.errors import ConfigError, ConnectorError
from sync_engine.identity import EmailOptions
from sync_engine.survivorship import MergeConfig

_CHANNEL_TAGS = frozenset({"slack", "pagerduty", "email", "webhook"})
EMULATOR_TOKEN = "local-emulator"  # noqa: S105 - a placeholder sent only to loopback emulators, never a secret


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SystemConfig(_Strict):
    connector: str
    base_url: str
    token_env: str | None = None
    token_file: str | None = None
    timeout: float = Field(30.0, gt=0, allow_inf_nan=False)
    daily_budget: int | None = Field(None, gt=0, description="revhub's cap on API calls per UTC day")
    receives: list[str] | None = Field(None, description="sensitivity classes this system is cleared for")
    quota_reserve: int = Field(0, ge=0, description="stop when the vendor reports this many calls left today")
    options: dict[str, Any] = Field(default_factory=dict)


class StoreConfig(_Strict):
    url: str = "sqlite:///.revhub/state.db"


class PipelineConfig(_Strict):
    source: str = Field(alias="from", description="system.object to read changes from")
    target: str = Field(alias="to", description="system.object to write to")
    every_minutes: float = Field(5, gt=0, allow_inf_nan=False)
    enabled: bool = True

    @field_validator("source", "target")
    @classmethod
    def _dotted(cls, v: str) -> str:
        if v.count(".") != 1 or not all(v.split(".")):
            raise ValueError("write it as system.object, e.g. hubspot.contacts or salesforce.Contact")
        return v


class FailuresConfig(_Strict):
    max_attempts: int = Field(5, ge=1, description="automatic retries before a failure is dead")
    keep_records_days: int = Field(30, ge=1, description="days a closed failure keeps its record")


TieBreak = Literal["owner_present", "customer", "recent_activity", "size"]
TIE_BREAKS: tuple[TieBreak, ...] = ("owner_present", "customer", "recent_activity", "size")


class IdentityConfig(_Strict):
    """`[identity]`: how far two emails may differ and still be one person, and lead-to-account ties."""

    fold_plus_tags: bool = Field(False, description="jane+news@acme.com is jane@acme.com")
    fold_gmail_dots: bool = Field(False, description="j.ane@gmail.com is jane@gmail.com; googlemail is gmail")
    account_tie_break: list[TieBreak] = Field(
        default_factory=lambda: list(TIE_BREAKS),
        description="which of several accounts sharing a person's email domain wins, first rule first")

    def email_options(self) -> EmailOptions:
        return EmailOptions(fold_plus_tags=self.fold_plus_tags, fold_gmail_dots=self.fold_gmail_dots)


class PrivacyConfig(_Strict):
    """`[privacy]`: how emails appear in failure rows, alerts and logs (sync_engine/redact.py)."""

    email_in_failures: Literal["mask", "hash"] = Field(
        "mask", description="mask: j***@acme.com; hash: email#<HMAC-SHA256>, the same for the same person")
    hash_key_env: str | None = Field("REVHUB_EMAIL_HASH_KEY", description="variable holding the HMAC key")
    hash_key_file: str | None = Field(None, description="or a secret file holding it")


class FileConfig(_Strict):
    store: StoreConfig = Field(default_factory=StoreConfig)
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)
    failures: FailuresConfig = Field(default_factory=FailuresConfig)
    mappings: str = "mappings"
    rules: str | None = None
    systems: dict[str, SystemConfig]
    pipelines: dict[str, PipelineConfig]
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    merge: dict[str, MergeConfig] = Field(default_factory=dict, description="merge write-back per system")
    identity: IdentityConfig = Field(default_factory=IdentityConfig)


@dataclass(frozen=True, slots=True)
class Pipeline:
    name: str
    source_system: str
    source_object: str
    target_system: str
    target_object: str
    every_minutes: float
    enabled: bool


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    store_url: str
    mappings_dir: Path
    rules_file: Path | None
    systems: dict[str, SystemConfig]
    pipelines: dict[str, Pipeline]
    alerts: AlertsConfig
    max_attempts: int = 5
    keep_records_days: int = 30
    merge: dict[str, MergeConfig] = field(default_factory=dict)  # [merge.<system>]
    identity: IdentityConfig = field(default_factory=IdentityConfig)  # [identity]
    privacy: redact.Privacy = field(default_factory=redact.Privacy, repr=False)  # [privacy], applied when live
    source: tomlfile.TomlFile | None = field(default=None, compare=False, repr=False)  # for file:line errors

    def line_of(self, loc: list[str]) -> int | None:
        return self.source.line_of(loc) if self.source else None

    def settings(self, system: str) -> ConnectorSettings:
        """Connector settings with the token resolved from the environment or a secret file."""
        sc = self.systems[system]
        options = dict(sc.options)
        for key in ("ca_file",):
            if key in options and not Path(options[key]).is_absolute():
                options[key] = str(self.path.parent / options[key])
        return ConnectorSettings(system=system, base_url=sc.base_url.rstrip("/"), token=self._token(system, sc),
                                 options=options, timeout=sc.timeout)

    def _token(self, system: str, sc: SystemConfig) -> Secret:
        if sc.token_env and os.environ.get(sc.token_env):
            return Secret(os.environ[sc.token_env].strip())
        if sc.token_file:
            path = Path(sc.token_file)
            path = path if path.is_absolute() else self.path.parent / path
            try:
                return Secret(path.read_text(encoding="utf-8").strip())
            except OSError as exc:
                raise ConfigError(f"cannot read the token file: {exc.strerror}", file=str(self.path),
                                  key=f"systems.{system}.token_file") from None
        if _is_loopback(sc.base_url):
            return Secret(EMULATOR_TOKEN)
        raise ConfigError(f"no credentials for {system}", file=str(self.path), key=f"systems.{system}.token_env",
                          hint=f"export {sc.token_env or 'the variable named in token_env'}=<token>, "
                               "or set token_file to a file only you can read")


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_config(path: str | Path, *, activate: bool = True) -> Config:
    """Read and validate a config file. Raises ConfigError with file:line and a hint.

    `activate`: make its `[privacy]` the process's policy now (`redact.configure`). The daemon checks a
    changed file with `activate=False` and applies the policy only when that version goes live, so an
    edit it refuses never changes how emails leave the process.
    """
    f = tomlfile.load(path)
    model = tomlfile.validate(f, FileConfig, ignore=_CHANNEL_TAGS)
    base = Path(path).resolve().parent
    pipelines: dict[str, Pipeline] = {}
    for name, pc in model.pipelines.items():
        (ss, so), (ts, to) = pc.source.split("."), pc.target.split(".")
        for which, system in (("from", ss), ("to", ts)):
            if system not in model.systems:
                raise ConfigError(f"unknown system `{system}`", file=str(path),
                                  line=f.line_of(["pipelines", name, which]), key=f"pipelines.{name}.{which}",
                                  hint=tomlfile.did_you_mean(system, model.systems) or
                                  f"define it under [systems.{system}]")
        pipelines[name] = Pipeline(name, ss, so, ts, to, pc.every_minutes, pc.enabled)
    for loc, name in model.alerts.unknown_pipelines(pipelines):
        raise ConfigError(f"unknown pipeline `{name}`", file=str(path), line=f.line_of([str(x) for x in loc]),
                          key=".".join(str(x) for x in loc),
                          hint=tomlfile.did_you_mean(name, pipelines) or "known: " + ", ".join(pipelines))
    for system, mc in model.merge.items():
        named: list[tuple[list[str], str]] = [(["merge", system], system)]
        for where, name in named + [(["merge", system, "source_priority"], s) for s in mc.source_priority]:
            if name not in model.systems:
                raise ConfigError(f"unknown system `{name}`", file=str(path), line=f.line_of(where),
                                  key=".".join(where), hint=tomlfile.did_you_mean(name, model.systems) or
                                  "known: " + ", ".join(model.systems))
    if not (base / model.mappings).is_dir():
        raise ConfigError(f"mappings folder `{model.mappings}` not found", file=str(path), line=f.line_of(["mappings"]),
                          key="mappings", hint="the folder holding the mapping files, relative to this file")
    if model.rules:
        rules_path = base / model.rules
        if not rules_path.exists():
            raise ConfigError(f"rules file `{model.rules}` not found", file=str(path), line=f.line_of(["rules"]),
                              key="rules", hint="the validation rules file, relative to this file")
        if not rules_path.is_file():
            raise ConfigError(f"cannot read the file `{model.rules}`: it is a folder", file=str(path),
                              line=f.line_of(["rules"]), key="rules", hint="name the rules file inside it")
    store_url = os.environ.get("REVHUB_STORE_URL") or model.store.url
    if store_url.startswith("sqlite:///") and not store_url.startswith("sqlite:////"):
        rel = store_url[len("sqlite:///"):]
        if rel and rel != ":memory:":
            store_url = "sqlite:///" + str(base / rel)
    _check_retry_options(model, f, str(path))
    privacy = _privacy(model.privacy, f, str(path), base)
    if activate:
        redact.configure(privacy)  # failure rows, alerts, logs: from now on
    return Config(
        path=Path(path).resolve(), store_url=store_url, mappings_dir=base / model.mappings,
        rules_file=(base / model.rules) if model.rules else None, systems=dict(model.systems),
        pipelines=pipelines, alerts=model.alerts, max_attempts=model.failures.max_attempts,
        keep_records_days=model.failures.keep_records_days, merge=dict(model.merge), identity=model.identity,
        privacy=privacy, source=f,
    )



def _check_retry_options(model: FileConfig, f: tomlfile.TomlFile, path: str) -> None:
    """`retry_*` under [systems.X.options] are checked here, so a typo is a file:line error at start-up."""
    from connectors.retry import RetryBounds

    for system, sc in model.systems.items():
        try:
            RetryBounds.from_options(sc.options, system)
        except ConnectorError as exc:
            key = next((k for k in sc.options if f".options.{k} " in exc.message), "")
            raise ConfigError(exc.message, file=path, line=f.line_of(["systems", system, "options", key]),
                              key=f"systems.{system}.options.{key}",
                              hint="e.g. retry_attempts = 5, retry_base_wait = 0.2, retry_max_wait = 20, "
                                   "retry_total = 120") from None


def _privacy(pc: PrivacyConfig, f: tomlfile.TomlFile, path: str, base: Path) -> redact.Privacy:
    """The email policy with its HMAC key, read like a system token (env var, else secret file)."""
    if pc.email_in_failures == "mask":
        return redact.Privacy()
    key = os.environ.get(pc.hash_key_env or "", "").strip() if pc.hash_key_env else ""
    if not key and pc.hash_key_file:
        file = Path(pc.hash_key_file) if Path(pc.hash_key_file).is_absolute() else base / pc.hash_key_file
        try:
            key = file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read the email hash key file: {exc.strerror}", file=path,
                              line=f.line_of(["privacy", "hash_key_file"]), key="privacy.hash_key_file") from None
    if not key:
        raise ConfigError("email_in_failures = \"hash\" needs a secret key", file=path,
                          line=f.line_of(["privacy", "email_in_failures"]), key="privacy.email_in_failures",
                          hint=f"export {pc.hash_key_env or 'the variable named in hash_key_env'}=<a long random "
                               "string>, or set hash_key_file; keep it the same, or old rows stop matching")
    return redact.Privacy("hash", key.encode())
