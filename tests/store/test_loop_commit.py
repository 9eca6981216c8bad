"""SQLite appends committed on the event loop: only when the commit syncs and waits for nothing;
otherwise (another process holds the write lock, synchronous=FULL, a WAL restart due) on the
writer thread, as before. Each is answered only once committed."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from tether.events import RunStarted, TurnStarted
from tether.store import _writer as writer_module
from tether.store.sqlite import SQLiteStore


def _size(path: Path) -> int:
    return path.stat().st_size


def _start(run_id: str) -> RunStarted:
    return RunStarted(run_id=run_id, seq=1, at=1000.0, agent="bot", input=[])


def _turn(run_id: str, seq: int) -> TurnStarted:
    return TurnStarted(run_id=run_id, seq=seq, at=1000.0 + seq, turn=seq, agent="bot")


async def test_appends_one_at_a_time_commit_on_the_loop(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "l.db")
    await store.append("r", [_start("r")])  # the first use opens the file on the thread
    before = store.worker.loop_commits
    for seq in range(2, 12):
        await store.append("r", [_turn("r", seq)])
    assert store.worker.loop_commits - before == 10
    await store.close()
    # committed for real: another connection sees every event
    conn = sqlite3.connect(tmp_path / "l.db")
    assert conn.execute("SELECT count(*) FROM tether_events").fetchone()[0] == 11
    conn.close()


async def test_appends_made_together_go_to_the_thread_as_one_group(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "t.db")
    await store.list_runs()
    await store.append("seed", [_start("seed")])
    commits, on_loop = store.worker._commits, store.worker.loop_commits
    await asyncio.gather(*(store.append(f"r{i}", [_start(f"r{i}")]) for i in range(20)))
    # the first at once on the loop, the 19 made after it in the same pass together
    assert store.worker._commits - commits == 2
    assert store.worker.loop_commits - on_loop == 1
    assert len(await store.list_runs(limit=100)) == 21
    await store.close()


async def test_a_conflict_on_the_loop_is_the_runs_error_and_nothing_else(tmp_path: Path) -> None:
    from tether import UserError

    store = SQLiteStore(tmp_path / "c.db")
    await store.append("taken", [_start("taken")])
    await store.append("taken", [_turn("taken", 2)])
    on_loop = store.worker.loop_commits
    with pytest.raises(UserError, match="already has an event at seq 2"):
        await store.append("taken", [_turn("taken", 2)])  # seq 2 again
    assert store.worker.loop_commits == on_loop  # rolled back, nothing committed
    await store.append("taken", [_turn("taken", 3)])  # the connection is fine
    assert [e.seq for e in await store.load("taken")] == [1, 2, 3]
    await store.close()


async def test_a_write_lock_held_elsewhere_never_blocks_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    store = SQLiteStore(path)
    await store.append("r", [_start("r")])
    held, release = threading.Event(), threading.Event()

    def other_process() -> None:  # another connection takes the write lock and keeps it
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        held.set()
        release.wait(10)
        conn.execute("COMMIT")
        conn.close()

    other = threading.Thread(target=other_process)
    other.start()
    assert await asyncio.to_thread(held.wait, 10)
    before = store.worker.loop_commits
    append = asyncio.ensure_future(store.append("r", [_turn("r", 2)]))
    started = time.perf_counter()
    ticks = 0
    while time.perf_counter() - started < 0.3:  # the loop keeps running meanwhile
        await asyncio.sleep(0.01)
        ticks += 1
    assert ticks >= 10
    assert not append.done()  # waiting for the lock, on the writer thread
    release.set()
    await append
    await asyncio.to_thread(other.join)
    assert store.worker.loop_commits == before
    assert [e.seq for e in await store.load("r")] == [1, 2]
    await store.close()


async def test_full_synchronous_commits_stay_on_the_thread(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "f.db", synchronous="FULL")
    for i in range(5):
        await store.append(f"r{i}", [_start(f"r{i}")])
    assert store.worker.loop_commits == 0
    assert len(await store.list_runs()) == 5
    await store.close()


async def test_the_commit_after_a_wal_checkpoint_goes_to_the_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every commit asks for a background pass; the one after a pass may restart the WAL,
    # which syncs its header: never on the loop
    monkeypatch.setattr(writer_module, "CHECKPOINT_EVERY", 1)
    monkeypatch.setattr(writer_module, "WAL_CHECKPOINT_BYTES", 0)
    store = SQLiteStore(tmp_path / "p.db")
    await store.append("r", [_start("r")])
    worker = store.worker
    checkpointer = worker._checkpointer
    assert checkpointer is not None
    for _ in range(500):  # the pass runs on its own thread
        if checkpointer.done and checkpointer.done == checkpointer.started:
            break
        await asyncio.sleep(0.01)
    assert checkpointer.done >= 1
    assert not worker._on_loop_now()
    before = worker.loop_commits
    await store.append("r", [_turn("r", 2)])
    assert worker.loop_commits == before  # committed on the thread
    assert [e.seq for e in await store.load("r")] == [1, 2]
    await store.close()


async def test_the_writers_own_wal_checkpoint_and_restart_stay_on_the_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a cap of 0 bytes, looked at after every commit: the writer checkpoints the WAL before
    # each write, and that write restarts it (a header sync): none of them on the loop
    monkeypatch.setattr(writer_module, "WAL_CAP_BYTES", 0)
    monkeypatch.setattr(writer_module, "CHECKPOINT_EVERY", 1)
    path = tmp_path / "c.db"
    store = SQLiteStore(path)
    for i in range(20):
        await store.append(f"r{i}", [_start(f"r{i}")])
    assert store.worker.loop_commits == 0
    frames = (_size(Path(f"{path}-wal")) - 32) // (4096 + 24)
    assert 0 < frames < 20  # restarted again and again, not 20 commits long
    assert len(await store.list_runs(limit=100)) == 20
    await store.close()


async def test_runs_checkpointing_together_keep_to_one_group_per_pass(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "g.db")
    await store.append("seed", [_start("seed")])
    worker = store.worker
    await asyncio.gather(*(store.append(f"a{i}", [_start(f"a{i}")]) for i in range(10)))
    commits, on_loop = worker._commits, worker.loop_commits
    # the last group had several: the next wave is one group, none of it alone on the loop
    await asyncio.gather(*(store.append(f"b{i}", [_start(f"b{i}")]) for i in range(10)))
    assert (worker._commits - commits, worker.loop_commits - on_loop) == (1, 0)
    # one run at a time again: back on the loop
    for i in range(3):
        await store.append(f"c{i}", [_start(f"c{i}")])
    assert worker.loop_commits - on_loop == 3
    assert len(await store.list_runs(limit=100)) == 24
    await store.close()


async def _passes_settled(worker: object, at_least: int) -> None:
    for _ in range(500):  # the pass runs on its own thread
        checkpointer = worker._checkpointer  # type: ignore[attr-defined]
        if checkpointer is not None and checkpointer.done == checkpointer.started >= at_least:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the background WAL pass did not end")


def _reader(path: Path) -> sqlite3.Connection:
    """A connection holding a read snapshot of the WAL as it is (not yet copied back)."""
    reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM tether_events").fetchone()
    return reader


async def test_a_pass_that_left_frames_uncopied_keeps_commits_on_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a reader holding an older snapshot stops the pass short of the WAL's end: the WAL cannot
    # restart at the next commit, so that commit syncs nothing and stays on the loop
    monkeypatch.setattr(writer_module, "CHECKPOINT_EVERY", 1)
    monkeypatch.setattr(writer_module, "WAL_CHECKPOINT_BYTES", 1 << 40)
    path = tmp_path / "u.db"
    store = SQLiteStore(path)
    await store.append("r", [_start("r")])
    await store.append("r", [_turn("r", 2)])
    reader = _reader(path)
    try:
        monkeypatch.setattr(writer_module, "WAL_CHECKPOINT_BYTES", 0)
        await store.append("r", [_turn("r", 3)])  # asks for a pass
        worker = store.worker
        await _passes_settled(worker, 1)
        checkpointer = worker._checkpointer
        assert checkpointer is not None and not checkpointer.complete
        assert checkpointer.done != worker._restarted  # the thread did not commit since
        assert worker._on_loop_now()
        before = worker.loop_commits
        await store.append("r", [_turn("r", 4)])
        assert worker.loop_commits == before + 1
    finally:
        reader.execute("COMMIT")
        reader.close()
    assert [e.seq for e in await store.load("r")] == [1, 2, 3, 4]
    await store.close()


async def test_a_background_pass_is_asked_for_once_per_step_of_wal_growth(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    step = 64 << 10
    monkeypatch.setattr(writer_module, "CHECKPOINT_EVERY", 1)
    monkeypatch.setattr(writer_module, "WAL_CHECKPOINT_BYTES", 1 << 40)
    path = tmp_path / "g.db"
    store = SQLiteStore(path)
    await store.append("r", [_start("r")])
    reader = _reader(path)  # the WAL cannot restart while it reads
    try:
        monkeypatch.setattr(writer_module, "WAL_CHECKPOINT_BYTES", step)
        for seq in range(2, 102):
            await store.append("r", [_turn("r", seq)])
        size = _size(Path(f"{path}-wal"))
        checkpointer = store.worker._checkpointer
        assert size > 3 * step  # several steps of growth in 100 commits
        assert checkpointer is not None and 1 <= checkpointer.started <= size // step
    finally:
        reader.execute("COMMIT")
        reader.close()
    await store.close()


async def test_a_batch_colliding_in_its_middle_stores_none_of_it(tmp_path: Path) -> None:
    from tether import UserError

    path = tmp_path / "m.db"
    store, other = SQLiteStore(path), SQLiteStore(path)
    await store.append("r", [_start("r")])
    await other.append("r", [_turn("r", 3)])  # another process took seq 3
    with pytest.raises(UserError, match="already has an event at seq 2"):
        await store.append("r", [_turn("r", seq) for seq in (2, 3, 4)])  # one statement
    assert [e.seq for e in await store.load("r")] == [1, 3]  # nothing of the batch
    await store.append("r", [_turn("r", seq) for seq in (4, 5, 6)])
    assert [e.seq for e in await store.load("r")] == [1, 3, 4, 5, 6]
    await other.close()
    await store.close()
