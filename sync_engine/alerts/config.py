"""The `[alerts]` section of config.toml, and the channels built from it with secrets from the environment.

The file names environment variables (`url_env`, `routing_key_env`, `secret_env`, `password_env`),
never the secrets themselves; a value that looks like a URL or key where a variable name belongs is
refused. Secrets are read once, at start-up, into `Secret`s that print as `****`.

    [alerts]
    throttle_minutes = 30

    [[alerts.channels]]
    type = "slack"
    url_env = "REVHUB_SLACK_WEBHOOK_URL"
    min_severity = "warning"

The run monitors' limits (stuck, slow, failed-record rate) have defaults here and may be set per
pipeline under `[alerts.pipelines.<name>]`; `[alerts.severity]` routes a code at another severity.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connectors.base import Secret
from connectors.errors import FailureCode, Severity
from sync_engine.alerts.channels import (
    EVENTS_URL,
    Channel,
    EmailChannel,
    PagerDutyChannel,
    Route,
    SlackChannel,
    WebhookChannel,
)
from sync_engine.alerts.engine import Policy
from sync_engine.alerts.monitor import Limits
from sync_engine.errors import ConfigError

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _env_name(value: str | None) -> str | None:
    if value is not None and not _ENV_NAME.match(value):
        raise ValueError("name an environment variable (e.g. REVHUB_SLACK_WEBHOOK_URL), never the secret itself")
    return value


def _http_url(value: str | None) -> str | None:
    if value is not None and not value.startswith(("https://", "http://")):
        raise ValueError("must be an http(s):// URL")
    return value


class _ChannelConfig(_Strict):
    name: str | None = Field(None, description="shown in logs; default: <type>[<index>]")
    min_severity: Severity = Severity.WARNING
    pipelines: list[str] | None = Field(None, description="only these pipelines; default: all")
    timeout: float = Field(10.0, gt=0, le=120)


class SlackChannelConfig(_ChannelConfig):
    type: Literal["slack"]
    url_env: str
    _env = field_validator("url_env")(_env_name)


class PagerDutyChannelConfig(_ChannelConfig):
    type: Literal["pagerduty"]
    routing_key_env: str
    events_url: str = EVENTS_URL
    source: str = "revhub"
    _env = field_validator("routing_key_env")(_env_name)
    _url = field_validator("events_url")(_http_url)


class EmailChannelConfig(_ChannelConfig):
    type: Literal["email"]
    host: str
    port: int = Field(25, gt=0, lt=65536)
    sender: str = Field(alias="from")
    to: list[str] = Field(min_length=1)
    starttls: bool = False
    user: str | None = None
    password_env: str | None = None
    ca_file: str | None = Field(None, description="CA bundle to trust for STARTTLS; default: the system's")
    _env = field_validator("password_env")(_env_name)

    @field_validator("sender", "to")
    @classmethod
    def _addresses(cls, v: str | list[str]) -> str | list[str]:
        for address in [v] if isinstance(v, str) else v:
            if "@" not in address:
                raise ValueError(f"`{address}` is not an email address")
        return v

    @model_validator(mode="after")
    def _login(self) -> EmailChannelConfig:
        if self.password_env and not self.user:
            raise ValueError("password_env needs `user` too")
        return self


class WebhookChannelConfig(_ChannelConfig):
    type: Literal["webhook"]
    url: str | None = Field(None, description="the receiver's URL, if it holds no token")
    url_env: str | None = Field(None, description="or the variable holding a URL that carries a token")
    secret_env: str = Field(description="the variable holding the HMAC-SHA256 signing key")
    _env = field_validator("url_env", "secret_env")(_env_name)
    _url = field_validator("url")(_http_url)

    @model_validator(mode="after")
    def _one_url(self) -> WebhookChannelConfig:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("set exactly one of url or url_env")
        return self


ChannelConfig = Annotated[SlackChannelConfig | PagerDutyChannelConfig | EmailChannelConfig | WebhookChannelConfig,
                          Field(discriminator="type")]


class PipelineLimits(_Strict):
    """`[alerts.pipelines.<name>]`: this pipeline's own monitor limits; unset ones use `[alerts]`'s."""

    stuck_minutes: float | None = Field(None, gt=0)
    slow_factor: float | None = Field(None, gt=1)
    failure_rate: float | None = Field(None, gt=0, le=1)
    failure_rate_min_records: int | None = Field(None, ge=1)


class AlertsConfig(_Strict):
    """`[alerts]`: channels, the throttling policy shared by all of them, and the run monitors' limits."""

    throttle_minutes: float = Field(30, ge=0, description="hold back a re-fire this soon after the last one")
    repeat_minutes: float = Field(0, ge=0, description="remind while still firing; 0: never")
    scope: Literal["run", "open"] = Field("run", description="count a run's failures, or all open ones")
    channels: list[ChannelConfig] = Field(default_factory=list)
    severity: dict[str, Severity] = Field(default_factory=dict, description="per code: route at this severity")
    stuck_minutes: float = Field(20, gt=0, description="RUN_STUCK when a run holds its lock longer")
    slow_factor: float = Field(3, gt=1, description="RUN_SLOW when a run takes this many times its median")
    slow_min_runs: int = Field(5, ge=1, description="finished runs needed before a median counts")
    slow_min_seconds: float = Field(60, ge=0, description="a run shorter than this is never slow")
    failure_rate: float = Field(0.2, gt=0, le=1, description="FAILURE_RATE_HIGH above this failed share")
    failure_rate_min_records: int = Field(20, ge=1, description="runs reading fewer records do not count")
    watch_seconds: float = Field(30, gt=0, description="the daemon checks files and stuck runs this often")
    pipelines: dict[str, PipelineLimits] = Field(default_factory=dict)

    @field_validator("severity")
    @classmethod
    def _codes(cls, v: dict[str, Severity]) -> dict[str, Severity]:
        for code in v:
            if code not in FailureCode.__members__:
                raise ValueError(f"`{code}` is not a failure code (see runbooks/README.md)")
        return v

    def policy(self) -> Policy:
        repeat = timedelta(minutes=self.repeat_minutes) if self.repeat_minutes else None
        return Policy(throttle=timedelta(minutes=self.throttle_minutes), repeat=repeat,
                      severity=dict(self.severity))

    def limits(self, pipeline: str) -> Limits:
        """The monitor limits for one pipeline: its own `[alerts.pipelines.<name>]` over the defaults."""
        own = self.pipelines.get(pipeline) or PipelineLimits.model_validate({})

        def pick(own_value: float | None, default: float) -> float:
            return default if own_value is None else own_value

        return Limits(stuck=timedelta(minutes=pick(own.stuck_minutes, self.stuck_minutes)),
                      slow_factor=pick(own.slow_factor, self.slow_factor), slow_min_runs=self.slow_min_runs,
                      slow_min_seconds=self.slow_min_seconds,
                      failure_rate=pick(own.failure_rate, self.failure_rate),
                      failure_rate_min_records=int(pick(own.failure_rate_min_records,
                                                        self.failure_rate_min_records)))

    def unknown_pipelines(self, known: Iterable[str]) -> list[tuple[tuple[str | int, ...], str]]:
        """(key path, name) of every `pipelines` entry naming no configured pipeline."""
        names = set(known)
        return [(("alerts", "channels", i, "pipelines"), p) for i, ch in enumerate(self.channels)
                for p in ch.pipelines or () if p not in names] + [
            (("alerts", "pipelines", p), p) for p in self.pipelines if p not in names]


def build_channels(config: AlertsConfig, *, environ: Mapping[str, str] | None = None,
                   base_dir: Path | None = None, file: str = "") -> list[Channel]:
    """Channels with their secrets read from the environment; ConfigError names the missing variable."""
    env = os.environ if environ is None else environ
    out: list[Channel] = []
    for i, cc in enumerate(config.channels):
        prefix = f"alerts.channels.{i}"

        def secret(var: str, key: str, what: str, prefix: str = prefix) -> Secret:
            value = env.get(var, "").strip()
            if not value:
                raise ConfigError(f"environment variable {var} is not set", file=file, key=f"{prefix}.{key}",
                                  hint=f"export {var}=<{what}>")
            return Secret(value)

        name = cc.name or f"{cc.type}[{i}]"
        route = Route(cc.min_severity, frozenset(cc.pipelines) if cc.pipelines is not None else None)
        if isinstance(cc, SlackChannelConfig):
            out.append(SlackChannel(name, route, secret(cc.url_env, "url_env", "the Slack incoming-webhook URL"),
                                    timeout=cc.timeout))
        elif isinstance(cc, PagerDutyChannelConfig):
            key = secret(cc.routing_key_env, "routing_key_env", "the PagerDuty Events API v2 integration key")
            out.append(PagerDutyChannel(name, route, key, events_url=cc.events_url, source=cc.source,
                                        timeout=cc.timeout))
        elif isinstance(cc, EmailChannelConfig):
            password = secret(cc.password_env, "password_env", "the SMTP password") if cc.password_env else None
            ca_file = cc.ca_file
            if ca_file and base_dir is not None and not Path(ca_file).is_absolute():
                ca_file = str(base_dir / ca_file)
            out.append(EmailChannel(name, route, host=cc.host, port=cc.port, sender=cc.sender, recipients=cc.to,
                                    starttls=cc.starttls, user=cc.user, password=password, ca_file=ca_file,
                                    timeout=cc.timeout))
        else:
            url: Secret | str = (secret(cc.url_env, "url_env", "the webhook URL") if cc.url_env
                                 else str(cc.url))
            out.append(WebhookChannel(name, route, url, secret(cc.secret_env, "secret_env", "the HMAC signing key"),
                                      timeout=cc.timeout))
    return out
