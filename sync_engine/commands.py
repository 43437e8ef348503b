"""What each `revhub` subcommand does; `cli.py` only parses arguments and maps errors to exit codes."""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import Any

from sync_engine.app import open_app
from sync_engine.pipeline import RunOutcome, RunReport

EXIT_OK, EXIT_RECORDS_FAILED, EXIT_USAGE, EXIT_STOPPED = 0, 1, 2, 3


def _err(*parts: Any) -> None:
    print(*parts, file=sys.stderr, flush=True)


def exit_code(reports: list[RunReport]) -> int:
    if any(r.outcome is RunOutcome.STOPPED for r in reports):
        return EXIT_STOPPED
    if any(r.records["failed"] for r in reports):
        return EXIT_RECORDS_FAILED
    return EXIT_OK


def check(args: argparse.Namespace) -> int:
    app = open_app(args.config)
    summary = {"ok": True, "config": str(app.config.path), "pipelines": sorted(app.config.pipelines),
               "mappings": sorted(m.path for m in app.mappings.values()), "rules": len(app.rules)}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"ok: {app.config.path.name}: {len(app.config.pipelines)} pipelines, "
              f"{len(app.mappings)} mapping files, {len(app.rules)} rules")
    return EXIT_OK


def print_table(reports: list[RunReport]) -> None:
    cols = ("read", "created", "updated", "unchanged", "quarantined", "failed")
    width = max([len(r.pipeline) for r in reports] + [8])
    print(f"{'pipeline':<{width}}  {'outcome':<9} " + " ".join(f"{c:>11}" for c in cols) + "  calls (read/write)")
    for r in reports:
        calls = ", ".join(f"{s} {c['read']}/{c['write']}" for s, c in sorted(r.calls.items()))
        print(f"{r.pipeline:<{width}}  {r.outcome.value:<9} " + " ".join(f"{r.records[c]:>11}" for c in cols)
              + f"  {calls}")
        if r.message:
            print(f"  {r.message}")


def _print_plan(reports: list[RunReport]) -> None:
    for r in reports:
        for planned in r.planned:
            if planned.action == "unchanged":
                continue
            target = f" -> {planned.target_id}" if planned.target_id else ""
            print(f"{r.pipeline}: {planned.action} {planned.source_id}{target}")
            for change in planned.changes:
                print(f"    {change.field}: {change.old!r} -> {change.new!r}")
            for reason in planned.reasons:
                print(f"    quarantined: {reason}")


def sync(args: argparse.Namespace) -> int:
    app = open_app(args.config)
    try:
        reports = app.sync(args.pipelines or None, dry_run=args.dry_run, full=args.full, progress=_err)
    finally:
        app.close()
    if args.json:
        print(json.dumps({"runs": [r.as_json() for r in reports]}))
    else:
        if args.dry_run:
            _print_plan(reports)
        print_table(reports)
    return exit_code(reports)


def status(args: argparse.Namespace) -> int:
    app = open_app(args.config)
    runs = app.store.last_runs()
    open_failures = app.store.failures()
    if args.json:
        print(json.dumps({"runs": runs, "open_failures": len(open_failures)}, default=str))
        return EXIT_OK
    if not runs:
        print("no runs yet: try `revhub sync --dry-run`")
    for run in runs:
        rec = run["records"] or {}
        print(f"{run['pipeline']}: {run['outcome']} at {run['finished_at'] or run['started_at']}: "
              + ", ".join(f"{rec.get(k, 0)} {k}" for k in ("read", "created", "updated", "quarantined", "failed")))
    print(f"open failures: {len(open_failures)} (revhub failures list)")
    return EXIT_OK


def failures(args: argparse.Namespace) -> int:
    from connectors.errors import FailureCode

    app = open_app(args.config)
    rows = app.store.failures(pipeline=args.pipeline, code=args.code)
    if args.json:
        keep = ("id", "pipeline", "step", "system", "object", "record_id", "code", "message", "reasons",
                "status", "attempts", "created_at", "updated_at")
        print(json.dumps({"failures": [{k: f[k] for k in keep} | {"runbook": FailureCode(f["code"]).runbook}
                                       for f in rows]}, default=str))
        return EXIT_OK
    for f in rows:
        print(f"#{f['id']} {f['pipeline']} {f['system']}.{f['object']} {f['record_id']} {f['code']} "
              f"(attempt {f['attempts']}): {f['message']}")
        print(f"    runbook: {FailureCode(f['code']).runbook}")
    print(f"{len(rows)} open failure(s)")
    return EXIT_OK


def daemon(args: argparse.Namespace) -> int:
    from sync_engine.daemon import run_daemon

    return run_daemon(open_app(args.config))


def emulator(args: argparse.Namespace) -> int:
    from connectors import registry
    from connectors.emulator import EmulatorServer

    try:
        cls = registry.emulator_class(args.system)
    except KeyError:
        from sync_engine.errors import ConfigError
        raise ConfigError(f"no emulator for `{args.system}`",
                          hint="one of: " + ", ".join(registry.emulator_names())) from None
    from pathlib import Path

    from sync_engine.demo import emulator_for

    emu = emulator_for(args.system, Path(".revhub") / "emulator" / args.system, token=args.token)
    if args.seed:
        emu.seed_dir(args.seed)
    server = EmulatorServer(emu, args.port if args.port is not None else cls.default_port).start()
    print(f"listening on {server.url}", flush=True)
    for line in emu.banner(server.url):
        print(line, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return EXIT_OK


def demo(args: argparse.Namespace) -> int:
    from sync_engine.demo import run_demo

    return run_demo(args.config, scale=args.scale)
