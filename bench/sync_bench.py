"""Sync benchmark: API calls per record against the batch-size optimum, records/s and peak memory.

    .venv/bin/python -m bench.sync_bench [--scale N] [--json] [--keep-rate-limits] [--guard run|page]

Seeds a HubSpot and a Salesforce emulator (in this process, free ports) with `sample_data` at
`--scale` times the `make demo` dataset, runs every pipeline of `config.example.toml` once (first sync)
and again (steady state) in a separate sync process, and prints per pipeline: records, write calls
against the optimum, read calls per 1,000 records read, seconds and peak memory. See bench/README.md.

Exit 0 when the claim holds, 1 when the second run wrote anything or a pipeline's write calls exceed
the optimum by more than its association calls, 2 on a usage or config error.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import multiprocessing
import os
import platform
import shlex
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")
UNLIMITED = 10**9


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    from sync_engine import sample_data

    sizes = _sizes(args.scale)
    command = _command(argv)
    with tempfile.TemporaryDirectory(prefix="revhub-bench-") as tmp_name:
        tmp = Path(tmp_name)
        _say(f"generating sample data: {sizes}")
        seeds = sample_data.write_seeds(tmp / "seeds", sample_data.generate(**sizes))
        timed = _World(tmp / "timed", seeds, keep_rate_limits=args.keep_rate_limits).measure(trace=False)
        traced = None
        if not args.no_tracemalloc:
            _say("again in a fresh world, first run only, with tracemalloc on (it slows the sync)")
            traced = _World(tmp / "traced", seeds, keep_rate_limits=args.keep_rate_limits).measure(trace=True)
    result = _summarize(args, command, sizes, timed, traced)
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        _print(result)
    return 0 if result["guard"]["ok"] else 1


# --- setup -------------------------------------------------------------------------------------------
def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.sync_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="times the `make demo` dataset (300 companies, 2,400 people, 400 deals); default 1")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--keep-rate-limits", action="store_true",
                        help="keep the HubSpot emulator's rate limits (measures throttling, not the engine)")
    parser.add_argument("--guard", choices=("run", "page"), default="run",
                        help="optimum the write calls are held to: over the whole run (default) or per "
                             "write call the engine makes (the loader buffers writes across pages into full batches)")
    parser.add_argument("--no-tracemalloc", action="store_true",
                        help="do not trace allocations (records/s without tracemalloc's overhead)")
    args = parser.parse_args(argv)
    if args.scale <= 0:
        parser.error("--scale must be > 0")
    return args


def _sizes(scale: float) -> dict[str, int]:
    """The demo's dataset (sync_engine/demo.py), scaled."""
    return {"companies": max(10, int(300 * scale)), "contacts": max(40, int(2400 * scale)),
            "opportunities": max(10, int(400 * scale))}


def _command(argv: list[str] | None) -> str:
    python = Path(sys.executable)
    try:
        shown = str(python.relative_to(Path.cwd()))
    except ValueError:
        shown = str(python)
    return shlex.join([shown, "-m", "bench.sync_bench", *(sys.argv[1:] if argv is None else argv)])


def _rate_limits(emulator: Any, *, keep: bool) -> str:
    limits = emulator.rate_limits
    if keep:
        return "on (" + ", ".join(f"{f.name}={getattr(limits, f.name)}" for f in dataclasses.fields(limits)) + ")"
    for f in dataclasses.fields(limits):
        setattr(limits, f.name, UNLIMITED)
    return "off (every HubSpot emulator rate limit raised to 1e9: this measures the engine, not throttling)"


class _World:
    """Both emulators seeded, on free ports, a config pointing at them, and a sync process to drive."""

    def __init__(self, tmp: Path, seeds: dict[str, Path], *, keep_rate_limits: bool) -> None:
        self.tmp, self.seeds, self.keep = tmp, seeds, keep_rate_limits

    def measure(self, *, trace: bool) -> dict[str, Any]:
        """First sync and, untraced, the second run: reports, requests seen, seconds, memory."""
        from connectors import registry
        from connectors.emulator import EmulatorServer
        from sync_engine.config import load_config
        from sync_engine.demo import emulator_for

        servers: dict[str, Any] = {}
        worker = None
        try:
            for system in ("hubspot", "salesforce"):
                emu = emulator_for(system, self.tmp / "certs" / system)
                emu.seed_dir(self.seeds[system])
                servers[system] = EmulatorServer(emu, 0).start()
            limits = _rate_limits(servers["hubspot"].emulator, keep=self.keep)
            config_path = _write_config(self.tmp, servers)
            config = load_config(config_path)
            worker = _Worker(config_path, f"sqlite:///{self.tmp / 'state.db'}", trace=trace)
            pipelines = [config.pipelines[name] for name in worker.pipelines]
            batch = {p.name: registry.connector_class(config.systems[p.target_system].connector)
                     .objects[p.target_object].batch_size for p in pipelines}
            label = "traced" if trace else "first"
            first, first_wall = _run_all(worker, pipelines, servers, f"{label} run")
            second, second_wall = ([], 0.0) if trace else _run_all(worker, pipelines, servers, "second run")
            rss_kib = worker.stop()
            worker = None
        finally:
            if worker is not None:
                worker.kill()
            for server in servers.values():
                server.stop()
        return {"limits": limits, "batch": batch, "first": first, "first_wall": first_wall,
                "second": second, "second_wall": second_wall, "ru_maxrss_kib": rss_kib}


def _write_config(tmp: Path, servers: dict[str, Any]) -> Path:
    """config.example.toml pointed at the emulators, the repo's mappings and a throwaway store."""
    text = (ROOT / "config.example.toml").read_text()
    replacements = {
        "http://127.0.0.1:8710": servers["hubspot"].url,
        "https://127.0.0.1:8711": servers["salesforce"].url,
        'ca_file = ".revhub/emulator/salesforce/ca.pem"': f'ca_file = "{servers["salesforce"].emulator.ca_file}"',
        'url = "sqlite:///.revhub/state.db"': f'url = "sqlite:///{tmp / "state.db"}"',
        'mappings = "mappings"': f'mappings = "{ROOT / "mappings"}"',
        'rules = "mappings/rules.toml"': f'rules = "{ROOT / "mappings" / "rules.toml"}"',
    }
    for old, new in replacements.items():
        if old not in text:
            raise SystemExit(f"bench: config.example.toml no longer contains {old!r}; update bench/sync_bench.py")
        text = text.replace(old, new)
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / "config.toml"
    path.write_text(text)
    return path


class _Worker:
    """The sync process (bench/_worker.py), spawned so its memory figures are the sync's alone."""

    def __init__(self, config_path: Path, store_url: str, *, trace: bool) -> None:
        from bench import _worker

        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker.serve, args=(child, str(config_path), store_url, trace),
                                   name="revhub-bench-sync")
        self.process.start()
        child.close()
        self.pipelines: list[str] = self._recv()["pipelines"]

    def _recv(self) -> dict[str, Any]:
        try:
            return dict(self.conn.recv())
        except EOFError:
            self.process.join()
            raise SystemExit(f"bench: the sync process died (exit code {self.process.exitcode})") from None

    def run(self, pipeline: str) -> dict[str, Any]:
        self.conn.send(("run", pipeline))
        return self._recv()

    def stop(self) -> int:
        self.conn.send(("stop",))
        rss = int(self._recv()["ru_maxrss_kib"])
        self.process.join(timeout=30)
        return rss

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)


# --- measuring ---------------------------------------------------------------------------------------
def _requests(server: Any) -> Counter[str]:
    emulator = server.emulator
    with emulator.lock:
        return Counter(emulator.counts)


def _is_write(route: str) -> bool:
    """A request that writes: search and batch reads are POSTs but read nothing."""
    method, _, path = route.partition(" ")
    return method in WRITE_METHODS and not path.endswith(("/search", "/batch/read"))


def _run_all(worker: _Worker, pipelines: list[Any], servers: dict[str, Any], label: str
             ) -> tuple[list[dict[str, Any]], float]:
    out = []
    start = time.perf_counter()
    for p in pipelines:
        before = {s: _requests(server) for s, server in servers.items()}
        emulator_cpu = time.process_time()  # this process: the emulators' threads (and a little bench)
        answer = worker.run(p.name)
        answer["emulator_cpu_seconds"] = time.process_time() - emulator_cpu
        seen = {s: _requests(server) - before[s] for s, server in servers.items()}
        answer["pipeline"] = p
        answer["requests"] = seen
        out.append(answer)
        r = answer["report"]
        _say(f"{label}: {p.name}: {r['records']['read']} read in {answer['seconds']:.2f} s, {r['outcome']}")
    return out, time.perf_counter() - start


def _pipeline_figures(run: dict[str, Any], batch: int) -> dict[str, Any]:
    p, report = run["pipeline"], run["report"]
    records = report["records"]
    calls = report["calls"]
    requests = run["requests"]
    writes = sum(n for s in requests for route, n in requests[s].items() if _is_write(route))
    assoc = sum(n for route, n in requests[p.target_system].items()
                if _is_write(route) and "/associations" in route)
    optimum = math.ceil(records["created"] / batch) + math.ceil(records["updated"] / batch)
    page_optimum = sum(math.ceil(w["creates"] / batch) + math.ceil(w["updates"] / batch)
                       for w in run["write_calls"] if w["object"] == p.target_object)
    src_reads = calls.get(p.source_system, {}).get("read", 0)
    tgt_reads = calls.get(p.target_system, {}).get("read", 0)
    read = records["read"]
    return {
        "pipeline": p.name, "outcome": report["outcome"], "message": report["message"],
        "source": f"{p.source_system}.{p.source_object}", "target": f"{p.target_system}.{p.target_object}",
        "batch": batch, "records": records,
        "write_calls": writes,
        "write_calls_counted_by_connector": sum(c.get("write", 0) for c in calls.values()),
        "association_calls": assoc,
        "optimum": optimum,
        "page_optimum": page_optimum,
        "engine_write_calls": len(run["write_calls"]),
        "source_read_calls": src_reads,
        "target_read_calls": tgt_reads,
        "read_calls_per_1000_read": round(1000 * (src_reads + tgt_reads) / read, 1) if read else None,
        "seconds": round(run["seconds"], 3),
        "sync_cpu_seconds": round(run["cpu_seconds"], 3),
        "emulator_cpu_seconds": round(run["emulator_cpu_seconds"], 3),
        "tracemalloc_peak_bytes": run["tracemalloc_peak"],
        "requests": {s: dict(sorted(c.items())) for s, c in requests.items() if c},
    }


def _summarize(args: argparse.Namespace, command: str, sizes: dict[str, int], timed: dict[str, Any],
               traced: dict[str, Any] | None) -> dict[str, Any]:
    batch = timed["batch"]
    rows = [_pipeline_figures(run, batch[run["pipeline"].name]) for run in timed["first"]]
    again = [_pipeline_figures(run, batch[run["pipeline"].name]) for run in timed["second"]]
    notes = []
    if traced is not None:
        twins = {run["pipeline"].name: run for run in traced["first"]}
        same = ("records", "write_calls", "association_calls", "source_read_calls", "target_read_calls")
        for r in rows:
            twin = _pipeline_figures(twins[r["pipeline"]], r["batch"])
            r["tracemalloc_peak_bytes"] = twin["tracemalloc_peak_bytes"]
            differ = [k for k in same if twin[k] != r[k]]
            if differ:
                notes.append(f"{r['pipeline']}: the traced run differs in {', '.join(differ)} (not deterministic)")
    first_wall, second_wall = timed["first_wall"], timed["second_wall"]
    read = sum(r["records"]["read"] for r in rows)
    peaks_seen = [r["tracemalloc_peak_bytes"] for r in rows if r["tracemalloc_peak_bytes"] is not None]
    violations = []
    for r in rows:
        bound = r["optimum"] if args.guard == "run" else r["page_optimum"]
        if r["write_calls"] - bound > r["association_calls"]:
            violations.append(f"{r['pipeline']}: {r['write_calls']} write calls > {args.guard} optimum "
                              f"{bound} + {r['association_calls']} association calls")
        if r["write_calls"] != r["write_calls_counted_by_connector"]:
            violations.append(f"{r['pipeline']}: the emulators received {r['write_calls']} write calls, the "
                              f"connector counted {r['write_calls_counted_by_connector']}")
    second_writes = sum(r["write_calls"] for r in again)
    if second_writes:
        violations.append(f"second run wrote: {second_writes} write calls")
    return {
        "command": command,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "scale": args.scale, "seeded": sizes, "hubspot_rate_limits": timed["limits"],
        "tracemalloc": not args.no_tracemalloc, "guard_bound": args.guard,
        "first_run": {
            "pipelines": rows,
            "records_read": read,
            "records_written": sum(r["records"]["created"] + r["records"]["updated"] for r in rows),
            "write_calls": sum(r["write_calls"] for r in rows),
            "association_calls": sum(r["association_calls"] for r in rows),
            "optimum": sum(r["optimum"] for r in rows),
            "page_optimum": sum(r["page_optimum"] for r in rows),
            "read_calls": sum(r["source_read_calls"] + r["target_read_calls"] for r in rows),
            "wall_seconds": round(first_wall, 3),
            "records_per_second": round(read / first_wall, 1) if first_wall else None,
            "sync_cpu_seconds": round(sum(r["sync_cpu_seconds"] for r in rows), 3),
            "emulator_cpu_seconds": round(sum(r["emulator_cpu_seconds"] for r in rows), 3),
        },
        "second_run": {
            "pipelines": again,
            "records_read": sum(r["records"]["read"] for r in again),
            "write_calls": second_writes,
            "read_calls": sum(r["source_read_calls"] + r["target_read_calls"] for r in again),
            "wall_seconds": round(second_wall, 3),
        },
        "memory": {"tracemalloc_peak_bytes": max(peaks_seen) if peaks_seen else None,
                   "ru_maxrss_kib": timed["ru_maxrss_kib"]},
        "notes": notes,
        "guard": {"ok": not violations, "violations": violations},
    }


# --- output ------------------------------------------------------------------------------------------
def _mib(n: float | None) -> str:
    return "-" if n is None else f"{n / 2**20:.1f}"


def _print(res: dict[str, Any]) -> None:
    s, f, z = res["seeded"], res["first_run"], res["second_run"]
    print(f"revhub sync bench, scale {res['scale']:g}: seeded {s['companies']:,} companies, "
          f"{s['contacts']:,} people, {s['opportunities']:,} deals "
          f"({res['machine']['cpus']} CPUs, Python {res['machine']['python']})")
    print(f"HubSpot emulator rate limits: {res['hubspot_rate_limits']}")
    print("optimum = ceil(created/batch) + ceil(updated/batch), batch = target's largest "
          "(HubSpot 100, Salesforce 200);")
    print("page-opt = the same per Connector.write call (the loader buffers across pages, so page-opt = optimum)\n")
    head = (f"{'first run':<33}{'read':>6}{'creat':>6}{'upd':>6}{'quar':>5}{'fail':>5}  |"
            f"{'writes':>7}{'assoc':>6}{'optim':>6}{'page':>5}  |{'src rd':>7}{'tgt rd':>7}{'rd/1k':>7}  |"
            f"{'sec':>7}{'peak MiB':>9}")
    print(head)
    print("-" * len(head))
    for r in f["pipelines"]:
        c = r["records"]
        per_k = "-" if r["read_calls_per_1000_read"] is None else f"{r['read_calls_per_1000_read']:.1f}"
        print(f"{r['pipeline']:<33}{c['read']:>6}{c['created']:>6}{c['updated']:>6}{c['quarantined']:>5}"
              f"{c['failed']:>5}  |{r['write_calls']:>7}{r['association_calls']:>6}{r['optimum']:>6}"
              f"{r['page_optimum']:>5}  |{r['source_read_calls']:>7}{r['target_read_calls']:>7}{per_k:>7}  |"
              f"{r['seconds']:>7.2f}{_mib(r['tracemalloc_peak_bytes']):>9}")
    tot = {k: sum(r["records"][k] for r in f["pipelines"]) for k in ("read", "created", "updated",
                                                                      "quarantined", "failed")}
    src = sum(r["source_read_calls"] for r in f["pipelines"])
    tgt = sum(r["target_read_calls"] for r in f["pipelines"])
    print("-" * len(head))
    print(f"{'total':<33}{tot['read']:>6}{tot['created']:>6}{tot['updated']:>6}{tot['quarantined']:>5}"
          f"{tot['failed']:>5}  |{f['write_calls']:>7}{f['association_calls']:>6}{f['optimum']:>6}"
          f"{f['page_optimum']:>5}  |{src:>7}{tgt:>7}{1000 * (src + tgt) / max(1, tot['read']):>7.1f}  |"
          f"{f['wall_seconds']:>7.2f}")
    print(f"\nfirst sync: {f['records_read']:,} records read, {f['records_written']:,} written, in "
          f"{f['wall_seconds']:.1f} s wall clock = {f['records_per_second']:,.0f} records read/s; CPU: sync "
          f"process {f['sync_cpu_seconds']:.1f} s, emulators {f['emulator_cpu_seconds']:.1f} s")
    print(f"second run: {z['records_read']:,} records read (the echo of the first run's writes), "
          f"{z['read_calls']} read calls, {z['write_calls']} write calls, {z['wall_seconds']:.1f} s")
    traced = (f"tracemalloc peak {_mib(res['memory']['tracemalloc_peak_bytes'])} MiB (first run, traced again "
              "in a fresh world), " if res["tracemalloc"] else "tracemalloc off, ")
    print(f"sync process memory: {traced}ru_maxrss {res['memory']['ru_maxrss_kib'] / 1024:.1f} MiB "
          "(both runs, untraced); the emulators are not in it")
    for note in res["notes"]:
        print(f"note: {note}")
    guard = res["guard"]
    print(f"guard ({res['guard_bound']} optimum): " + ("ok" if guard["ok"] else "FAILED"))
    for v in guard["violations"]:
        print(f"  {v}")
    print(f"command: {res['command']}")


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
