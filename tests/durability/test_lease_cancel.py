"""The marks on run leases: cancel requests (another process marks a run's lease, its holder
reads the mark at its heartbeat: the server's cancel of a run executing on another replica goes
this way) and the positions a holder may have streamed live (a takeover numbers after them)."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest
from store.conftest import _make, drop_schema

from tether.store import LeaseStore, MemoryStore
from tether.store.lease import acquire
from tether.store.postgres import PostgresStore
from tether.store.sqlite import SQLiteStore


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def leases(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LeaseStore]:
    async for made in _make(request.param, request, tmp_path):
        assert isinstance(made, LeaseStore)
        yield made


async def test_a_cancel_request_marks_the_held_lease_until_it_is_released(
    leases: LeaseStore,
) -> None:
    assert not await leases.request_cancel("r1", "stop")  # nobody holds it: nothing to mark
    assert await leases.get_lease("r1") is None
    assert await leases.acquire_lease("r1", "a", 30)
    held = await leases.get_lease("r1")
    assert held is not None and held.cancel_requested is None
    assert await leases.request_cancel("r1", "stop it")
    held = await leases.get_lease("r1")
    assert held is not None and held.owner == "a" and held.cancel_requested == "stop it"
    assert await leases.renew_lease("r1", "a", 30)  # a heartbeat keeps the mark
    assert await leases.acquire_lease("r1", "a", 30)
    held = await leases.get_lease("r1")
    assert held is not None and held.cancel_requested == "stop it"
    await leases.release_lease("r1", "a")  # the run stopped: the request goes with the lease
    assert await leases.acquire_lease("r1", "b", 30)
    held = await leases.get_lease("r1")
    assert held is not None and held.cancel_requested is None


async def test_a_dead_holders_mark_is_seen_by_the_process_taking_over(leases: LeaseStore) -> None:
    assert await leases.acquire_lease("dead", "a", 0.2)
    assert await leases.request_cancel("dead", "cancelled by the caller")
    await asyncio.sleep(0.35)
    [expired] = await leases.expired_leases()
    assert expired.run_id == "dead" and expired.cancel_requested == "cancelled by the caller"
    assert await leases.acquire_lease("dead", "b", 30)
    held = await leases.get_lease("dead")
    assert held is not None and held.owner == "b"
    assert held.cancel_requested == "cancelled by the caller"


async def test_the_reserved_positions_grow_only_and_stay_for_a_takeover(
    leases: LeaseStore,
) -> None:
    assert not await leases.reserve_seq("r", "a", 10)  # no lease: nothing to record
    assert await leases.acquire_lease("r", "a", 0.2)
    held = await leases.get_lease("r")
    assert held is not None and held.reserved_seq == 0
    assert await leases.reserve_seq("r", "a", 64)
    assert await leases.reserve_seq("r", "a", 10)  # lower: kept at 64
    assert not await leases.reserve_seq("r", "b", 500)  # not b's lease
    held = await leases.get_lease("r")
    assert held is not None and held.reserved_seq == 64
    await asyncio.sleep(0.35)
    [expired] = await leases.expired_leases()
    assert expired.reserved_seq == 64
    assert await leases.acquire_lease("r", "b", 30)  # taken over: b reads how far a streamed
    held = await leases.get_lease("r")
    assert held is not None and held.owner == "b" and held.reserved_seq == 64
    await leases.release_lease("r", "b")
    assert await leases.acquire_lease("r", "c", 30)
    held = await leases.get_lease("r")
    assert held is not None and held.reserved_seq == 0


async def test_the_heartbeat_tells_the_holder_once() -> None:
    store = MemoryStore()
    keeper = await acquire(store, "r", owner="me", ttl=0.3)
    told: list[str] = []
    keeper.on_cancel = told.append
    try:
        await asyncio.sleep(0.25)  # beats with no mark: nothing told
        assert told == []
        assert await store.request_cancel("r", "from elsewhere")
        for _ in range(100):
            if told:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # more beats: told once
        assert told == ["from elsewhere"]
    finally:
        await keeper.release()
    assert await store.get_lease("r") is None


async def _old_lease_is_markable(store: LeaseStore) -> None:
    held = await store.get_lease("old")
    assert held is not None and held.owner == "a" and held.cancel_requested is None
    assert held.reserved_seq == 0
    assert await store.request_cancel("old", "stop")
    assert await store.reserve_seq("old", "a", 7)
    held = await store.get_lease("old")
    assert held is not None and held.cancel_requested == "stop" and held.reserved_seq == 7


async def test_a_sqlite_lease_table_of_schema_v1_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:  # the tables as tether wrote them before the marks
        conn.execute(
            "CREATE TABLE tether_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
        )
        conn.execute(
            "CREATE TABLE tether_leases (run_id TEXT PRIMARY KEY, owner TEXT NOT NULL, "
            "expires_at REAL NOT NULL)"
        )
        conn.execute("INSERT INTO tether_schema VALUES ('leases', 1)")
        conn.execute("INSERT INTO tether_leases VALUES ('old', 'a', 4102444800.0)")
    store = SQLiteStore(path)
    try:
        await _old_lease_is_markable(store)
    finally:
        await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute(
            "SELECT version FROM tether_schema WHERE component = 'leases'"
        ).fetchone() == (3,)


@pytest.mark.postgres
async def test_a_postgres_lease_table_of_schema_v1_is_migrated(pg_url: str) -> None:
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(
            f'CREATE TABLE "{schema}".tether_schema '
            "(component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
        )
        conn.execute(
            f'CREATE TABLE "{schema}".tether_leases (run_id TEXT PRIMARY KEY, '
            "owner TEXT NOT NULL, expires_at DOUBLE PRECISION NOT NULL)"
        )
        conn.execute(f"INSERT INTO \"{schema}\".tether_schema VALUES ('leases', 1)")
        conn.execute(f"INSERT INTO \"{schema}\".tether_leases VALUES ('old', 'a', 4102444800)")
    store = PostgresStore(pg_url, schema=schema)
    try:
        await _old_lease_is_markable(store)
        with psycopg.connect(pg_url, autocommit=True) as conn:
            row = conn.execute(
                f"SELECT version FROM \"{schema}\".tether_schema WHERE component = 'leases'"
            ).fetchone()
        assert row == (3,)
    finally:
        await store.close()
        await drop_schema(pg_url, schema)
