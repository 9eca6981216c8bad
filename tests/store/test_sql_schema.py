"""What is particular to the SQL stores: files, WAL, schema versions, URLs, concurrency."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from pathlib import Path

import psycopg
import pytest

from tether import Agent, Runner, UserError
from tether.models import FakeModel
from tether.store import open_store
from tether.store.errors import StoreError
from tether.store.postgres import PostgresStore
from tether.store.sqlite import SQLiteStore

from .conftest import drop_schema
from .test_stores import a_run


async def test_sqlite_default_path_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("sqlite://")
    assert isinstance(store, SQLiteStore) and store.path == ".tether/tether.db"
    await store.append("r1", a_run("r1"))
    await store.close()
    assert (tmp_path / ".tether" / "tether.db").is_file()


@pytest.mark.allow_blocking
def test_sqlite_file_is_wal_and_versioned(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "runs.db"
    store = open_store(f"sqlite:///{path}")
    asyncio.run(store.append("r1", a_run("r1")))
    asyncio.run(store.close())
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT component, version FROM tether_schema").fetchall() == [("store", 1)]
    assert conn.execute("SELECT count(*) FROM tether_events").fetchone()[0] == 5
    conn.close()


@pytest.mark.allow_blocking
def test_sqlite_from_a_newer_tether_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE tether_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
    )
    conn.execute("INSERT INTO tether_schema VALUES ('store', 99)")
    conn.commit()
    conn.close()
    with pytest.raises(UserError, match=r"schema v99, newer than .* upgrade tether"):
        asyncio.run(SQLiteStore(path).load("r1"))


def test_sqlite_rejects_a_bad_synchronous_mode() -> None:
    with pytest.raises(UserError, match="synchronous must be"):
        SQLiteStore("x.db", synchronous="sometimes")


async def test_sqlite_stores_in_two_places_share_the_file(tmp_path: Path) -> None:
    one, two = SQLiteStore(tmp_path / "s.db"), SQLiteStore(tmp_path / "s.db")
    await one.append("r1", a_run("r1")[:2])
    await two.append("r1", a_run("r1")[2:])
    assert len(await one.load("r1")) == 5
    with pytest.raises(UserError, match="another process"):
        await one.append("r1", a_run("r1")[4:])
    await one.close()
    await two.close()


@pytest.mark.allow_blocking
def test_a_store_serves_several_event_loops(tmp_path: Path, pg_url: str) -> None:
    # run_sync opens a new event loop per call: the stores must outlive each of them.
    schema = f"test_{uuid.uuid4().hex[:12]}"
    for store in (SQLiteStore(tmp_path / "s.db"), PostgresStore(pg_url, schema=schema)):
        runner = Runner(store=store)
        model = FakeModel().add_response("one").add_response("two")
        agent = Agent("bot", model=model)
        first = runner.run_sync(agent, "a")
        second = runner.run_sync(agent, "b")
        assert (first.output, second.output) == ("one", "two")
        assert asyncio.run(store.run_info(second.run_id)) is not None
        asyncio.run(store.close())
    asyncio.run(drop_schema(pg_url, schema))


@pytest.mark.postgres
async def test_postgres_schema_is_created_once_by_racing_processes(pg_url: str) -> None:
    schema = f"test_{uuid.uuid4().hex[:12]}"
    stores = [PostgresStore(pg_url, schema=schema) for _ in range(4)]
    try:
        await asyncio.gather(*(s.append(f"r{i}", a_run(f"r{i}")) for i, s in enumerate(stores)))
        assert len(await stores[0].list_runs()) == 4
        async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
            cur = await conn.execute(f'SELECT component, version FROM "{schema}".tether_schema')
            assert await cur.fetchall() == [("store", 1)]
    finally:
        for s in stores:
            await s.close()
        await drop_schema(pg_url, schema)


@pytest.mark.postgres
async def test_postgres_from_a_newer_tether_is_refused(pg_url: str) -> None:
    schema = f"test_{uuid.uuid4().hex[:12]}"
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
        await conn.execute(
            f'CREATE TABLE "{schema}".tether_schema (component TEXT PRIMARY KEY, version INT)'
        )
        await conn.execute(f"INSERT INTO \"{schema}\".tether_schema VALUES ('store', 7)")
    store = PostgresStore(pg_url, schema=schema)
    try:
        with pytest.raises(UserError, match="schema v7, newer"):
            await store.load("r1")
    finally:
        await store.close()
        await drop_schema(pg_url, schema)


@pytest.mark.postgres
async def test_postgres_unreachable_is_a_clear_error() -> None:
    store = PostgresStore("postgresql://nobody:secret@127.0.0.1:1/none", reconnect_for=0.2)
    with pytest.raises(
        StoreError,
        match=r"cannot connect to PostgreSQL at postgresql://nobody:\*\*\*@.*retried for 0.2 s",
    ) as caught:
        await store.load("r1")
    assert "secret" not in str(caught.value)
    await store.close()


def test_postgres_max_connections_must_be_positive() -> None:
    with pytest.raises(UserError, match="max_connections"):
        PostgresStore("postgresql://x@127.0.0.1/db", max_connections=0)


@pytest.mark.postgres
async def test_postgres_bounds_its_connections(pg_url: str) -> None:
    schema = f"test_{uuid.uuid4().hex[:12]}"
    store = PostgresStore(pg_url, schema=schema, max_connections=2)
    try:
        await asyncio.gather(*(store.append(f"r{i}", a_run(f"r{i}")) for i in range(10)))
        assert len(store._pool._idle) <= 2
        assert len(await store.list_runs()) == 10
    finally:
        await store.close()
        await drop_schema(pg_url, schema)


def test_unknown_store_url_names_the_choices() -> None:
    with pytest.raises(UserError, match="memory://"):
        open_store("redis://x")


async def test_sqlite_setup_hooks_must_come_first(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    await store.load("r1")
    with pytest.raises(UserError, match="before the database is first used"):
        store.worker.add_setup(lambda conn: None)
    await store.close()


async def test_sqlite_errors_and_cancellations_reach_the_caller_only(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")

    def boom(conn: sqlite3.Connection) -> None:
        raise KeyError("inside the store thread")

    with pytest.raises(KeyError, match="inside the store thread"):
        await store.worker.call(boom)
    task = asyncio.ensure_future(store.append("r1", a_run("r1")))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # the thread goes on serving; the cancelled append either happened whole or not at all
    assert len(await store.load("r1")) in (0, 5)
    await store.append("r2", a_run("r2"))
    assert len(await store.load("r2")) == 5
    await store.close()


@pytest.mark.postgres
async def test_postgres_recovers_from_dropped_idle_connections(pg_url: str) -> None:
    schema = f"test_{uuid.uuid4().hex[:12]}"
    store = PostgresStore(pg_url, schema=schema)
    try:
        await store.append("r1", a_run("r1")[:2])
        # The server drops the store's idle connection (a restart, an idle timeout...).
        async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as admin:
            cur = await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND state = 'idle' AND query LIKE %s",
                (f'%"{schema}"%',),
            )
            assert [row[0] for row in await cur.fetchall()] == [True]
        await store.append("r1", a_run("r1")[2:])
        assert len(await store.load("r1")) == 5
    finally:
        await store.close()
        await drop_schema(pg_url, schema)
