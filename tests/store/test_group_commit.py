"""Group commit: checkpoints of concurrent runs share one transaction (SQLite's writer thread,
PostgreSQL's pipeline), one run's conflict never fails its neighbours, and SQLite's WAL is
checkpointed off the commit path."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tether import UserError
from tether.events import RunStarted, TurnStarted
from tether.store import _writer as writer_module
from tether.store.postgres import PostgresStore
from tether.store.sqlite import SQLiteStore

from .conftest import drop_schema


def _size(path: Path) -> int:
    return path.stat().st_size


def _start(run_id: str, seq: int = 1) -> RunStarted:
    return RunStarted(run_id=run_id, seq=seq, at=1000.0, agent="bot", input=[])


def _turn(run_id: str, seq: int) -> TurnStarted:
    return TurnStarted(run_id=run_id, seq=seq, at=1000.0 + seq, turn=seq, agent="bot")


async def _hold_writer(store: SQLiteStore) -> tuple[threading.Event, asyncio.Future[None]]:
    """Keep the writer thread busy until the returned event is set (so appends pile up)."""
    release = threading.Event()
    held = asyncio.ensure_future(store.worker.call(lambda _conn: release.wait(10)))
    await asyncio.sleep(0.05)
    return release, held


async def test_concurrent_appends_commit_together(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "g.db")
    await store.list_runs()  # opened and migrated
    commits_before = store.worker._commits
    release, held = await _hold_writer(store)
    appends = [asyncio.ensure_future(store.append(f"r{i}", [_start(f"r{i}")])) for i in range(40)]
    await asyncio.sleep(0.05)
    assert not any(a.done() for a in appends)  # nothing answered before it is committed
    release.set()
    await held
    await asyncio.gather(*appends)
    # the held job, then the 40 appends in one transaction
    assert store.worker._commits - commits_before == 2
    assert len(await store.list_runs(limit=100)) == 40
    for i in range(40):
        assert [e.type for e in await store.load(f"r{i}")] == ["run_started"]
    await store.close()
    # and it is really on disk: a fresh connection sees all of it
    again = SQLiteStore(tmp_path / "g.db")
    assert len(await again.list_runs(limit=100)) == 40
    await again.close()


async def test_a_conflict_in_a_group_fails_only_its_run(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "c.db")
    await store.append("taken", [_start("taken")])
    release, held = await _hold_writer(store)
    before = asyncio.ensure_future(store.append("a", [_start("a")]))
    clash = asyncio.ensure_future(store.append("taken", [_start("taken")]))  # seq 1 again
    after = asyncio.ensure_future(store.append("b", [_start("b")]))
    await asyncio.sleep(0.05)
    release.set()
    await held
    await before
    await after
    with pytest.raises(UserError, match="already has an event at seq 1"):
        await clash
    assert [e.type for e in await store.load("a")] == ["run_started"]
    assert [e.type for e in await store.load("b")] == ["run_started"]
    assert len(await store.load("taken")) == 1
    await store.close()


async def test_reads_queued_behind_a_group_see_it(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "o.db")
    await store.append("r", [_start("r")])
    release, held = await _hold_writer(store)
    write = asyncio.ensure_future(store.append("r", [_turn("r", 2)]))
    read = asyncio.ensure_future(store.load("r"))  # a plain job after the group job
    write2 = asyncio.ensure_future(store.append("r", [_turn("r", 3)]))
    await asyncio.sleep(0.05)
    release.set()
    await asyncio.gather(held, write, write2)
    assert [e.seq for e in await read] == [1, 2]  # order kept: the read ran between them
    assert [e.seq for e in await store.load("r")] == [1, 2, 3]
    await store.close()


async def test_wal_is_checkpointed_in_the_background(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_module, "CHECKPOINT_EVERY", 32)
    monkeypatch.setattr(writer_module, "WAL_CHECKPOINT_BYTES", 0)
    path = tmp_path / "w.db"
    store = SQLiteStore(path)
    await store.list_runs()
    size_before = _size(path)
    for i in range(writer_module.CHECKPOINT_EVERY * 2):
        await store.append(f"r{i}", [_start(f"r{i}")])
    checkpointer = store.worker._checkpointer
    assert checkpointer is not None and checkpointer.failed is None
    for _ in range(200):  # the pass runs on its own thread
        if _size(path) > size_before:
            break
        await asyncio.sleep(0.02)
    # SQLite's own auto-checkpoint is off: only the checkpointer copies pages into the file
    assert _size(path) > size_before
    await store.close()
    assert not any(t.name == "tether-sqlite-checkpoint" for t in threading.enumerate())


async def test_wal_stays_bounded_when_writes_never_pause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A cap of 0 bytes: every round the writer checkpoints the WAL itself, so it restarts.
    monkeypatch.setattr(writer_module, "WAL_CAP_BYTES", 0)
    monkeypatch.setattr(writer_module, "CHECKPOINT_EVERY", 4)
    path = tmp_path / "b.db"
    store = SQLiteStore(path)
    await store.list_runs()
    for i in range(64):
        await store.append(f"r{i}", [_start(f"r{i}")])
    # The WAL file is as long as the most frames it held between two restarts; without
    # restarts, 64 commits of two pages or more would make it 128 frames or more.
    frames = (_size(Path(f"{path}-wal")) - 32) // (4096 + 24)
    assert 0 < frames < 100
    assert len(await store.list_runs(limit=100)) == 64
    await store.close()


async def test_a_failed_checkpointer_hands_back_to_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_module, "CHECKPOINT_EVERY", 32)
    monkeypatch.setattr(writer_module, "WAL_CHECKPOINT_BYTES", 0)
    store = SQLiteStore(tmp_path / "f.db")

    async def level() -> int:
        return int(
            await store.worker.call(
                lambda conn: conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
            )
        )

    assert await level() == 0  # the checkpointer's job
    for i in range(32):
        await store.append(f"r{i}", [_start(f"r{i}")])
    checkpointer = store.worker._checkpointer
    assert checkpointer is not None  # made when the first checkpoint was due
    checkpointer.failed = sqlite3.OperationalError("disk I/O error")
    for i in range(32, 64):
        await store.append(f"r{i}", [_start(f"r{i}")])
    assert await level() == 1000  # SQLite's own again
    assert len(await store.list_runs(limit=100)) == 64
    await store.close()


async def test_a_short_lived_store_starts_no_checkpointer(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    for i in range(10):
        await store.append(f"r{i}", [_start(f"r{i}")])
    assert store.worker._checkpointer is None
    await store.close()


# -- PostgreSQL: appends that find every connection busy go together, in one pipeline ----------


@pytest.fixture
async def pg_store(pg_url: str) -> AsyncIterator[PostgresStore]:
    schema = f"test_{uuid.uuid4().hex[:12]}"
    # one connection: an append under way makes the next ones wait and go together
    store = PostgresStore(pg_url, schema=schema, max_connections=1)
    yield store
    await store.close()
    await drop_schema(pg_url, schema)


@pytest.mark.postgres
async def test_postgres_concurrent_appends_commit_together(pg_store: PostgresStore) -> None:
    await pg_store.list_runs()
    groups: list[int] = []
    write_many = pg_store._group._write_many

    async def counted(appends: list[Any]) -> list[BaseException | None]:
        groups.append(len(appends))
        return await write_many(appends)

    pg_store._group._write_many = counted
    await asyncio.gather(*(pg_store.append(f"r{i}", [_start(f"r{i}")]) for i in range(40)))
    assert sum(groups) == 39 and len(groups) < 39  # the first went alone, the rest in groups
    assert len(await pg_store.list_runs(limit=100)) == 40
    for i in range(40):
        assert [e.type for e in await pg_store.load(f"r{i}")] == ["run_started"]


@pytest.mark.postgres
async def test_postgres_few_appends_in_flight_the_rest_grouped(pg_url: str) -> None:
    schema = f"test_{uuid.uuid4().hex[:12]}"
    store = PostgresStore(pg_url, schema=schema)  # 10 connections
    try:
        await store.list_runs()
        alone: list[str] = []
        write_one = store._group._write_one

        async def counted(append: Any) -> None:
            alone.append(append.run_id)
            await write_one(append)

        store._group._write_one = counted
        await asyncio.gather(*(store.append(f"r{i}", [_start(f"r{i}")]) for i in range(30)))
        # two write slots, not one per connection: the first two alone, the rest in groups
        assert len(alone) == 2
        assert len(await store.list_runs(limit=100)) == 30
    finally:
        await store.close()
        await drop_schema(pg_url, schema)


@pytest.mark.postgres
async def test_postgres_a_conflict_in_a_group_fails_only_its_run(pg_store: PostgresStore) -> None:
    await pg_store.append("taken", [_start("taken")])
    first = asyncio.ensure_future(pg_store.append("lead", [_start("lead")]))
    await asyncio.sleep(0)  # the lead's write is under way: the next ones wait and go together
    rest = [
        asyncio.ensure_future(pg_store.append(run_id, [_start(run_id)]))
        for run_id in ("a", "taken", "b")
    ]
    await first
    outcomes = await asyncio.gather(*rest, return_exceptions=True)
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], UserError) and "already has an event at seq 1" in str(
        outcomes[1]
    )
    for run_id in ("lead", "a", "b", "taken"):
        assert len(await pg_store.load(run_id)) == 1
