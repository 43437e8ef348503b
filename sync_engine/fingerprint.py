"""Which mapping files a pipeline last ran with, so that editing a mapping re-checks what was synced.

A record whose source has not changed since its last sync is skipped: its shadow says so. That is
right until someone edits the mapping. A newly mapped field, or a changed value map, would then
never reach the records synced before the edit, and the edit would look broken. So each pipeline
remembers a hash of the mapping files it ran with (its two object files, and the stage map for
deals); when the hash differs, the next run reads from the start and plans every record against
what the target holds, writing only real differences.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import insert, select, update

from sync_engine.mapping import Mapping_
from sync_engine.store import Store, meta


def of(*maps: Mapping_) -> str:
    """A hash of the bytes of every file these mappings were loaded from."""
    paths = {m.path for m in maps} | {m.stages.path for m in maps if m.stages is not None}
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.encode() + b"\0")
        try:
            digest.update(Path(path).read_bytes())
        except OSError:  # a mapping built in memory (tests, `mappings diff`): its path names no file
            digest.update(b"-")
        digest.update(b"\0")
    return digest.hexdigest()


def _key(pipeline: str) -> str:  # the meta key column is short; pipeline names are not bounded
    return "mappings:" + hashlib.sha256(pipeline.encode()).hexdigest()[:40]


def changed(store: Store, pipeline: str, fingerprint: str) -> bool:
    """True when the pipeline ran before with other mapping files (never on its first run)."""
    with store.begin() as c:
        stored = c.execute(select(meta.c.value).where(meta.c.key == _key(pipeline))).scalar()
    return stored is not None and stored != fingerprint


def remember(store: Store, pipeline: str, fingerprint: str) -> None:
    """Record the files a run read to the end with; called only after such a run."""
    with store.begin() as c:
        done = c.execute(update(meta).where(meta.c.key == _key(pipeline)).values(value=fingerprint)).rowcount
        if not done:
            c.execute(insert(meta).values(key=_key(pipeline), value=fingerprint))
