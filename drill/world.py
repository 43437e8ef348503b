"""The drill's world: two emulators on free ports seeded with sample data, a config whose alerts go to a
local receiver, the emulators' admin API (faults, seeds, dumps), and the new records each case seeds.

Split from `drill.run`, which walks on-call's path through this world: `Drill` mixes `World` in.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from drill.receiver import Receiver

__all__ = ["DRILL_DOMAIN", "ROOT", "SIZES", "SLACK_ENV", "SLACK_SECRET", "WEBHOOK_ENV", "Fresh", "World"]

ROOT = Path(__file__).resolve().parents[1]
SLACK_ENV = "REVHUB_DRILL_SLACK_URL"
WEBHOOK_ENV = "REVHUB_DRILL_WEBHOOK_SECRET"
SLACK_SECRET = "drillcanaryslacksecret"  # noqa: S105 - a canary: the Slack URL's token, never to be shown
DRILL_DOMAIN = "drillworks.io"
SIZES = {"companies": 20, "contacts": 120, "opportunities": 25}
# Connector waits kept short so the drill takes about a minute (connectors/hubspot/client.py reads these;
# the Salesforce connector has no such options: connectors/retry.py defaults, 5 attempts from 0.2 s).
HUBSPOT_OPTIONS = {"rate_limit_wait": 0.05, "retry_attempts": 6, "retry_max_wait": 0.3, "retry_total": 10}
SYSTEM_TIMEOUT = 10

@dataclass(slots=True)
class Fresh:
    """Records the drill seeded; each must end up exactly once in both systems."""

    hubspot_emails: set[str] = field(default_factory=set)  # HubSpot contacts -> Salesforce Contacts
    salesforce_emails: set[str] = field(default_factory=set)  # Salesforce Contacts -> HubSpot contacts
    opportunity_ids: set[str] = field(default_factory=set)  # Salesforce Opportunities -> HubSpot deals


class World:
    """Start, drive and stop the emulators and the config; the attributes below are `Drill`'s."""

    work: Path
    receiver: Receiver
    servers: dict[str, Any]
    sessions: dict[str, requests.Session]
    fresh: Fresh
    serial: int
    config: Path
    good_config: str
    pipelines: list[str]
    token_env: dict[str, str | None]

    if TYPE_CHECKING:
        def say(self, tag: str, text: str) -> None: ...
        def expect(self, ok: object, promise: str, detail: object = "") -> None: ...

    def start(self) -> None:
        from connectors.emulator import EmulatorServer
        from connectors.hubspot.emulator import RateLimits
        from sync_engine import sample_data
        from sync_engine.demo import emulator_for

        data = sample_data.generate(**SIZES)
        seeds = sample_data.write_seeds(self.work / "seeds", data)
        for system in ("hubspot", "salesforce"):
            # HubSpot's own burst and search windows are widened: only the injected faults should fire.
            kwargs = {"rate_limits": RateLimits(per_10s=1_000_000, search_per_second=100_000)} \
                if system == "hubspot" else {}
            emu = emulator_for(system, self.work / "certs" / system, **kwargs)
            emu.seed_dir(seeds[system])
            self.servers[system] = EmulatorServer(emu, 0).start()
            s = requests.Session()
            s.trust_env = False
            if system == "salesforce":
                s.verify = str(emu.ca_file)
            self.sessions[system] = s
        self.config = self.work / "config.toml"
        shutil.copytree(ROOT / "mappings", self.work / "mappings")
        self.good_config = self._config_text()
        self.config.write_text(self.good_config)
        from sync_engine.config import load_config

        cfg = load_config(self.config)
        self.pipelines = [n for n, p in cfg.pipelines.items() if p.enabled]
        self.token_env = {s: sc.token_env for s, sc in cfg.systems.items()}
        self.say("setup", f"hubspot emulator {self.servers['hubspot'].url}, salesforce emulator "
                          f"{self.servers['salesforce'].url}, seeded with {SIZES}")
        self.say("setup", f"alerts: slack {self.receiver.url}/services/..., signed webhook "
                          f"{self.receiver.url}/hooks/revhub; config {self.config}")

    def _config_text(self) -> str:
        text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
        hub, sf = self.servers["hubspot"], self.servers["salesforce"]
        edits = [
            ('base_url = "http://127.0.0.1:8710"', f'base_url = "{hub.url}"\ntimeout = {SYSTEM_TIMEOUT}'),
            ('base_url = "https://127.0.0.1:8711"', f'base_url = "{sf.url}"\ntimeout = {SYSTEM_TIMEOUT}'),
            ('ca_file = ".revhub/emulator/salesforce/ca.pem"', f'ca_file = "{sf.emulator.ca_file}"'),
            ('url = "sqlite:///.revhub/state.db"', f'url = "sqlite:///{self.work / "state.db"}"'),
            # Each class fires its code again minutes after the last: the drill wants every state change.
            ("throttle_minutes = 30", "throttle_minutes = 0"),
        ]
        for old, new in edits:
            self.expect(old in text, f"config.example.toml still has `{old}` (the drill edits it)")
            text = text.replace(old, new, 1)
        options = "\n".join(f"{k} = {json.dumps(v)}" for k, v in HUBSPOT_OPTIONS.items())
        return text + f"""
[systems.hubspot.options]
{options}

[[alerts.channels]]
type = "slack"
url_env = "{SLACK_ENV}"
min_severity = "warning"

[[alerts.channels]]
type = "webhook"
url = "{self.receiver.url}/hooks/revhub"
secret_env = "{WEBHOOK_ENV}"
min_severity = "info"
"""

    def stop(self) -> None:
        for s in self.sessions.values():
            s.close()
        for server in self.servers.values():
            server.stop()
        self.receiver.close()

    # --- the emulators' admin API ------------------------------------------------------------------
    def admin(self, system: str, method: str, action: str, body: Any = None) -> Any:
        url = f"{self.servers[system].url}/__emulator__/{action}"
        resp = self.sessions[system].request(method, url, json=body, timeout=10)
        self.expect(resp.status_code == 200, f"the {system} emulator's admin API answers {method} {action}",
                    f"{resp.status_code} {resp.text[:300]}")
        return resp.json()

    def faults(self, system: str, spec: dict[str, Any], tag: str = "inject") -> dict[str, Any]:
        answer = self.admin(system, "POST", "faults", spec)
        self.say(tag, f"POST {system} /__emulator__/faults {json.dumps(spec)} -> {json.dumps(answer)}")
        return dict(answer)

    def calm(self, system: str) -> str:
        spec: dict[str, Any] = {"rate_429": 0, "rate_5xx": 0, "latency_ms": 0}
        if system == "salesforce":
            spec["lock_rows"] = 0
        self.faults(system, spec, tag="clear")
        return f"{system} answers normally again (faults cleared through its admin API)"

    def requests_served(self, system: str) -> int:
        return int(self.admin(system, "GET", "stats")["total"])

    def dump(self, system: str, obj: str) -> list[dict[str, Any]]:
        return list(self.admin(system, "GET", f"dump/{obj}"))

    # --- records -----------------------------------------------------------------------------------
    def add_records(self, tag: str, *, hubspot_contacts: int = 2, salesforce_contacts: int = 2,
                    opportunities: int = 1, stage: str = "Prospecting") -> None:
        """New records in the sources, stamped now, so the next run has reads and writes to make."""
        hs, sf, opps = [], [], []
        for _ in range(hubspot_contacts):
            self.serial += 1
            email = f"drill.{tag}.{self.serial}@{DRILL_DOMAIN}"
            hs.append({"properties": {"email": email, "firstname": "Drill", "lastname": f"Hubspot{self.serial}"}})
            self.fresh.hubspot_emails.add(email)
        for _ in range(salesforce_contacts):
            self.serial += 1
            email = f"drill.{tag}.{self.serial}@{DRILL_DOMAIN}"
            sf.append({"FirstName": "Drill", "LastName": f"Salesforce{self.serial}", "Email": email})
            self.fresh.salesforce_emails.add(email)
        close = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
        for _ in range(opportunities):
            self.serial += 1
            opps.append({"Name": f"Drill {tag} deal {self.serial}", "StageName": stage, "CloseDate": close,
                         "Amount": 1000.0 * self.serial})
        if hs:
            self.admin("hubspot", "POST", "seed", {"contacts": hs})
        if sf or opps:
            self.admin("salesforce", "POST", "seed", {"Contact": sf, "Opportunity": opps} if opps else {"Contact": sf})
        if opps:
            names = {o["Name"] for o in opps}
            self.fresh.opportunity_ids |= {o["Id"] for o in self.dump("salesforce", "Opportunity")
                                           if o.get("Name") in names}
        self.say("seed", f"new in the sources: {len(hs)} HubSpot contact(s), {len(sf)} Salesforce contact(s), "
                         f"{len(opps)} opportunit{'y' if len(opps) == 1 else 'ies'} ({stage})")
