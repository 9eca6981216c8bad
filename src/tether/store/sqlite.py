"""SQLiteStore: the default store, one file (``.tether/tether.db``), WAL mode, off the event loop.

SQLite work runs on one dedicated thread per store, so the event loop never waits for the disk;
the appends made together are committed in one transaction on the loop itself when that syncs
and waits for nothing (see :mod:`tether.store._worker`). Each append is one transaction (or
part of one): a crash (even SIGKILL mid-write) leaves either the whole step or none of it. With
WAL and ``synchronous=NORMAL`` (the default) a committed step survives the process dying
(SIGKILL, a crash, OOM), not a power cut or an OS crash; pass ``synchronous="FULL"`` to also
survive those, at the cost of an fsync per commit (and those commits stay on the thread).

The schema is created and migrated by tether: table ``tether_schema`` holds the version of
each component using the file (the run store, the memory), and :data:`MIGRATIONS` the steps.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ..events import Event
from ..messages import Message
from ._effects import SQLiteEffects
from ._rows import (
    RunPayloads,
    RunUpdate,
    check_order,
    conflict,
    decode_events,
    decode_messages,
    encode_events,
    encode_messages,
)
from ._schema import Migrations, migrate_sqlite
from ._worker import SQLiteWorker
from .base import Lease, RunInfo
from .errors import StoreError

__all__ = ["MIGRATIONS", "SQLiteStore", "SQLiteWorker"]

T = TypeVar("T")
DEFAULT_PATH = ".tether/tether.db"

#: Schema steps of the run store, by version; version N is reached by running steps 1..N.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE tether_runs (
            run_id TEXT PRIMARY KEY, agent TEXT NOT NULL, status TEXT NOT NULL,
            thread_id TEXT, parent_run_id TEXT, started_at REAL NOT NULL,
            updated_at REAL NOT NULL, last_seq INTEGER NOT NULL)""",
        "CREATE INDEX tether_runs_by_update ON tether_runs (updated_at)",
        """CREATE TABLE tether_events (
            run_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL,
            PRIMARY KEY (run_id, seq)) WITHOUT ROWID""",
        """CREATE TABLE tether_threads (
            thread_id TEXT PRIMARY KEY, messages TEXT NOT NULL, updated_at REAL NOT NULL)""",
    ),
}


#: Schema steps of the run leases (component ``leases``), made on the first lease operation.
LEASE_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE tether_leases (
            run_id TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at REAL NOT NULL)""",
        "CREATE INDEX tether_leases_by_expiry ON tether_leases (expires_at)",
    ),
    # a cancel request for the holder (the reason), read at its heartbeat
    2: ("ALTER TABLE tether_leases ADD COLUMN cancel_requested TEXT",),
    # the positions the holder may have streamed live (a takeover numbers its events after)
    3: ("ALTER TABLE tether_leases ADD COLUMN reserved_seq INTEGER NOT NULL DEFAULT 0",),
}


def migrate(conn: sqlite3.Connection, component: str, migrations: Migrations) -> int:
    """Bring ``component``'s tables to the newest version, in one transaction; returns it
    (see :mod:`tether.store._schema`: a file already up to date is only read)."""
    return migrate_sqlite(conn, component, migrations)


def _store_setup(conn: sqlite3.Connection) -> None:
    migrate(conn, "store", MIGRATIONS)


def _row_info(row: Sequence[Any]) -> RunInfo:
    return RunInfo(row[0], row[1], row[2], row[3], row[5], row[6], row[4])


_INFO_COLUMNS = "run_id, agent, status, thread_id, parent_run_id, started_at, updated_at"


class SQLiteStore(SQLiteEffects):
    """Run logs and threads in one SQLite file (WAL), safe for several processes at once.

    ``path`` defaults to ``.tether/tether.db`` (the folder is created). See the module notes
    for ``synchronous``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = DEFAULT_PATH,
        *,
        synchronous: str = "NORMAL",
        read_only: bool = False,
    ) -> None:
        self.worker: SQLiteWorker = SQLiteWorker(
            path, synchronous=synchronous, setup=_store_setup, read_only=read_only
        )
        self._leases_ready = False
        self._payloads = RunPayloads()

    @property
    def path(self) -> str:
        """The database file."""
        return self.worker.path

    async def append(self, run_id: str, events: Sequence[Event]) -> None:
        """Store the events and update the run's row, in one transaction."""
        if not events:
            return
        check_order(run_id, events)
        payloads = self._payloads
        try:
            rows = encode_events(events, payloads.for_append(run_id, events))
        except BaseException:
            payloads.failed(run_id)
            raise
        try:
            await self.worker.write(_append, run_id, rows, RunUpdate.of(run_id, events))
        except BaseException as exc:
            payloads.failed(run_id)
            if not isinstance(exc, sqlite3.Error):
                raise
            raise StoreError(
                f"run {run_id!r}: cannot checkpoint to SQLite file {self.path}: {exc}",
                run_id=run_id,
                seq=rows[0][0],
            ) from exc
        payloads.appended(run_id, events)

    async def load(self, run_id: str) -> list[Event]:
        """The run's events in order."""
        return decode_events(await self.worker.call(_load, run_id), run_id)

    async def run_info(self, run_id: str) -> RunInfo | None:
        """The run's row, or None."""
        return await self.worker.call(_run_info, run_id)

    async def list_runs(
        self, *, limit: int = 100, status: str | None = None, agent: str | None = None
    ) -> list[RunInfo]:
        """Runs, most recently updated first."""
        return await self.worker.call(_list_runs, limit, status, agent)

    async def load_thread(self, thread_id: str) -> list[Message]:
        """The thread's messages ([] when unknown)."""
        data = await self.worker.call(_load_thread, thread_id)
        return decode_messages(data) if data is not None else []

    async def save_thread(self, thread_id: str, messages: Sequence[Message]) -> None:
        """Replace the thread's messages."""
        await self.worker.call(_save_thread, thread_id, encode_messages(messages), time.time())

    async def delete_run(self, run_id: str) -> bool:
        """Delete a run's row, its event log and its effect ledger rows (retention); True when
        there was a run."""
        await self.forget_effects(run_id)
        return bool(await self.worker.call(_delete_run, run_id))

    async def _lease(self, fn: Callable[..., T], *args: Any) -> T:
        if not self._leases_ready:
            await self.worker.call(migrate, "leases", LEASE_MIGRATIONS)
            self._leases_ready = True
        return await self.worker.call(fn, *args)

    async def acquire_lease(self, run_id: str, owner: str, ttl: float) -> bool:
        """Take the run's lease when it is free, expired or already ours (one statement)."""
        return await self._lease(_acquire_lease, run_id, owner, ttl, time.time())

    async def renew_lease(self, run_id: str, owner: str, ttl: float) -> bool:
        """Extend our lease; False when it is not ours any more."""
        return await self._lease(_renew_lease, run_id, owner, time.time() + ttl)

    async def release_lease(self, run_id: str, owner: str) -> None:
        """Drop our lease."""
        await self._lease(_release_lease, run_id, owner)

    async def get_lease(self, run_id: str) -> Lease | None:
        """The run's lease, or None."""
        return await self._lease(_get_lease, run_id)

    async def expired_leases(self, *, limit: int = 100) -> list[Lease]:
        """Leases past their expiry, oldest first."""
        return await self._lease(_expired_leases, time.time(), limit)

    async def request_cancel(self, run_id: str, reason: str) -> bool:
        """Mark the run's lease for its holder to cancel the run; False when none is held."""
        return await self._lease(_request_cancel, run_id, reason)

    async def reserve_seq(self, run_id: str, owner: str, seq: int) -> bool:
        """Raise our lease's reserved position to ``seq``; False when the lease is not ours."""
        return await self._lease(_reserve_seq, run_id, owner, seq)

    async def close(self) -> None:
        """Close the file (it is reopened if the store is used again)."""
        await self.worker.close()


# -- the functions below run on the store's thread --------------------------------------------


def _append(
    conn: sqlite3.Connection, run_id: str, rows: list[tuple[int, str, str]], update: RunUpdate
) -> None:
    """The run's events and row, inside the (group) transaction the writer opened."""
    try:
        count = len(rows)
        if count == 1:  # most checkpoints: one statement, no list of parameter tuples
            conn.execute(_INSERT_EVENT, (run_id, *rows[0]))
        elif count <= _MULTI_ROWS:
            # one statement for all of them: executemany steps (and releases the GIL, which
            # the exporters' threads then hold for a while) once per row
            conn.execute(_insert_events(count), [v for row in rows for v in (run_id, *row)])
        else:
            conn.executemany(_INSERT_EVENT, [(run_id, seq, kind, data) for seq, kind, data in rows])
        new = update.new
        if new is not None:
            conn.execute(
                _INSERT_RUN,
                (
                    run_id,
                    new.agent,
                    new.status,
                    new.thread_id,
                    new.parent_run_id,
                    new.started_at,
                    new.updated_at,
                    update.last_seq,
                ),
            )
        else:
            conn.execute(_UPDATE_RUN, (update.status, update.updated_at, update.last_seq, run_id))
    except sqlite3.IntegrityError:
        raise conflict(run_id, rows[0][0]) from None


# The same text every time: sqlite3 keeps each statement prepared in its cache.
_INSERT_EVENT = "INSERT INTO tether_events (run_id, seq, type, data) VALUES (?, ?, ?, ?)"
#: Most events one statement inserts (a checkpoint holds a few; sqlite3 caches 128 statements).
_MULTI_ROWS = 32


@functools.cache
def _insert_events(count: int) -> str:
    """The INSERT of ``count`` events in one statement."""
    return _INSERT_EVENT + ", (?, ?, ?, ?)" * (count - 1)


_INSERT_RUN = (
    "INSERT INTO tether_runs (run_id, agent, status, thread_id, parent_run_id, "
    "started_at, updated_at, last_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_UPDATE_RUN = (
    "UPDATE tether_runs SET status = COALESCE(?, status), updated_at = ?, last_seq = ? "
    "WHERE run_id = ?"
)


def _load(conn: sqlite3.Connection, run_id: str) -> list[tuple[int, str]]:
    cursor = conn.execute(
        "SELECT seq, data FROM tether_events WHERE run_id = ? ORDER BY seq", (run_id,)
    )
    return cursor.fetchall()


def _run_info(conn: sqlite3.Connection, run_id: str) -> RunInfo | None:
    row = conn.execute(
        f"SELECT {_INFO_COLUMNS} FROM tether_runs WHERE run_id = ?", (run_id,)
    ).fetchone()
    return _row_info(row) if row else None


def _list_runs(
    conn: sqlite3.Connection, limit: int, status: str | None, agent: str | None
) -> list[RunInfo]:
    where, params = [], []
    if status is not None:
        where.append("status = ?")
        params.append(status)
    if agent is not None:
        where.append("agent = ?")
        params.append(agent)
    sql = f"SELECT {_INFO_COLUMNS} FROM tether_runs"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY updated_at DESC LIMIT ?"
    return [_row_info(r) for r in conn.execute(sql, (*params, limit))]


def _delete_run(conn: sqlite3.Connection, run_id: str) -> bool:
    with conn:
        conn.execute("DELETE FROM tether_events WHERE run_id = ?", (run_id,))
        return conn.execute("DELETE FROM tether_runs WHERE run_id = ?", (run_id,)).rowcount > 0


def _load_thread(conn: sqlite3.Connection, thread_id: str) -> str | None:
    row = conn.execute(
        "SELECT messages FROM tether_threads WHERE thread_id = ?", (thread_id,)
    ).fetchone()
    return row[0] if row else None


def _save_thread(conn: sqlite3.Connection, thread_id: str, data: str, now: float) -> None:
    conn.execute(
        "INSERT INTO tether_threads (thread_id, messages, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT (thread_id) DO UPDATE SET messages = excluded.messages, "
        "updated_at = excluded.updated_at",
        (thread_id, data, now),
    )


def _acquire_lease(
    conn: sqlite3.Connection, run_id: str, owner: str, ttl: float, now: float
) -> bool:
    cursor = conn.execute(
        "INSERT INTO tether_leases (run_id, owner, expires_at) VALUES (?, ?, ?) "
        "ON CONFLICT (run_id) DO UPDATE SET owner = excluded.owner, "
        "expires_at = excluded.expires_at "
        "WHERE tether_leases.owner = excluded.owner OR tether_leases.expires_at <= ?",
        (run_id, owner, now + ttl, now),
    )
    return cursor.rowcount == 1


def _renew_lease(conn: sqlite3.Connection, run_id: str, owner: str, expires_at: float) -> bool:
    cursor = conn.execute(
        "UPDATE tether_leases SET expires_at = ? WHERE run_id = ? AND owner = ?",
        (expires_at, run_id, owner),
    )
    return cursor.rowcount == 1


def _release_lease(conn: sqlite3.Connection, run_id: str, owner: str) -> None:
    conn.execute("DELETE FROM tether_leases WHERE run_id = ? AND owner = ?", (run_id, owner))


_LEASE = "SELECT run_id, owner, expires_at, cancel_requested, reserved_seq FROM tether_leases"


def _get_lease(conn: sqlite3.Connection, run_id: str) -> Lease | None:
    row = conn.execute(f"{_LEASE} WHERE run_id = ?", (run_id,)).fetchone()
    return Lease(*row) if row else None


def _expired_leases(conn: sqlite3.Connection, now: float, limit: int) -> list[Lease]:
    rows = conn.execute(f"{_LEASE} WHERE expires_at <= ? ORDER BY expires_at LIMIT ?", (now, limit))
    return [Lease(*r) for r in rows]


def _request_cancel(conn: sqlite3.Connection, run_id: str, reason: str) -> bool:
    cursor = conn.execute(
        "UPDATE tether_leases SET cancel_requested = ? WHERE run_id = ?", (reason, run_id)
    )
    return cursor.rowcount == 1


def _reserve_seq(conn: sqlite3.Connection, run_id: str, owner: str, seq: int) -> bool:
    cursor = conn.execute(
        "UPDATE tether_leases SET reserved_seq = max(reserved_seq, ?) "
        "WHERE run_id = ? AND owner = ?",
        (seq, run_id, owner),
    )
    return cursor.rowcount == 1
