"""The one migration routine of both SQL stores (tether.store._schema)."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import psycopg
import pytest

from tether import UserError
from tether.store import open_store
from tether.store._schema import migrate_async, migrate_sqlite
from tether.store.errors import StoreError
from tether.store.sqlite import SQLiteStore

from .conftest import drop_schema
from .test_stores import a_run

V1 = {1: ("CREATE TABLE {p}widgets (id TEXT PRIMARY KEY)",)}
V2 = {**V1, 2: ("ALTER TABLE {p}widgets ADD COLUMN size INTEGER",)}
BROKEN = {**V1, 2: ("ALTER TABLE {p}widgets ADD COLUMN size INTEGER", "NOT SQL AT ALL")}


def _sqlite(migrations: dict[int, tuple[str, ...]]) -> dict[int, tuple[str, ...]]:
    return {v: tuple(s.replace("{p}", "") for s in steps) for v, steps in migrations.items()}


@pytest.mark.allow_blocking
def test_sqlite_steps_run_once_and_a_failed_step_leaves_nothing(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "w.db", isolation_level=None)
    assert migrate_sqlite(conn, "widgets", _sqlite(V1)) == 1
    assert migrate_sqlite(conn, "widgets", _sqlite(V1)) == 1
    with pytest.raises(sqlite3.OperationalError, match="syntax error"):
        migrate_sqlite(conn, "widgets", _sqlite(BROKEN))
    columns = [r[1] for r in conn.execute("PRAGMA table_info(widgets)")]
    assert columns == ["id"]  # step 2 rolled back whole
    assert not conn.in_transaction
    assert migrate_sqlite(conn, "widgets", _sqlite(V2)) == 2
    assert [r[1] for r in conn.execute("PRAGMA table_info(widgets)")] == ["id", "size"]
    assert conn.execute("SELECT version FROM tether_schema WHERE component = 'widgets'").fetchone()
    with pytest.raises(UserError, match=r"'widgets' schema v2, newer than .* \(v1\)"):
        migrate_sqlite(conn, "widgets", _sqlite(V1))
    conn.close()


@pytest.mark.postgres
async def test_postgres_runs_the_same_routine(pg_url: str) -> None:
    schema = f"test_{uuid.uuid4().hex[:12]}"
    prefix = f'"{schema}".'
    prelude = (f'CREATE SCHEMA IF NOT EXISTS "{schema}"',)
    try:
        async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
            assert await migrate_async(conn, "widgets", V1, prefix=prefix, prelude=prelude) == 1
            with pytest.raises(psycopg.errors.SyntaxError):
                await migrate_async(conn, "widgets", BROKEN, prefix=prefix, prelude=prelude)
            cur = await conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = 'widgets'",
                (schema,),
            )
            assert [r[0] for r in await cur.fetchall()] == ["id"]
            assert await migrate_async(conn, "widgets", V2, prefix=prefix, prelude=prelude) == 2
            with pytest.raises(UserError, match="'widgets' schema v2, newer"):
                await migrate_async(conn, "widgets", V1, prefix=prefix)
    finally:
        await drop_schema(pg_url, schema)


async def test_a_read_only_store_can_be_read_and_refuses_writes_clearly(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    writer = SQLiteStore(path)
    await writer.append("r1", a_run("r1"))
    await writer.close()
    reader = SQLiteStore(path, read_only=True)
    assert [r.run_id for r in await reader.list_runs()] == ["r1"]
    assert len(await reader.load("r1")) == 5
    with pytest.raises(StoreError, match=r"run 'r2': cannot checkpoint .*readonly"):
        await reader.append("r2", a_run("r2"))
    await reader.close()


async def test_open_store_reads_mode_ro(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/x.db?mode=ro")
    assert isinstance(store, SQLiteStore) and store.worker.read_only
    assert store.path == f"{tmp_path}/x.db"
