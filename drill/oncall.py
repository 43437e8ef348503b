"""On-call's path for one failure class: fault -> contract -> alert -> runbook -> fix -> replay -> recovery.

`broken` walks a fault that surfaces (stopped runs, failed or quarantined records); `transient` one the
retries absorb inside the run. Both check every promise through `Drill.expect` and end with every record
present exactly once in both systems.
"""
from __future__ import annotations

import random
import shlex
from typing import TYPE_CHECKING, Any

from drill.case import BrokenPromise, Case
from drill.runbook import Runbook

if TYPE_CHECKING:
    from drill.run import Drill


def broken(drill: Drill, case: Case) -> None:
    """A fault that surfaces: stopped runs, failed records or quarantined ones."""
    if case.records:
        drill.add_records(case.code.lower().replace("_", "-"), **case.records)
    case.inject()
    mark = drill.receiver.mark()
    want_exit = {"stop": 3, "records": 1, "quarantine": 0}[case.kind]
    why = {"stop": "a run stopped", "records": "finished but some records failed",
           "quarantine": "quarantined records alone are not a failure"}[case.kind]
    runs = drill.sync_all(want_exit, why)
    if case.kind == "stop":
        hit = [x for x in runs if x["outcome"] == "stopped"]
        for x in hit:
            drill.expect(x["message"].startswith(f"{case.code}: "),
                         f"a stopped run says why, starting `{case.code}: `", f"{x['pipeline']}: {x['message']}")
        others = [x for x in runs if x not in hit and x["outcome"] != "succeeded"]
        drill.expect(not others, "runs the fault did not stop succeed", others)
        drill.say("outcome", f"{len(hit)} run(s) stopped with {case.code}: {hit[0]['message'][:110] if hit else ''}")
    else:
        rows = drill.revhub("failures", "list", "--code", case.code, "--json", show=False).json()["failures"]
        hit_names = {f["pipeline"] for f in rows}
        hit = [x for x in runs if x["pipeline"] in hit_names]
        for x in hit:
            n = sum(1 for f in rows if f["pipeline"] == x["pipeline"])
            key = "failed" if case.kind == "records" else "quarantined"
            drill.expect(x["records"][key] >= n, f"the run reports its {key} records ({case.code})",
                         f"{x['pipeline']}: {x['records']} vs {n} failure rows")
            if case.kind == "records":
                drill.expect(x["outcome"] in ("partial", "failed"), "a run with failed records is partial/failed",
                             x)
        drill.say("outcome", f"{len(rows)} record(s) held back with {case.code} in "
                             + ", ".join(x["pipeline"] for x in hit))
    drill.expect(hit, f"the fault surfaces as {case.code} somewhere", runs)
    pipelines = [x["pipeline"] for x in hit]
    from connectors.errors import FailureCode, Severity

    to_slack = FailureCode(case.code).severity is not Severity.INFO
    alerts = drill.expect_alerts(mark, "FIRING", case.code, pipelines, slack=to_slack)

    # the alert -> its inspect command -> the runbook's "How to confirm"
    first = pipelines[0]
    inspect = next(a.inspect for a in alerts if a.pipeline == first)
    r = drill.revhub(*shlex.split(inspect)[1:])
    drill.expect(r.code == 0, "the alert's inspect command runs", r.err[-300:])
    book = Runbook.open(case.code)
    for section in ("How to confirm", "Fix", "Replay"):
        drill.expect(book.sections.get(section), f"runbooks/{case.code}.md has a `## {section}` section")
    drill.say("runbook", f"open runbooks/{case.code}.md for {first}: How to confirm")
    for cmd in book.commands("How to confirm", first):
        confirm(drill, case, cmd, first)

    drill.say("fix", case.fix())
    for cmd in book.commands("Fix", first):
        if cmd.startswith("revhub emulator"):
            drill.say("skip", f"{cmd} (serves until stopped; the drill's emulators are running)")
            continue
        r = drill.revhub(*shlex.split(cmd)[1:])
        drill.expect(r.code == 0, f"the runbook's fix command `{cmd}` passes after the fix", r.err[-300:])
    if case.kind == "stop":
        r = drill.revhub("sync", first, "--dry-run")
        drill.expect(r.code == 0, "after the fix a dry run finishes without exit code 3", r.err[-400:])

    # replay, as the runbook says, for every pipeline that alerted (config order)
    held = {p: [f["id"] for f in drill.revhub("failures", "list", "--code", case.code, "--pipeline", p,
                                                "--json", show=False).json()["failures"]] for p in pipelines}
    mark = drill.receiver.mark()
    for p in pipelines:
        replay = (f"revhub sync {p}" if case.replay == "sync"
                  else f"revhub failures retry --code {case.code} --pipeline {p}")
        replay_cmds = book.commands("Replay", p)
        drill.expect(replay in replay_cmds, f"runbooks/{case.code}.md's Replay section says `{replay}`",
                     replay_cmds)
        for cmd in replay_cmds:
            if "--dry-run" in cmd and cmd.startswith("revhub sync"):
                r = drill.revhub(*shlex.split(cmd)[1:])
                drill.expect(r.code == 0, f"`{cmd}` exits 0 after the fix", r.err[-300:])
        r = drill.revhub(*shlex.split(replay)[1:], "--json")
        drill.expect(r.code == 0, f"`{replay}` exits 0 after the fix", f"exit {r.code}: {r.out[:400]}")
        doc = r.json()
        for run in doc["runs"]:
            drill.expect(run["outcome"] == "succeeded", f"the replay of {p} succeeds", run)
        if case.replay == "retry":
            drill.expect(doc["retried"] == len(held[p]) and doc["still_failing"] == 0,
                         f"`failures retry` replays exactly the {len(held[p])} held record(s), none left",
                         doc)
            drill.say("replay", f"{p}: {doc['retried']} failure(s) replayed, "
                                f"{doc['runs'][0]['records']['created']} created, 0 still failing")
        else:
            still = drill.revhub("failures", "list", "--code", case.code, "--pipeline", p, "--json",
                                 show=False).json()["failures"]
            drill.expect(held[p] and not still, "the stop was in the failure log and the replay resolved it",
                         {"before": held[p], "after": still})
    drill.expect_alerts(mark, "RESOLVED", case.code, pipelines, slack=to_slack)
    left = drill.revhub("failures", "list", "--code", case.code, "--json", show=False).json()["failures"]
    drill.expect(not left, f"no open {case.code} failure is left", left)
    drill.verify_exactly_once()


def confirm(drill: Drill, case: Case, cmd: str, pipeline: str) -> None:
    """Run one "How to confirm" command and check it shows the failure."""
    args = shlex.split(cmd)[1:]
    if args[:1] == ["emulator"]:
        drill.say("skip", f"{cmd} (serves until stopped)")
        return
    r = drill.revhub(*args)
    if args[:1] == ["sync"] and "--dry-run" in args:
        want = 3 if case.kind == "stop" else 0
        drill.expect(r.code == want, f"`{cmd}` exits {want} while the fault lasts", f"exit {r.code}")
        return
    drill.expect(r.code == 0, f"`{cmd}` exits 0", f"exit {r.code}: {r.err[-300:]}")
    if args[:1] == ["status"] and "--json" in args:
        last = {x["pipeline"]: x for x in r.json()["runs"]}.get(pipeline)
        if last is None:
            raise BrokenPromise(f"`{cmd}` shows the last run of {pipeline}\n  got: {r.out[:300]}")
        if case.kind == "stop":
            drill.expect(last["outcome"] == "stopped" and str(last["message"]).startswith(case.code),
                         f"`{cmd}`: the last run of {pipeline} is stopped with a message starting {case.code}",
                         {k: last[k] for k in ("outcome", "message")})
            drill.say("confirm", f"{pipeline}: stopped, {str(last['message'])[:100]}")
    elif args[:2] == ["failures", "list"]:
        if case.kind == "stop":
            rows = (r.json()["failures"] if "--json" in args else
                    [line for line in r.out.splitlines() if line.startswith("#")])
            stops = [x for x in rows if (x["record_id"] == "(run)" and x["code"] == case.code
                                         if isinstance(x, dict) else f"(run) {case.code}" in x)]
            drill.expect(stops, f"`{cmd}` shows the stop as a {case.code} failure with record `(run)`",
                         r.out[:300])
            drill.say("confirm", f"{len(stops)} open {case.code} stop(s) in the failure log (record `(run)`)")
        elif "--json" in args:
            rows = r.json()["failures"]
            drill.expect(rows and all(f["code"] == case.code and f["runbook"] == f"runbooks/{case.code}.md"
                                      for f in rows), f"`{cmd}` lists the {case.code} failures", rows[:3])
            drill.say("confirm", f"{len(rows)} open {case.code} failure(s), e.g. {rows[0]['message'][:90]}")
        else:
            drill.expect(f"runbooks/{case.code}.md" in r.out, f"`{cmd}` lists the {case.code} failures",
                         r.out[:300])


def transient(drill: Drill, case: Case) -> None:
    """A fault the retries absorb inside the run: exit 0, every run succeeds, no alert."""
    if case.records:
        drill.add_records(case.code.lower().replace("_", "-"), **case.records)
    system = case.fault["system"] if case.fault else ""
    before = drill.requests_served(system) if system else 0
    case.inject()
    mark = drill.receiver.mark()
    runs = drill.sync_all(0, "transient faults are retried away")
    bad = [r for r in runs if r["outcome"] != "succeeded"]
    drill.expect(not bad, "every run succeeds once the retries absorbed the fault", bad)
    alerts = drill.new_alerts(mark)
    drill.expect(not [a for a in alerts if a.channel == "slack"], "no Slack alert for a fault retried away",
                 [a.key() for a in alerts])
    drill.expect(not [a for a in alerts if a.code == case.code], f"no {case.code} alert at all",
                 [a.key() for a in alerts])
    if case.fault:
        served = drill.requests_served(system) - before
        spec = case.fault["spec"]
        faulted = _faulted(spec, served)
        if "lock_rows" in spec:
            left = drill.faults(system, {}, tag="state")["lock_rows"]
            faulted = spec["lock_rows"] - left
        drill.expect(faulted > 0, "the injected fault actually fired", f"{served} requests served")
        drill.say("outcome", f"{system} answered {faulted} of {served} request(s) with the fault; all retried, "
                             "every run succeeded, no alert")
    drill.say("fix", case.fix())
    drill.verify_exactly_once()


def _faulted(spec: dict[str, Any], served: int) -> int:
    """How many of `served` requests the emulator's seeded dice answered with the fault (connectors/emulator.py
    rolls once per served API request: below rate_429 -> 429, then below rate_429 + rate_5xx -> 5xx)."""
    if "seed" not in spec:
        return 0
    rng = random.Random(int(spec["seed"]))
    r429, r5xx = float(spec.get("rate_429", 0)), float(spec.get("rate_5xx", 0))
    return sum(1 for _ in range(served) if rng.random() < r429 + r5xx)
