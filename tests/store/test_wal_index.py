"""The wal-index reader: whether a write transaction just opened may start the WAL over (the
one sync of a commit in WAL mode with synchronous=NORMAL), read from SQLite's own ``-shm``."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tether.store._walindex import WalIndex


def _wal_db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    assert conn.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE t (x)")
    return conn


def _continues(conn: sqlite3.Connection, index: WalIndex) -> bool:
    """Open a write transaction, ask, roll back."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        return index.continues()
    finally:
        conn.execute("ROLLBACK")


def test_frames_not_yet_copied_mean_the_wal_goes_on(tmp_path: Path) -> None:
    conn = _wal_db(tmp_path / "a.db")
    conn.execute("INSERT INTO t VALUES (1)")
    index = WalIndex.open(str(tmp_path / "a.db"))
    assert index is not None
    assert _continues(conn, index)
    index.close()
    conn.close()


def test_a_wal_copied_back_whole_may_restart_and_the_next_commit_restarts_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "b.db"
    conn = _wal_db(path)
    for n in range(5):
        conn.execute("INSERT INTO t VALUES (?)", (n,))
    index = WalIndex.open(str(path))
    assert index is not None
    other = sqlite3.connect(path, isolation_level=None)
    busy, frames, copied = other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert busy == 0 and frames == copied > 1
    assert not _continues(conn, index)  # every frame copied: the next write starts over
    conn.execute("INSERT INTO t VALUES (9)")  # it did: one frame in a new WAL
    assert _continues(conn, index)
    assert other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1] < frames
    other.close()
    index.close()
    conn.close()


def test_a_pass_that_could_not_copy_everything_leaves_the_wal_going_on(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    conn = _wal_db(path)
    conn.execute("INSERT INTO t VALUES (1)")
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM t").fetchone()  # a snapshot of the WAL as it is
    conn.execute("INSERT INTO t VALUES (2)")
    index = WalIndex.open(str(path))
    assert index is not None
    _, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert copied < frames  # the reader's snapshot stopped it short
    assert _continues(conn, index)
    reader.execute("COMMIT")
    reader.close()
    index.close()
    conn.close()


def test_no_wal_index_to_read(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "d.db")
    conn.execute("CREATE TABLE t (x)")  # a rollback journal: no -shm file
    assert WalIndex.open(str(tmp_path / "d.db")) is None
    conn.close()
