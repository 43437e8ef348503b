"""`make drill`: a scripted game day. Every failure class revhub promises to handle is injected into the
local emulators, and on-call's path is walked for it: alert -> runbook -> fix -> replay -> recovery alert,
ending with every record present exactly once in both systems.

The drill starts its own world (a HubSpot and a Salesforce emulator on free ports, seeded with the
sample data at a small scale, a temporary config whose alerts go to a local Slack receiver and a signed
webhook), runs the first sync, then for each class:

1. seeds a few new records, so the faulted run has work to do, and injects the fault through the
   emulator's admin API over HTTP (`POST /__emulator__/faults`), or edits the config (NETWORK, the
   mapping for PICKLIST_MISMATCH);
2. runs `revhub sync --json` and checks the exit code and outcomes the contract promises (README,
   "Contracts"): 3 for a stopped run, 1 for failed records, 0 for faults retried away;
3. checks the alert that arrived (or that none did), naming the code and `runbooks/<CODE>.md`;
4. opens that runbook and runs the `revhub` commands of its "How to confirm" section;
5. applies the fix, then replays with the command of the runbook's "Replay" section;
6. checks the recovery alert and that every record is present exactly once in both systems.

It prints each step like an on-call log and exits 1 at the first broken promise (0 when all hold).
The world it runs in (emulators, config, admin API, seeded records) is `drill/world.py`.
`python -m drill.run --help` for the options.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import requests

from drill.case import BrokenPromise, Case
from drill.cases import all_cases
from drill.oncall import broken, transient
from drill.receiver import WEBHOOK_KEY, Alert, Receiver
from drill.world import ROOT, SLACK_ENV, SLACK_SECRET, WEBHOOK_ENV, Fresh, World

# Environment the drill sets or clears while it runs, restored afterwards.
ENV_CLEARED = ("REVHUB_STORE_URL", "REVHUB_CONFIG")


# --- one command's result ------------------------------------------------------------------------------
@dataclass(slots=True)
class Result:
    argv: list[str]
    code: int
    out: str
    err: str

    def json(self) -> Any:
        try:
            return json.loads(self.out)
        except ValueError as exc:
            raise BrokenPromise(f"`{' '.join(self.argv)}` printed no JSON object on stdout: "
                                f"{self.out[:300]!r}") from exc

    @property
    def runs(self) -> list[dict[str, Any]]:
        return list(self.json().get("runs", []))


# --- the drill -----------------------------------------------------------------------------------------
class Drill(World):
    def __init__(self, work: Path, out: TextIO) -> None:
        self.work = work
        self.out = out
        self.t0 = time.monotonic()
        self.receiver = Receiver()
        self.servers: dict[str, Any] = {}
        self.sessions: dict[str, requests.Session] = {}
        self.fresh = Fresh()
        self.canaries = [SLACK_SECRET, WEBHOOK_KEY]
        self.last: Result | None = None
        self.serial = 0
        self.baseline_open: Counter[str] = Counter()
        self.timings: list[tuple[str, float]] = []
        self.notes: list[str] = []

    # --- log and promises --------------------------------------------------------------------------
    def say(self, tag: str, text: str) -> None:
        print(f"[{time.monotonic() - self.t0:6.1f}s] {tag:<8} {text}", file=self.out, flush=True)

    def expect(self, ok: object, promise: str, detail: object = "") -> None:
        if not ok:
            raise BrokenPromise(promise + (f"\n  got: {detail}" if detail != "" else ""))

    # --- revhub, as on-call types it ---------------------------------------------------------------
    def revhub(self, *args: str, show: bool = True) -> Result:
        from sync_engine.cli import main

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(["--config", str(self.config), *args])
            except SystemExit as exc:  # argparse refusing a runbook's command
                code = exc.code if isinstance(exc.code, int) else 2
        result = Result(["revhub", *args], code, out.getvalue(), err.getvalue())
        self.last = result
        for canary in self.canaries:
            self.expect(canary not in result.out + result.err,
                        f"`revhub {' '.join(args)}` never prints a secret", f"{canary!r} in its output")
        if show:
            self.say("$", f"revhub {' '.join(args)}  -> exit {code}")
        return result

    def sync_all(self, expect: int, why: str) -> list[dict[str, Any]]:
        r = self.revhub("sync", "--json")
        runs = r.runs
        summary = ", ".join(f"{x['pipeline']} {x['outcome']}" for x in runs)
        self.expect(r.code == expect, f"`revhub sync --json` exits {expect} ({why})", f"exit {r.code}: {summary}")
        self.expect([x["pipeline"] for x in runs] == self.pipelines, "one run per enabled pipeline, in order",
                    summary)
        return runs

    def verify_exactly_once(self) -> None:
        from sync_engine.identity import normalize_email

        hs_contacts = [c for c in self.dump("hubspot", "contacts") if not c.get("archived")]
        sf_contacts = [c for c in self.dump("salesforce", "Contact") if not c.get("IsDeleted")]
        deals = [d for d in self.dump("hubspot", "deals") if not d.get("archived")]
        hs = Counter(e for c in hs_contacts if (e := normalize_email(c["properties"].get("email"))))
        sf = Counter(e for c in sf_contacts if (e := normalize_email(c.get("Email"))))
        opp = Counter(v for d in deals if (v := d["properties"].get("salesforce_opportunity_id")))
        for name, counts in (("HubSpot contacts", hs), ("Salesforce Contacts", sf), ("HubSpot deals", opp)):
            dups = {k: n for k, n in counts.items() if n > 1}
            self.expect(not dups, f"no duplicate among {name} (email / salesforce_opportunity_id)", dups)
        f = self.fresh
        for name, want, counts in (("HubSpot contacts in Salesforce", f.hubspot_emails, sf),
                                   ("HubSpot contacts in HubSpot", f.hubspot_emails, hs),
                                   ("Salesforce contacts in HubSpot", f.salesforce_emails, hs),
                                   ("Salesforce contacts in Salesforce", f.salesforce_emails, sf),
                                   ("Salesforce opportunities as HubSpot deals", f.opportunity_ids, opp)):
            missing = sorted(k for k in want if counts.get(k, 0) != 1)
            self.expect(not missing, f"every drill record present exactly once: {name}",
                        {k: counts.get(k, 0) for k in missing})
        self.say("verify", f"exactly once: {len(hs)} HubSpot / {len(sf)} Salesforce contacts, {len(opp)} deals "
                           f"with an opportunity id; all {len(f.hubspot_emails) + len(f.salesforce_emails)} drill "
                           f"contacts and {len(f.opportunity_ids)} drill opportunities in both systems")

    # --- alerts ------------------------------------------------------------------------------------
    def new_alerts(self, since: int) -> list[Alert]:
        alerts = self.receiver.alerts(since)
        for a in alerts:
            for canary in self.canaries:
                self.expect(canary not in a.raw, "an alert never carries a secret", f"{canary!r} in {a.channel}")
            self.expect(a.signed, "every webhook alert carries a valid X-Revhub-Signature", a.raw[:200])
        return alerts

    def expect_alerts(self, since: int, state: str, code: str, pipelines: list[str], *, slack: bool,
                      wait: float = 2.0) -> list[Alert]:
        """The receiver got exactly `state` for (code, each pipeline): on Slack if `slack` (else nothing
        there), and on the webhook (which takes every severity)."""
        want = {(state, code, p) for p in pipelines}
        deadline = time.monotonic() + wait
        while True:  # delivery is synchronous; the short wait only covers the receiver's thread
            alerts = self.new_alerts(since)
            got_slack = {a.key() for a in alerts if a.channel == "slack"}
            got_hook = {a.key() for a in alerts if a.channel == "webhook" and a.code == code}
            if (got_slack == (want if slack else set()) and got_hook == want) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        where = "Slack and the webhook" if slack else "the webhook only (info: Slack routes warning and up)"
        self.expect(got_slack == (want if slack else set()),
                    f"Slack gets exactly one {state} alert per (pipeline, {code})" if slack
                    else f"Slack gets no {code} alert (severity info, channel min_severity warning)",
                    f"want {sorted(want) if slack else []}, got {sorted(got_slack)}")
        self.expect(got_hook == want, f"the webhook gets exactly one {state} alert per (pipeline, {code})",
                    f"want {sorted(want)}, got {sorted(got_hook)}")
        mine = [a for a in alerts if a.code == code and a.state == state]
        for a in mine:
            self.expect(a.runbook == f"runbooks/{code}.md", f"the {a.channel} alert names runbooks/{code}.md",
                        a.runbook or a.raw[:300])
            self.expect((ROOT / a.runbook).is_file(), f"{a.runbook} exists")
            self.expect(a.inspect == f"revhub failures list --pipeline {a.pipeline} --code {code}",
                        f"the {a.channel} alert carries the command to inspect it", a.inspect)
        self.say("alert", f"{len(mine)} x {state} {code} ({where}): "
                          + ", ".join(sorted({a.pipeline for a in mine})) + f"; runbook runbooks/{code}.md")
        return mine

    # --- the classes -------------------------------------------------------------------------------
    def fresh_token(self, system: str) -> str:
        """The AUTH_EXPIRED runbook's fix: a new token in the variable `token_env` names."""
        var = self.token_env[system]
        self.expect(var, f"systems.{system}.token_env names a variable")
        token = f"drill-fresh-{system}-token-{self.serial}"
        os.environ[str(var)] = token
        self.canaries.append(token)
        return (f"a fresh token in {var} (the runbook's fix; the emulator's admin API could also "
                "restore the old one: `restore_tokens`)")

    def cases(self) -> list[Case]:
        return all_cases(self)

    # --- the whole game day ------------------------------------------------------------------------
    def run(self) -> None:
        self.start()
        self.say("sync", "first sync of every pipeline")
        runs = self.sync_all(0, "the sample data syncs; quarantined records are reported, not failures")
        self.say("outcome", ", ".join(f"{r['pipeline']} {r['outcome']}" for r in runs))
        rows = self.revhub("failures", "list", "--json", show=False).json()["failures"]
        self.baseline_open = Counter(f["code"] for f in rows)
        self.expect(set(self.baseline_open) <= {"RECORD_INVALID", "REMOTE_REJECTED", "MAPPING_ERROR"},
                    "the first sync leaves only the sample data's bad records open", dict(self.baseline_open))
        self.expect(not [a for a in self.new_alerts(0) if a.channel == "slack"],
                    "the first sync pages nobody on Slack", [a.key() for a in self.new_alerts(0)])
        self.verify_exactly_once()
        for case in self.cases():
            t = time.monotonic()
            print(f"\n== {case.title} ==", file=self.out, flush=True)
            (transient if case.kind == "transient" else broken)(self, case)
            self.timings.append((case.title, time.monotonic() - t))
            self.say("PASS", case.title)
        print("\n== after the game day ==", file=self.out, flush=True)
        mark = self.receiver.mark()
        self.sync_all(0, "every fault is fixed")
        second = self.sync_all(0, "nothing changed")
        writes = sum(c["write"] for r in second for c in r["calls"].values())
        self.expect(writes == 0, "a run right after a clean run writes nothing", second)
        self.expect(not [a for a in self.new_alerts(mark) if a.state != "RESOLVED"],
                    "no alert fires once every fault is fixed", [a.key() for a in self.new_alerts(mark)])
        rows = self.revhub("failures", "list", "--json", show=False).json()["failures"]
        left = Counter(f["code"] for f in rows)
        self.expect(left == self.baseline_open, "the failure log holds only what it held after the first sync",
                    {"now": dict(left), "after first sync": dict(self.baseline_open)})
        self.verify_exactly_once()

@contextlib.contextmanager
def _environment(drill_env: dict[str, str], cleared: tuple[str, ...]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in (*drill_env, *cleared)}
    try:
        for k in cleared:
            os.environ.pop(k, None)
        os.environ.update(drill_env)
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_drill(work: Path | None = None, out: TextIO | None = None, keep: bool = False) -> int:
    """The whole drill; 0 when every promise held, 1 at the first broken one. `work` is kept if given."""
    out = out or sys.stdout
    own = work is None
    work = Path(tempfile.mkdtemp(prefix="revhub-drill-")) if work is None else work
    work.mkdir(parents=True, exist_ok=True)
    drill = Drill(work, out)
    from sync_engine.config import load_config

    example = load_config(ROOT / "config.example.toml")
    token_vars = tuple(v for v in (sc.token_env for sc in example.systems.values()) if v)
    env = {SLACK_ENV: f"{drill.receiver.url}/services/T0DRILL/B0DRILL/{SLACK_SECRET}", WEBHOOK_ENV: WEBHOOK_KEY}
    status = 1
    try:
        with _environment(env, ENV_CLEARED + token_vars):
            drill.run()
        status = 0
    except BrokenPromise as exc:
        print(f"\nBROKEN PROMISE: {exc}", file=out)
        if drill.last is not None:
            print(f"  last command: {' '.join(drill.last.argv)} -> exit {drill.last.code}", file=out)
            tail = "\n".join(drill.last.err.strip().splitlines()[-8:])
            if tail:
                print("  its stderr (last lines):\n    " + tail.replace("\n", "\n    "), file=out)
        print(f"  the drill's world is kept in {work}", file=out)
        keep = True
    finally:
        drill.stop()
    total = time.monotonic() - drill.t0
    if status == 0:
        print("\n== summary ==", file=out)
        for title, seconds in drill.timings:
            print(f"  {seconds:5.1f}s  PASS  {title}", file=out)
        for note in drill.notes:
            print(f"  note: {note}", file=out)
        print(f"drill passed: {len(drill.timings)} failure classes, every record present exactly once "
              f"({total:.1f}s)", file=out)
    if own and not keep:
        shutil.rmtree(work, ignore_errors=True)
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m drill.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", metavar="DIR", help="run in DIR and keep it (config, state.db, seeds)")
    args = parser.parse_args(argv)
    return run_drill(Path(args.keep) if args.keep else None, keep=bool(args.keep))


if __name__ == "__main__":
    sys.exit(main())
