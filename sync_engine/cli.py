"""The `revhub` command line: check, sync, status, failures, daemon, emulator, demo.

Exit codes, for every command (README "Contracts"): 0 done; 1 finished but some records failed;
2 usage or config error (nothing ran); 3 a run stopped (fatal error, quota reached).
`--json` prints one JSON object on stdout; progress and logs go to stderr.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from sync_engine.commands import EXIT_OK, EXIT_RECORDS_FAILED, EXIT_STOPPED, EXIT_USAGE  # noqa: F401
from sync_engine.errors import ConfigError

EPILOG = """\
examples:
  revhub check                              check config, mapping and rule files
  revhub sync --dry-run                     preview every pipeline, write nothing
  revhub sync contacts-hubspot-to-salesforce --json
  revhub failures list --code RECORD_INVALID
  revhub explain contacts-hubspot-to-salesforce jane@acme.com
  revhub mappings diff --base main          records a mapping change would write differently
  revhub emulator start --system hubspot    a local HubSpot for trying things out
  revhub demo                               emulators + sample data + every pipeline once

config: --config FILE, else $REVHUB_CONFIG, else ./config.toml, else ./config.example.toml
exit codes: 0 done, 1 some records failed, 2 usage or config error, 3 a run stopped
"""


def _err(*parts: Any) -> None:
    print(*parts, file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="revhub", description="Keep CRM, marketing, finance and support systems in agreement.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="config file (see config.example.toml)")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=argparse.SUPPRESS, help="config file (see config.example.toml)")
    def with_config(subparsers: Any) -> Any:
        """Every subcommand, at every level, also takes --config after its name."""
        plain = subparsers.add_parser

        def add_parser(name: str, **kw: Any) -> argparse.ArgumentParser:
            return plain(name, parents=[common], **kw)

        subparsers.add_parser = add_parser
        return subparsers

    sub = with_config(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))

    p = sub.add_parser("check", help="check config, mapping and rule files; errors name file:line")
    p.add_argument("--remote", action="store_true",
                   help="also check every mapped field against the live schema (describe / properties API)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = sub.add_parser("sync", help="run pipelines once (all enabled ones by default)",
                       description="Read what changed in each pipeline's source, map, validate, match and "
                                   "write it to the target. Quarantined records are reported, not failures.")
    p.add_argument("pipelines", nargs="*", metavar="PIPELINE", help="pipeline names from the config")
    p.add_argument("--dry-run", action="store_true", help="show what would be written; write nothing")
    p.add_argument("--full", action="store_true",
                   help="read everything again and compare each record with what the target holds, even one "
                        "unchanged at its source (the first run after a mapping edit does this by itself)")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout (see README, Contracts)")
    p.add_argument("--output", choices=["text", "json", "csv"], default="text",
                   help="with --dry-run: every planned record and field change as text, JSON or CSV")

    p = sub.add_parser("status", help="the last run of every pipeline and open failures")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("failures", help="inspect the failure log")
    fsub = with_config(p.add_subparsers(dest="action", required=True, metavar="ACTION"))
    def selection(sp: argparse.ArgumentParser, ids: bool) -> None:
        if ids:
            sp.add_argument("ids", nargs="*", type=int, metavar="ID", help="failure ids (from `failures list`)")
        sp.add_argument("--pipeline")
        sp.add_argument("--code", help="a failure code, e.g. RECORD_INVALID (runbooks/README.md lists them)")
        sp.add_argument("--system", help="the system where it failed, e.g. salesforce")
        sp.add_argument("--since", help="changed at or after this time, e.g. 2026-11-23 or 2026-11-23T08:00")
        sp.add_argument("--json", action="store_true")

    fl = fsub.add_parser("list", help="failures, oldest first (open ones unless --status)")
    selection(fl, ids=False)
    fl.add_argument("--status", default="open", choices=["open", "dead", "resolved", "ignored", "all"])
    fs = fsub.add_parser("show", help="one failure in full: reasons, attempts, runbook, the record's key")
    fs.add_argument("id", type=int, nargs="?", help="the failure's id, from `revhub failures list`")
    fs.add_argument("--email", help="every failure about this person (matched through [privacy]'s hash key)")
    fs.add_argument("--json", action="store_true")
    fr = fsub.add_parser("retry", help="replay exactly the selected failures now (open and dead ones)",
                         description="Replays the selected failures through their pipelines: after fixing "
                                     "a mapping or a token, e.g. `revhub failures retry --code "
                                     "PICKLIST_MISMATCH --pipeline deals-salesforce-to-hubspot`.")
    selection(fr, ids=True)
    for action, text in (("resolve", "mark failures resolved (fixed by hand)"),
                         ("ignore", "mark failures ignored (never to be synced)")):
        fx = fsub.add_parser(action, help=text)
        selection(fx, ids=True)

    p = sub.add_parser("explain", help="follow one record through map, validate, identify and plan; writes nothing",
                       description="Shows, for one record, which mapping line and transform made each value, "
                                   "how it was matched, which rules passed or failed, and what would be "
                                   "written (old -> new) or why not.")
    p.add_argument("pipeline", metavar="PIPELINE")
    p.add_argument("key", metavar="KEY", help="an email, a domain, or the source system's record id")
    p.add_argument("--mask", action="store_true", help="show emails as j***@acme.com")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("duplicates", help="report records inside one system that are the same person or company",
                       description="Clusters records by normalized email (people) or registrable domain "
                                   "(companies) and names the rule; look-alikes are listed apart and never "
                                   "merged. Read-only.")
    p.add_argument("--system", required=True)
    p.add_argument("--object", required=True, help="e.g. contacts, companies, Contact, Account")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--csv", action="store_true")
    p.add_argument("--show-pii", action="store_true", help="show emails and names unmasked")

    p = sub.add_parser("mappings", help="review a change to the mapping and rule files (mappings diff --base REV)")
    msub = with_config(p.add_subparsers(dest="action", required=True, metavar="ACTION"))
    md = msub.add_parser(
        "diff", help="which records a mapping or rule change would write differently, hold back or re-route",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Reads each pipeline's source records once and runs them through the mapping folder and "
                    "rules file\nas they were at git revision REV and as they are now (map -> validate -> the "
                    "fields a write\nwould send). Lists per record: fields whose written value changes (old -> "
                    "new), changes in\nwhether it is held back (with the rule ids), and owner changes. Writes "
                    "nothing: not to the\nsystems, not to revhub's store.",
        epilog="examples:\n"
               "  revhub mappings diff --base main                 every enabled pipeline, against main\n"
               "  revhub mappings diff --base HEAD~1 contacts-hubspot-to-salesforce --limit 10\n"
               "  revhub mappings diff --base origin/main --json   for CI; exit 1 means records would change\n"
               "\nnot simulated: what revhub already synced (echoes, transition/change rules); who-wins rule "
               "changes\nare listed per pipeline."
               "\nexit codes: 0 no differences, 1 differences found, 2 usage or config error (a broken file "
               "names\nfile:line; an old one as REV:path), 3 a source could not be read")
    md.add_argument("pipelines", nargs="*", metavar="PIPELINE", help="pipeline names (default: every enabled one)")
    md.add_argument("--base", required=True, metavar="REV", help="the git revision to compare with: main, HEAD~1, "
                                                                 "a tag or a commit")
    md.add_argument("--json", action="store_true", help="one JSON object on stdout")
    md.add_argument("--limit", type=int, default=50, metavar="N",
                    help="list at most N records per pipeline (default 50; the counts cover all)")

    p = sub.add_parser("merge", help="merge duplicates inside one system (only with [merge.<system>] enabled)",
                       description="Merges each cluster `revhub duplicates` finds, and the duplicates runs "
                                   "recorded after following a merge made in another CRM: the survivor is "
                                   "picked by the configured survivorship, its fields filled by the per-field "
                                   "overrides, one audit row per merge. --dry-run previews.")
    p.add_argument("--system", required=True)
    p.add_argument("--object", required=True, help="e.g. contacts, companies, Contact, Account")
    p.add_argument("--dry-run", action="store_true", help="show the merges and survivors; merge nothing")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("purge", help="erase a person from revhub's own store (not from the CRMs)",
                       description="Deletes the person's identity, crosswalk links (with the values revhub "
                                   "kept of them) and failure rows from revhub's state store. The CRMs are "
                                   "untouched: erase there with each system's own GDPR delete.")
    p.add_argument("--email", required=True, help="the person's email address (any case or spacing)")
    p.add_argument("--json", action="store_true")

    sub.add_parser("daemon", help="run every pipeline on its schedule until stopped (SIGTERM)")

    p = sub.add_parser("emulator", help="local emulators of the vendors' APIs")
    esub = with_config(p.add_subparsers(dest="action", required=True, metavar="ACTION"))
    es = esub.add_parser("start", help="serve one emulator until SIGTERM; prints `listening on <url>` first")
    es.add_argument("--system", required=True, help="hubspot or salesforce")
    es.add_argument("--port", type=int, help="default: the system's fixed port from config.example.toml")
    es.add_argument("--seed", help="folder of <object>.json files in the system's native shape")
    es.add_argument("--token", help="accept only this token (default: any non-empty one)")

    p = sub.add_parser("demo", help="sample data in both emulators, every pipeline once, a summary")
    p.add_argument("--scale", type=float, default=1.0, help="size of the sample data (1.0: ~2,400 people)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except ConfigError as exc:
        if getattr(args, "json", False):
            print(json.dumps({"error": exc.render(), "file": exc.file, "line": exc.line, "key": exc.key,
                              "hint": exc.hint}))
        _err(f"error: {exc.render()}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _err("interrupted")
        return EXIT_STOPPED


def _dispatch(args: argparse.Namespace) -> int:
    from sync_engine import commands

    handler = {"check": commands.check, "sync": commands.sync, "status": commands.status,
               "failures": commands.failures, "daemon": commands.daemon, "emulator": commands.emulator,
               "demo": commands.demo, "purge": commands.purge, "explain": commands.explain,
               "duplicates": commands.duplicates, "mappings": commands.mappings,
               "merge": commands.merge}[args.command]
    return int(handler(args))


if __name__ == "__main__":
    sys.exit(main())
