"""The SQLite connection of a store: its writer thread, and appends committed on the event loop.

Every operation may run on the connection's own thread (:class:`~tether.store._writer.
WriterThread`). An append (a *write*) usually does not need to: with WAL and
``synchronous=NORMAL`` a commit writes a few pages into the WAL file and syncs nothing, which
costs less than the two thread wake-ups of handing it over. So a lone append is committed on
the event loop itself, in the call, when all of these hold (else it goes to the thread as
before):

- it is the first append of this pass of the loop, or another of the same task (a run that
  reached its next checkpoint without waiting for anything: nothing can share its
  transaction): the ones other tasks make after it in the same pass (concurrent runs) are
  gathered and handed to the thread together at the start of the next pass, where they share
  one transaction (group commit: one hop for all of them, and the loop runs on while SQLite
  writes); while runs keep checkpointing together (the last group had several), the first of
  each pass joins its pass's group too;
- the writer thread is idle (it holds the connection's lock while it works: one user at a time);
- nothing on the commit path may sync or wait: WAL mode with tether's background checkpoints
  (no SQLite auto-checkpoint), ``synchronous`` NORMAL or OFF, no WAL restart due (the first
  commit after a complete WAL checkpoint syncs the WAL header: that one goes to the thread; only
  a checkpoint made by another process sharing the file can still leave one such commit to the
  loop), no checkpoint of the writer's own due;
- the write lock is free at once: the loop never waits for another process (busy timeout 0);
  when one holds the lock, the appends go to the thread, which waits as before.

Each append is answered only after its transaction committed, wherever it ran: what a crash
leaves behind is what it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ..errors import UserError
from . import _writer
from ._writer import WalCheckpointer, WriterThread, run_group
from .errors import StoreError

__all__ = ["SQLiteWorker"]

T = TypeVar("T")
_BUSY_MS = 30_000  # how long the thread waits for another process's write lock
_NOBODY: Any = object()  # no append committed alone in this pass of the loop yet
_Pending = list[tuple["asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...]]]


class SQLiteWorker:
    """One SQLite connection living on one dedicated thread; ``await call(fn, ...)`` runs there,
    ``await write(fn, ...)`` in a (group) transaction, a lone one on the event loop when that is
    cheaper (see the module notes).

    The connection is opened (folder created, WAL set, schema migrated) on first use, and
    reopened after :meth:`close` if used again.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: str = "NORMAL",
        setup: Callable[[sqlite3.Connection], None] | None = None,
        read_only: bool = False,
    ) -> None:
        if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise UserError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")
        self.path = str(path)
        self.synchronous = synchronous.upper()
        #: Opened with SQLite's ``mode=ro``: reads work without write access, writes fail.
        self.read_only = read_only
        self._identity: tuple[int, int] | None = None
        self._absolute: str | None = None
        self._setups: list[Callable[[sqlite3.Connection], None]] = [setup] if setup else []
        self._conn: sqlite3.Connection | None = None
        self._thread: WriterThread | None = None
        self._lock = threading.Lock()
        self._checkpointer: WalCheckpointer | None = None
        self._wal = ""
        self._commits = 0
        #: Commits made on the event loop (the rest ran on the thread).
        self.loop_commits = 0
        # Held by whoever uses the connection (the thread, or a flush on the loop).
        self._using = threading.Lock()
        self._busy_ms = _BUSY_MS
        # per event loop (weakly: a loop closed with a callback still due is not kept alive)
        self._pending: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Pending] = (
            weakref.WeakKeyDictionary()
        )
        # per loop, the task whose append was committed alone in this pass of it
        self._hot: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, asyncio.Task[Any] | None
        ] = weakref.WeakKeyDictionary()
        self._crowded = False  # the last group had several appends (concurrent runs)
        self._cap_due = False  # the writer must checkpoint the WAL itself, on the thread
        self._restart_due = False  # it did: the next write, on the thread, restarts the WAL
        self._restarted = 0  # checkpointer passes done before the thread's last group commit
        self._poked_at = 0  # the WAL's size when the last background pass was asked for

    def add_setup(self, setup: Callable[[sqlite3.Connection], None]) -> None:
        """Run ``setup(conn)`` when the connection opens (call it before the first use)."""
        if self._conn is not None:
            raise UserError("add_setup() must be called before the database is first used")
        self._setups.append(setup)

    def _open(self) -> sqlite3.Connection:
        target, uri = self.path, False
        self._absolute = None
        if self.read_only:
            target, uri = Path(self.path).absolute().as_uri() + "?mode=ro", True
        elif self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, one transaction per write.
        conn = sqlite3.connect(
            target, isolation_level=None, check_same_thread=False, timeout=_BUSY_MS / 1000, uri=uri
        )
        self._busy_ms = _BUSY_MS
        try:
            wal = False
            if not self.read_only:
                wal = _wal_mode(conn)
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            conn.execute("PRAGMA foreign_keys=ON")
            for setup in self._setups:
                setup(conn)
            self._identity = self._file_identity()
            if wal and self._identity is not None:
                # WAL checkpoints on a thread of their own (see tether.store._writer), made
                # when the first is due; a WAL file longer than the cap is cut back to it when
                # the WAL restarts.
                conn.execute("PRAGMA wal_autocheckpoint=0")
                conn.execute(f"PRAGMA journal_size_limit={_writer.WAL_KEEP_BYTES}")
                self._wal = os.path.abspath(self.path) + "-wal"
        except BaseException:
            conn.close()
            raise
        return conn

    def _file_identity(self) -> tuple[int, int] | None:
        if self.path == ":memory:" or self.path.startswith("file:"):
            return None
        if self._absolute is None:  # fixed at open: a later chdir must not look like a deletion
            self._absolute = os.path.abspath(self.path)
        try:
            st = os.stat(self._absolute)
        except FileNotFoundError:
            return (-1, -1)
        return (st.st_dev, st.st_ino)

    def _check_file(self) -> None:
        """The file opened is still the one at ``path`` (not deleted, not replaced): else
        every write would go on into an unlinked file and be lost when it is closed."""
        if self._identity is not None and self._file_identity() != self._identity:
            raise StoreError(
                f"the SQLite file {self.path} was deleted or replaced while tether had it open: "
                "what is written now would be lost. Restore the file (or point the store at a "
                "new one) and resume the runs"
            )

    def _connection(self, busy_ms: int = _BUSY_MS) -> sqlite3.Connection:
        conn = self._conn
        if conn is None:
            conn = self._conn = self._open()
        else:
            self._check_file()
        if self._busy_ms != busy_ms:
            conn.execute(f"PRAGMA busy_timeout={busy_ms}")
            self._busy_ms = busy_ms
        return conn

    # -- on the writer thread ---------------------------------------------------------------

    def _run(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        with self._using:
            conn = self._connection()
            self._checkpoint_if_due(conn)
            try:
                return fn(conn, *args)
            finally:
                self._committed(conn)

    def _run_group(
        self, jobs: list[tuple[Callable[..., Any], tuple[Any, ...]]]
    ) -> list[tuple[Any, BaseException | None]]:
        with self._using:
            conn = self._connection()
            self._checkpoint_if_due(conn)
            checkpointer = self._checkpointer
            done = checkpointer.done if checkpointer is not None else 0
            try:
                return run_group(conn, jobs)
            finally:
                # a WAL restart due before this commit is behind us
                self._restarted, self._restart_due = done, False
                self._committed(conn)

    def _checkpoint_if_due(self, conn: sqlite3.Connection) -> None:
        """The WAL never paused long enough to restart: checkpoint it here, between two
        commits, so the next write (on this thread: it syncs the WAL header) starts it over."""
        if self._cap_due and not conn.in_transaction:
            self._cap_due, self._restart_due = False, True
            with contextlib.suppress(sqlite3.Error):
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def _committed(self, conn: sqlite3.Connection) -> None:
        """Every so many jobs, have the WAL checkpointed (see tether.store._writer)."""
        self._commits += 1
        every = _writer.CHECKPOINT_EVERY
        if not self._wal or self._commits % every != 1 % every:
            return
        checkpointer = self._checkpointer
        if checkpointer is not None and checkpointer.failed is not None:
            # back to SQLite's own checkpoints
            self._wal = ""
            with contextlib.suppress(sqlite3.Error):
                conn.execute("PRAGMA wal_autocheckpoint=1000")
            return
        size = _size(self._wal)
        if size < self._poked_at:  # the WAL restarted (and was cut back) since
            self._poked_at = 0
        if size > _writer.WAL_CAP_BYTES:
            self._cap_due = True  # the thread's next job checkpoints it (_checkpoint_if_due)
        elif (
            size > _writer.WAL_CHECKPOINT_BYTES
            and size - self._poked_at >= _writer.WAL_CHECKPOINT_BYTES
        ):
            # one pass per 16 MB of WAL: while commits go on, a pass cannot copy it all (so
            # the WAL does not restart), and each one sends the commits made meanwhile to the
            # thread
            self._poked_at = size
            if checkpointer is None:
                checkpointer = self._checkpointer = WalCheckpointer(
                    self._wal.removesuffix("-wal"), self.synchronous
                )
            checkpointer.poke()

    def _thread_now(self) -> WriterThread:
        thread = self._thread
        if thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = WriterThread(self._run_group)
                thread = self._thread
        return thread

    # -- on the event loop ------------------------------------------------------------------

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` on the store's thread and return its result."""
        thread = self._thread_now()
        pending = self._pending.pop(asyncio.get_running_loop(), None)
        if pending:  # appends made before it go first, as they were made
            self._hand_over(thread, pending)
        result: T = await thread.submit(self._run, (fn, args))
        return result

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` inside a transaction, which it may share with the writes of
        other runs made at the same moment (group commit): ``fn`` issues statements only, no
        BEGIN/COMMIT. Returns once the transaction committed."""
        if self._conn is None or self._thread is None:  # the thread opens the file
            first: T = await self._thread_now().submit(fn, args, group=True)
            return first
        loop = asyncio.get_running_loop()
        pending = self._pending.get(loop)
        task = asyncio.current_task(loop)
        owner = self._hot.get(loop, _NOBODY)
        if pending is None and not self._crowded and (owner is _NOBODY or owner is task):
            # the first append of this pass, or the next one of the same run (nothing else
            # ran in between, so nothing can share its transaction): committed now, no wait
            # for the next pass (and no future: nothing waits for it)
            if owner is _NOBODY:
                self._hot[loop] = task
                loop.call_soon(self._hot.pop, loop, None)
            outcome = self._commit_alone(fn, args)
            if outcome is not None:
                if outcome[1] is not None:
                    raise outcome[1]
                result: T = outcome[0]
                return result
            future: asyncio.Future[T] = loop.create_future()
            self._thread_now().adopt(loop, future, fn, args)
            return await future
        future = loop.create_future()
        if pending is not None:
            pending.append((future, fn, args))
        else:
            # another append was made in this pass of the loop (or the last group had more than
            # one): the ones that follow it (concurrent runs) go together, in one transaction
            self._pending[loop] = [(future, fn, args)]
            loop.call_soon(self._flush, loop)
        return await future

    def _on_loop_now(self) -> bool:
        """Whether a commit now may not sync or wait (see the module notes)."""
        if (
            not self._wal
            or self.synchronous not in ("NORMAL", "OFF")
            or self._cap_due
            or self._restart_due
        ):
            return False
        checkpointer = self._checkpointer
        return checkpointer is None or (
            checkpointer.failed is None
            and checkpointer.started == checkpointer.done
            # the last pass left frames uncopied: the WAL cannot restart before the next one
            and (checkpointer.done == self._restarted or not checkpointer.complete)
        )

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        """Commit the lone append of this pass here, or hand the appends to the thread."""
        jobs = self._pending.pop(loop, [])
        if not jobs:
            return
        # runs checkpointing together: their next appends wait for the pass's group too, rather
        # than the first of each pass committing alone
        self._crowded = len(jobs) > 1
        if len(jobs) == 1:  # a group goes to the thread: its hop is shared, the loop runs on
            future, fn, args = jobs[0]
            outcome = self._commit_alone(fn, args)
            if outcome is not None:
                if future.cancelled():
                    return
                result, error = outcome
                if error is not None:
                    future.set_exception(error)
                else:
                    future.set_result(result)
                return
        self._hand_over(self._thread_now(), jobs)

    def _commit_alone(
        self, fn: Callable[..., Any], args: tuple[Any, ...]
    ) -> tuple[Any, BaseException | None] | None:
        """Commit one append here, on the loop: its (result, error), or None when it must go
        to the thread (see the module notes; the write lock taken: the thread waits for it)."""
        thread = self._thread
        if (
            thread is None
            or not thread.idle  # jobs made before it go first
            or not self._on_loop_now()
            or not self._using.acquire(blocking=False)
        ):
            return None
        try:
            if self._conn is None:  # closed meanwhile: the thread opens it again
                return None
            try:
                conn = self._connection(busy_ms=0)
                outcome = run_group(conn, [(fn, args)])[0]
            except BaseException as exc:  # the database failed: the append learns why
                return (None, exc)
            if outcome[1] is None:
                self.loop_commits += 1
                self._committed(conn)
            elif _busy(outcome[1]):
                return None
            return outcome
        finally:
            self._using.release()

    def _hand_over(self, thread: WriterThread, jobs: _Pending) -> None:
        loop = asyncio.get_running_loop()
        for future, fn, args in jobs:
            thread.adopt(loop, future, fn, args)

    async def close(self) -> None:
        """Close the connection and stop the threads."""
        thread = self._thread
        if thread is None:
            return
        await thread.submit(self._close_conn, ())
        self._thread = None
        thread.stop()

    def _close_conn(self) -> None:
        with self._using:
            self._wal = ""
            checkpointer, self._checkpointer = self._checkpointer, None
            if checkpointer is not None:
                checkpointer.stop()
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _wal_mode(conn: sqlite3.Connection) -> bool:
    """Switch ``conn`` to WAL. Two processes opening one new file at once can each hold the
    read lock the other's switch needs: SQLite then answers busy at once, without its busy
    timeout, so the switch is tried again for as long as that timeout."""
    deadline = time.monotonic() + _BUSY_MS / 1000
    pause = 0.002
    while True:
        try:
            return bool(conn.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal")
        except sqlite3.OperationalError as error:
            if not _busy(error) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def _busy(error: BaseException | None) -> bool:
    """Whether ``error`` is SQLite finding the write lock taken (nothing was written)."""
    if not isinstance(error, sqlite3.OperationalError):
        return False
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0
