"""Shared fixtures: the same store tests run on SQLite and on the local PostgreSQL."""
from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _postgres_up() -> str | None:
    """Start the machine's PostgreSQL if it is down; the reason it cannot run, or None."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    for attempt in range(2):
        try:
            psycopg.connect("host=127.0.0.1 port=5432 dbname=test user=postgres", connect_timeout=3).close()
            return None
        except psycopg.OperationalError as exc:
            if attempt:
                return f"PostgreSQL on 127.0.0.1:5432 is not reachable: {exc}"
            versions = list(Path("/etc/postgresql").glob("*"))
            if not versions:
                return "no PostgreSQL cluster on this machine (/etc/postgresql is empty)"
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[0].name, "main", "start"],
                           check=False, capture_output=True, timeout=60)
    return "unreachable"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
        return
    reason = _postgres_up()
    if reason:
        pytest.skip(f"POSTGRESQL TESTS SKIPPED: {reason}")
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:10]}"
    dsn = "host=127.0.0.1 port=5432 dbname=test user=postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")
