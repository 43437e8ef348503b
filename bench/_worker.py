"""The sync process of `bench.sync_bench`: runs pipelines on request, so its memory is the sync's alone.

Spawned (a fresh interpreter, not a fork), so neither the emulators nor the seed data of the parent
are in its heap or its RSS. It opens the app the way `revhub sync` does and runs one pipeline per
request, answering with the run report, the seconds (wall and CPU) it took, the tracemalloc peak during it and the
creates/updates handed to each `Connector.write` call (to compute the per-page optimum).
"""
from __future__ import annotations

import os
import resource
import time
import tracemalloc
from multiprocessing.connection import Connection
from typing import Any


def serve(conn: Connection, config_path: str, store_url: str, trace: bool) -> None:
    os.environ["REVHUB_STORE_URL"] = store_url
    from sync_engine.app import open_app

    app = open_app(config_path)
    write_calls: list[dict[str, Any]] = []
    for system, connector in app.connectors.items():
        _count_writes(system, connector, write_calls)
    if trace:
        tracemalloc.start()
    conn.send({"pipelines": app.pipeline_names(None)})
    try:
        while True:
            message = conn.recv()
            if message[0] == "stop":
                break
            name = message[1]
            write_calls.clear()
            if trace:
                tracemalloc.reset_peak()
            start, cpu = time.perf_counter(), time.process_time()
            (report,) = app.sync([name])
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            peak = tracemalloc.get_traced_memory()[1] if trace else None
            conn.send({"report": report.as_json(), "seconds": seconds, "cpu_seconds": cpu,
                       "tracemalloc_peak": peak,
                       "write_calls": list(write_calls)})
    finally:
        app.close()
        conn.send({"ru_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss})


def _count_writes(system: str, connector: Any, log: list[dict[str, Any]]) -> None:
    """Wrap one connector's `write` to record what each call was asked to create and update."""
    inner = connector.write

    def write(object: str, ops: Any) -> Any:
        log.append({"system": system, "object": object, "creates": sum(op.id is None for op in ops),
                    "updates": sum(op.id is not None for op in ops)})
        return inner(object, ops)

    connector.write = write
