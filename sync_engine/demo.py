"""`revhub demo` (what `make demo` runs): sample data in both emulators, every pipeline, a summary.

It shows the main job end to end on a fresh machine with no credentials: the first run creates and
updates records in both systems, merges the seeded cross-system duplicates and quarantines the bad
records; the second run, right after, writes nothing.
"""
from __future__ import annotations

import os
import shutil
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from connectors import registry
from connectors.emulator import EmulatorServer
from sync_engine import sample_data
from sync_engine.app import default_config_path, open_app
from sync_engine.commands import exit_code, print_table
from sync_engine.errors import ConfigError


def emulator_for(system: str, state_dir: Path, **kwargs: Any) -> Any:
    """Build a system's emulator; one that serves TLS keeps its certificate in `state_dir`."""
    import inspect

    cls = registry.emulator_class(system)
    if "cert_dir" in inspect.signature(cls).parameters:
        kwargs["cert_dir"] = state_dir
    return cls(**kwargs)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_demo(config_path: str | None, scale: float = 1.0) -> int:
    path = Path(config_path) if config_path else default_config_path()
    base = path.resolve().parent
    work = base / ".revhub" / "demo"
    shutil.rmtree(work, ignore_errors=True)
    data = sample_data.generate(companies=max(10, int(300 * scale)), contacts=max(40, int(2400 * scale)),
                                opportunities=max(10, int(400 * scale)))
    seeds = sample_data.write_seeds(work / "seeds", data)
    os.environ["REVHUB_STORE_URL"] = f"sqlite:///{work / 'state.db'}"
    app = open_app(path)
    with ExitStack() as stack:
        servers = {}
        for system, sc in app.config.systems.items():
            port = int(sc.base_url.rsplit(":", 1)[1].split("/")[0])
            emu = emulator_for(sc.connector, base / ".revhub" / "emulator" / sc.connector)
            emu.seed_dir(seeds[sc.connector])
            try:
                server = EmulatorServer(emu, port).start()
            except OSError as exc:
                raise ConfigError(f"cannot start the {system} emulator on port {port}: {exc.strerror}",
                                  file=str(path), key=f"systems.{system}.base_url",
                                  hint="stop whatever uses that port, or change base_url") from None
            stack.callback(server.stop)
            servers[system] = server
            _say(f"{system} emulator listening on {server.url}, seeded from {seeds[sc.connector]}")
        stack.callback(app.close)
        print("== first run: sync every pipeline ==")
        first = app.sync(progress=_say)
        print_table(first)
        print("\n== second run, right after: nothing changed, so nothing is written ==")
        second = app.sync(progress=_say)
        print_table(second)
        writes = sum(c["write"] for r in second for c in r.calls.values())
        print(f"write calls in the second run: {writes}")
        open_failures = app.store.failures()
        by_code: dict[str, int] = {}
        for f in open_failures:
            by_code[f["code"]] = by_code.get(f["code"], 0) + 1
        print(f"\nquarantined or failed records kept in the failure log: {len(open_failures)} "
              + ", ".join(f"{code} {n}" for code, n in sorted(by_code.items())))
        for f in open_failures[:3]:
            print(f"  e.g. {f['pipeline']} {f['record_id']}: {f['message']}")
        print(f"inspect them with: REVHUB_STORE_URL={os.environ['REVHUB_STORE_URL']} revhub failures list")
    return max(exit_code(first), exit_code(second)) if writes == 0 else 1
