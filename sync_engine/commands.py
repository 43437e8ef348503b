"""What each `revhub` subcommand does; `cli.py` only parses arguments and maps errors to exit codes."""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
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
    problems = []
    if args.remote:
        from sync_engine.check_remote import check_remote
        try:
            problems = check_remote(app)
        finally:
            app.close()
    errors = [p for p in problems if p.severity == "error"]
    if args.json:
        print(json.dumps({"ok": not errors, "remote": args.remote, "config": str(app.config.path),
                          "pipelines": sorted(app.config.pipelines),
                          "mappings": sorted(m.path for m in app.mappings.values()), "rules": len(app.rules),
                          "problems": [p.as_json() for p in problems]}))
    else:
        for problem in problems:
            print(problem.render())
        print(f"{'ok' if not errors else 'errors'}: {app.config.path.name}: {len(app.config.pipelines)} pipelines, "
              f"{len(app.mappings)} mapping files, {len(app.rules)} rules"
              + (f"; remote: {len(errors)} errors, {len(problems) - len(errors)} warnings" if args.remote else ""))
    return EXIT_USAGE if errors else EXIT_OK


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
                sent = planned.sends.get(change.field, {})
                # the wire value, when a write transform or value map made it differ from revhub's decision
                wire = ", ".join(f"{name} = {value!r}" for name, value in sent.items() if value != change.new)
                print(f"    {change.field}: {change.old!r} -> {change.new!r}" + (f"  (sent as {wire})" if wire else ""))
            for reason in planned.reasons:
                print(f"    {reason}" if reason.startswith("warning: ") else f"    quarantined: {reason}")


def sync(args: argparse.Namespace) -> int:
    app = open_app(args.config)
    try:
        reports = app.sync(args.pipelines or None, dry_run=args.dry_run, full=args.full, progress=_err)
    finally:
        app.close()
    if args.dry_run and args.output == "csv":
        _plan_csv(reports)
    elif args.json or args.output == "json":
        runs = [r.as_json() | ({"plan": r.plan_json()} if args.dry_run and args.output == "json" else {})
                for r in reports]
        print(json.dumps({"runs": runs}, default=str))
    else:
        if args.dry_run:
            _print_plan(reports)
        print_table(reports)
        for r in reports:
            if r.would_write:
                print(f"{r.pipeline}: would make " + ", ".join(f"{n} write call(s) to {s}"
                                                            for s, n in r.would_write.items()))
    return exit_code(reports)


def _plan_csv(reports: list[RunReport]) -> None:
    """One row per planned field change (or per record when there is none): for review in a sheet."""
    import csv

    out = csv.writer(sys.stdout)
    out.writerow(["pipeline", "source_id", "action", "target_id", "field", "old", "new", "reason", "sends"])
    for r in reports:
        for p in r.planned:
            if p.action == "unchanged":
                continue
            rows = [[c.field, c.old, c.new, "", "; ".join(f"{k}={v}" for k, v in p.sends.get(c.field, {}).items())]
                    for c in p.changes] or [["", "", "", "; ".join(p.reasons), ""]]
            for row in rows:
                out.writerow([r.pipeline, p.source_id, p.action, p.target_id or "", *row])


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


_FAILURE_KEYS = ("id", "pipeline", "step", "system", "object", "record_id", "code", "message", "reasons", "status",
                 "attempts", "created_at", "updated_at")


def _failure_json(f: dict[str, Any]) -> dict[str, Any]:
    from connectors.errors import FailureCode

    return {k: f[k] for k in _FAILURE_KEYS} | {"runbook": FailureCode(f["code"]).runbook}


def _selected(app: Any, args: argparse.Namespace, statuses: Sequence[str] | None) -> list[dict[str, Any]]:
    from datetime import UTC, datetime

    since = None
    if getattr(args, "since", None):
        try:
            since = datetime.fromisoformat(args.since)
        except ValueError:
            from sync_engine.errors import ConfigError
            raise ConfigError(f"--since {args.since!r} is not a date or time",
                              hint="write it like 2026-11-23 or 2026-11-23T08:00") from None
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
    ids = getattr(args, "ids", None) or None
    return list(app.store.failures(pipeline=args.pipeline, code=args.code, system=args.system, since=since,
                                   ids=ids, status=statuses))


def failures(args: argparse.Namespace) -> int:
    from connectors.errors import FailureCode

    app = open_app(args.config)
    if args.action == "show" and getattr(args, "email", None):
        return _show_about(app, args.email, args.json)
    if args.action == "show":
        if args.id is None:
            _err("give a failure id (see `revhub failures list`) or --email ADDRESS")
            return EXIT_USAGE
        rows = app.store.failures(ids=[args.id], status=None)
        if not rows:
            _err(f"no failure #{args.id}: see `revhub failures list --status all`")
            return EXIT_USAGE
        f = rows[0]
        if args.json:
            print(json.dumps(_failure_json(f), default=str))
            return EXIT_OK
        print(f"failure #{f['id']} ({f['status']}), pipeline {f['pipeline']}, step {f['step']}")
        print(f"  record: {f['system']}.{f['object']} {f['record_id']}  attempts: {f['attempts']}")
        print(f"  code: {f['code']}  since {f['created_at']}, last {f['updated_at']}")
        for reason in f["reasons"] or [f["message"]]:
            print(f"  reason: {reason}")
        print(f"  runbook: {FailureCode(f['code']).runbook}")
        print(f"  replay: revhub failures retry {f['id']}")
        return EXIT_OK
    if args.action == "list":
        statuses = None if args.status == "all" else [args.status]
        rows = _selected(app, args, statuses)
        if args.json:
            print(json.dumps({"failures": [_failure_json(f) for f in rows]}, default=str))
            return EXIT_OK
        for f in rows:
            print(f"#{f['id']} {f['pipeline']} {f['system']}.{f['object']} {f['record_id']} {f['code']} "
                  f"(attempt {f['attempts']}, {f['status']}): {f['message']}")
            print(f"    runbook: {FailureCode(f['code']).runbook}")
        print(f"{len(rows)} {args.status if args.status != 'all' else ''} failure(s)".replace("  ", " "))
        return EXIT_OK
    if not (args.ids or args.pipeline or args.code or args.system or args.since):
        _err(f"say which failures to {args.action}: ids, or --pipeline/--code/--system/--since")
        return EXIT_USAGE
    rows = _selected(app, args, ["open", "dead"])
    if args.action in ("resolve", "ignore"):
        moved = app.store.set_failure_status([f["id"] for f in rows], "resolved" if args.action == "resolve"
                                             else "ignored")
        if args.json:
            print(json.dumps({args.action + "d": [f["id"] for f in rows]}))
        else:
            print(f"{moved} failure(s) marked {'resolved' if args.action == 'resolve' else 'ignored'}")
        return EXIT_OK
    try:
        reports = app.retry_failures(rows, progress=_err)
    finally:
        app.close()
    left = app.store.failures(ids=[f["id"] for f in rows], status=["open", "dead"])
    if args.json:
        print(json.dumps({"runs": [r.as_json() for r in reports], "retried": len(rows), "still_failing": len(left)}))
    else:
        print_table(reports)
        print(f"retried {len(rows)} failure(s); {len(rows) - len(left)} now synced, {len(left)} still failing")
    return exit_code(reports) if reports else EXIT_OK


def _show_about(app: Any, email: str, as_json: bool) -> int:
    """`failures show --email ADDRESS`: every failure about one person, for whoever holds the hash key.

    Rows carry emails masked or as `email#<HMAC>` tokens (`[privacy]`); the address typed here is hashed
    with this process's key the same way, and also looked for in the records revhub kept for replay.
    """
    from connectors.errors import FailureCode
    from sync_engine import redact

    wanted = email.strip().lower()
    if "@" not in wanted:
        _err("give an email address: revhub failures show --email jane@acme.com")
        return EXIT_USAGE
    policy = redact.policy()
    token = redact.email_token(wanted, policy.key) if policy.emails == "hash" else None
    rows = [f for f in app.store.failures(status=None)
            if (token and token in json.dumps([f["message"], f["reasons"]]))
            or (f["payload"] and wanted in json.dumps(f["payload"]).lower())]
    if as_json:
        print(json.dumps({"token": token, "failures": [_failure_json(f) for f in rows]}, default=str))
        return EXIT_OK
    for f in rows:
        print(f"#{f['id']} {f['pipeline']} {f['system']}.{f['object']} {f['record_id']} {f['code']} "
              f"({f['status']}, attempt {f['attempts']}): {f['message']}")
        print(f"    runbook: {FailureCode(f['code']).runbook}  replay: revhub failures retry {f['id']}")
    print(f"{len(rows)} failure(s) about {token or redact.redact(wanted)}")
    return EXIT_OK


def explain(args: argparse.Namespace) -> int:
    from sync_engine.errors import ConnectorError
    from sync_engine.explain import as_json, render_text
    from sync_engine.explain import explain as explain_record

    app = open_app(args.config)
    try:
        expl = explain_record(app, args.pipeline, args.key, mask=args.mask)
    except ConnectorError as exc:
        _err(f"error: {exc.code.value}: {exc.message} (runbook: {exc.code.runbook})")
        return EXIT_STOPPED
    finally:
        app.close()
    print(json.dumps(as_json(expl)) if args.json else render_text(expl))
    return EXIT_OK if expl.found else EXIT_RECORDS_FAILED


def duplicates(args: argparse.Namespace) -> int:
    from sync_engine.duplicates import find_duplicates, render_csv, render_json, render_text, with_pending_merges
    from sync_engine.errors import ConnectorError

    app = open_app(args.config)
    try:
        report = with_pending_merges(find_duplicates(app, args.system, args.object,
                                                     options=app.config.identity.email_options()), app.store)
    except ConnectorError as exc:
        _err(f"error: {exc.code.value}: {exc.message} (runbook: {exc.code.runbook})")
        return EXIT_STOPPED
    finally:
        app.close()
    render = render_json if args.json else render_csv if args.csv else render_text
    print(render(report, show_pii=args.show_pii), end="" if args.csv else "\n")
    return EXIT_OK  # a report: 0 whether or not duplicates were found


def mappings(args: argparse.Namespace) -> int:
    """`mappings diff --base REV`: exit 0 no differences, 1 differences (docs/decisions.md), 2, 3 as usual."""
    from sync_engine.errors import ConnectorError
    from sync_engine.mappings_diff import EXIT_DIFFERENCES, as_json, diff_mappings, render_text

    if args.limit < 0:
        _err("--limit takes a number of records, 0 or more")
        return EXIT_USAGE
    app = open_app(args.config)
    try:
        result = diff_mappings(app, args.base, args.pipelines or None)
    except ConnectorError as exc:
        _err(f"error: {exc.code.value}: {exc.message} (runbook: {exc.code.runbook})")
        return EXIT_STOPPED
    finally:
        app.close()
    print(json.dumps(as_json(result, args.limit), default=str) if args.json else render_text(result, args.limit))
    return EXIT_DIFFERENCES if result.differs else EXIT_OK


def merge(args: argparse.Namespace) -> int:
    """`revhub merge`: write-back of duplicate merges (sync_engine/merge.py); exit 1 if a merge failed."""
    from sync_engine.duplicates import find_duplicates
    from sync_engine.errors import ConnectorError
    from sync_engine.merge import write_back

    app = open_app(args.config)
    try:
        clusters = find_duplicates(app, args.system, args.object).clusters
        report = write_back(app.config, app.store, app.connectors, app.mappings, clusters, args.system,
                            args.object, dry_run=args.dry_run)
    except ConnectorError as exc:
        _err(f"error: {exc.code.value}: {exc.message} (runbook: {exc.code.runbook})")
        return EXIT_STOPPED
    finally:
        app.close()
    if args.json:
        print(json.dumps(report.as_json()))
    else:
        verb = "would merge" if report.dry_run else "merged"
        for plan in report.plans:
            state = f"failed: {plan.error}" if plan.error else verb
            print(f"{args.system}.{args.object}: {', '.join(plan.loser_ids)} -> {plan.survivor_id} "
                  f"(rule: {plan.rule}; fields: {', '.join(plan.fields) or 'none'}) {state}")
        print(f"{len(report.plans) - report.failed} {verb}, {report.failed} failed")
    return EXIT_RECORDS_FAILED if report.failed else EXIT_OK


def purge(args: argparse.Namespace) -> int:
    from sync_engine.identity import normalize_email
    from sync_engine.redact import redact

    email = normalize_email(args.email)
    if not email:
        _err("give the email address to erase: revhub purge --email jane@acme.com")
        return EXIT_USAGE
    app = open_app(args.config)
    counts = app.store.purge_person(email)
    if args.json:
        print(json.dumps({"erased": counts}))
    else:
        print(f"erased {redact(email)} from revhub's store: {counts['entities']} identity, {counts['links']} "
              f"crosswalk link(s), {counts['failures']} failure row(s); the CRMs are untouched")
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
