"""The thread a SQLite connection lives on: jobs in order, concurrent checkpoints committed
together, and the WAL's fsyncs kept off the commit path.

- Group commit: an append is a *group job* (statements without transaction control). When the
  thread takes one, it also takes every group job already queued behind it (the checkpoints of
  the other runs that arrived while it was busy) and commits them all in one transaction: one
  WAL write, one lock, one wake-up per event loop. If the group fails, it is rolled back and each
  job runs again in a transaction of its own, so one run's conflict never fails its neighbours.
  A job is answered only after its transaction committed: durability is what it was.
- Checkpoints of the WAL into the database file need two fsyncs (about 10 ms each here), which
  SQLite's auto-checkpoint (every 1,000 pages) makes the unlucky committing step wait for.
  :class:`WalCheckpointer` runs them ``PASSIVE`` on a thread and connection of its own while
  commits go on. The commit after a complete checkpoint starts the WAL over, which costs one
  fsync of its header on the commit path, so checkpoints are asked for rarely (every
  :data:`CHECKPOINT_EVERY` commits: the WAL grows to some MB, not unboundedly). When writes
  never pause long enough for the WAL to restart (a checkpoint completes but a commit always
  came in meanwhile), the writer checkpoints it itself once the file passes
  :data:`WAL_CAP_BYTES`, and the next commit starts the WAL over: the file stays bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

__all__ = [
    "CHECKPOINT_EVERY",
    "WAL_CAP_BYTES",
    "WAL_CHECKPOINT_BYTES",
    "WAL_KEEP_BYTES",
    "WalCheckpointer",
    "WriterThread",
    "run_group",
]

#: Commits between two looks at the WAL's size (each commit is a few pages of WAL).
CHECKPOINT_EVERY = 64
#: WAL size past which a background checkpoint is asked for, and again each time the WAL grew
#: by as much since (a pass that could not copy it all, because commits went on, leaves it).
WAL_CHECKPOINT_BYTES = 16 << 20
#: What a restarted WAL file is cut back to (so its size is what it holds).
WAL_KEEP_BYTES = 4 << 20
#: WAL file size past which the writer checkpoints the WAL itself, between two commits.
WAL_CAP_BYTES = 64 << 20

# (loop, future, fn, args, group): group jobs are committed together.
_Job = tuple[
    asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...], bool
]
_Outcome = tuple[Any, BaseException | None]


class WriterThread:
    """One daemon thread running jobs in order; each answer is handed back on its caller's loop.

    A plain job is ``fn(*args)``; ``run_group(jobs)`` runs a list of ``(fn, args)`` group jobs
    in one transaction and returns one ``(result, error)`` per job. A daemon thread: a job
    cut short by the interpreter exiting is a crash, and a SQLite transaction survives those.
    """

    def __init__(
        self,
        run_group: Callable[[list[tuple[Callable[..., Any], tuple[Any, ...]]]], list[_Outcome]],
    ) -> None:
        self._run_group = run_group
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        # Jobs queued and jobs answered (each counter written by one side only).
        self._submitted = 0
        self._finished = 0
        thread = threading.Thread(target=self._serve, name="tether-sqlite", daemon=True)
        thread.start()

    def submit(
        self, fn: Callable[..., Any], args: tuple[Any, ...], *, group: bool = False
    ) -> asyncio.Future[Any]:
        """Queue ``fn(*args)`` (``group``: it may share a transaction) and return its future."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._submitted += 1
        self._jobs.put((loop, future, fn, args, group))
        return future

    def adopt(
        self,
        loop: asyncio.AbstractEventLoop,
        future: asyncio.Future[Any],
        fn: Callable[..., Any],
        args: tuple[Any, ...],
    ) -> None:
        """Queue the group job ``fn(*args)`` whose answer goes to ``future`` (on ``loop``)."""
        self._submitted += 1
        self._jobs.put((loop, future, fn, args, True))

    @property
    def idle(self) -> bool:
        """No job queued or running (what the event loop commits now comes after them all)."""
        return self._submitted == self._finished

    def stop(self) -> None:
        """End the thread after the jobs already queued."""
        self._jobs.put(None)

    def _serve(self) -> None:
        jobs = self._jobs
        later: _Job | None = None  # a plain job taken while gathering a group: it runs next
        while True:
            job = later if later is not None else jobs.get()
            later = None
            if job is None:
                return
            if not job[4]:
                try:
                    outcome: _Outcome = (job[2](*job[3]), None)
                except BaseException as exc:  # handed to the caller, whatever it is
                    outcome = (None, exc)
                self._finished += 1
                _answer([job], [outcome])
                continue
            group = [job]
            stop = False
            while True:  # the group jobs queued right behind it share its transaction
                try:
                    follower = jobs.get_nowait()
                except queue.Empty:
                    break
                if follower is None:
                    stop = True
                    break
                if not follower[4]:
                    later = follower
                    break
                group.append(follower)
            outcomes = self._outcomes(group)
            self._finished += len(group)
            _answer(group, outcomes)
            if stop:
                return

    def _outcomes(self, group: list[_Job]) -> list[_Outcome]:
        try:
            return self._run_group([(job[2], job[3]) for job in group])
        except BaseException as exc:  # opening the connection failed: every job learns why
            return [(None, exc)] * len(group)


def _answer(jobs: list[_Job], outcomes: list[_Outcome]) -> None:
    """Settle the jobs' futures, one wake-up per event loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], _Outcome]]] = {}
    for job, outcome in zip(jobs, outcomes, strict=True):
        by_loop.setdefault(job[0], []).append((job[1], outcome))
    for loop, settled in by_loop.items():
        # RuntimeError: the caller's loop has closed, nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, settled)


def _settle(settled: list[tuple[asyncio.Future[Any], _Outcome]]) -> None:
    for future, (result, error) in settled:
        if future.cancelled():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)


def run_group(
    conn: sqlite3.Connection, jobs: list[tuple[Callable[..., Any], tuple[Any, ...]]]
) -> list[_Outcome]:
    """Run group jobs ``fn(conn, *args)`` in one transaction; when it fails, roll it back and
    run each job in a transaction of its own (so the error lands on the job that caused it)."""
    if len(jobs) > 1:
        try:
            results = _transaction(conn, jobs)
        except sqlite3.OperationalError:
            raise  # the database itself failed (full, locked, gone): the same for every job
        except Exception:
            pass  # one job's own error (a conflict): find it below
        else:
            return [(result, None) for result in results]
    outcomes: list[_Outcome] = []
    for job in jobs:
        try:
            outcomes.append((_transaction(conn, [job])[0], None))
        except BaseException as exc:
            outcomes.append((None, exc))
    return outcomes


def _transaction(
    conn: sqlite3.Connection, jobs: list[tuple[Callable[..., Any], tuple[Any, ...]]]
) -> list[Any]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        results = [fn(conn, *args) for fn, args in jobs]
        conn.execute("COMMIT")
    except BaseException:
        # SQLite may have rolled back already (a full disk does): a second ROLLBACK would
        # hide the real cause behind "no transaction is active".
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
    return results


class WalCheckpointer:
    """Copies the WAL into the database file on its own thread and connection (``PASSIVE``:
    it never waits for, nor blocks, a writer or reader), when :meth:`poke` asks.

    ``failed`` is the error that stopped it (the writer then falls back to SQLite's own
    auto-checkpoint). ``started`` and ``done`` count the passes begun and ended: while they
    differ, or until the writer thread committed after the last one (the commit that may restart
    the WAL, syncing its header), appends are not committed on the event loop. ``complete``
    says whether the last pass copied the whole WAL: when it did not (commits came in
    meanwhile), the next commit cannot restart the WAL, and may go to the loop again.
    """

    def __init__(self, path: str, synchronous: str) -> None:
        self._uri = "file:" + path + "?mode=rw"
        self._synchronous = synchronous
        self._wake = threading.Event()
        self._stopping = False
        self.failed: BaseException | None = None
        self.started = 0
        self.done = 0
        self.complete = True
        self._thread = threading.Thread(
            target=self._serve, name="tether-sqlite-checkpoint", daemon=True
        )
        self._thread.start()

    def poke(self) -> None:
        """Ask for a pass (cheap; passes asked for while one runs are merged)."""
        self._wake.set()

    def stop(self) -> None:
        """End the thread (waits for a pass under way)."""
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=30)

    def _serve(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stopping:
                    return
                if conn is None:
                    conn = sqlite3.connect(
                        self._uri, uri=True, isolation_level=None, check_same_thread=False
                    )
                    conn.execute(f"PRAGMA synchronous={self._synchronous}")
                self.started += 1
                self.complete = True  # until the pass says otherwise
                try:
                    # fetchall: a statement left unfinished would hold a read lock on the WAL
                    # (busy, frames in the WAL, frames copied): all copied, the WAL may restart
                    row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()[0]
                    self.complete = row[0] != 0 or row[1] <= row[2]
                finally:
                    self.done = self.started
        except BaseException as exc:  # reported to the writer, which takes over
            self.failed = exc
        finally:
            if conn is not None:
                conn.close()
