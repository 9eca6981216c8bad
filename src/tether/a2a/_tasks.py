"""A2A task records kept in memory and written through to a SQLite file; the runs themselves
(the truth a record follows) live in the Runner's store, so tasks/get and tasks/list answer
from it after a restart, on any store."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Hashable, Mapping
from pathlib import Path
from typing import Any

from a2a.server.context import ServerCallContext
from a2a.server.tasks import InMemoryTaskStore
from a2a.types.a2a_pb2 import Task, TaskState

__all__ = ["TERMINAL", "PersistedTaskStore", "tasks_path_for"]

#: The A2A task states a task does not leave.
TERMINAL = frozenset(
    {
        TaskState.TASK_STATE_COMPLETED,
        TaskState.TASK_STATE_CANCELED,
        TaskState.TASK_STATE_FAILED,
        TaskState.TASK_STATE_REJECTED,
    }
)

_SCHEMA = """CREATE TABLE IF NOT EXISTS a2a_tasks (
    agent TEXT NOT NULL, owner TEXT NOT NULL, task_id TEXT NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (agent, owner, task_id))"""


def tasks_path_for(store_spec: Any) -> Path | None:
    """Where the task records of a Runner whose store is ``store_spec`` go (SQLite only)."""
    if isinstance(store_spec, str) and store_spec.startswith("sqlite:///"):
        database = Path(store_spec.removeprefix("sqlite:///"))
        return database.with_name(database.stem + ".a2a-tasks.db")
    path = getattr(store_spec, "path", None)
    if isinstance(path, str | Path) and str(path) not in ("", ":memory:"):
        database = Path(path)
        return database.with_name(database.stem + ".a2a-tasks.db")
    return None


class PersistedTaskStore(InMemoryTaskStore):
    """The a2a-sdk's in-memory task store (its listing, paging and owner scoping), with every
    change written to ``path`` and everything read back from it at start. A task it has no
    record of is asked of ``recover`` (the run's log rebuilt as a task), so a task outlives the
    process on any store, and another replica can answer for it. ``on_cancel`` hears of each
    task saved as canceled before it is saved (the SDK cancels a task that is not active in
    this process by writing its record alone), so its run ends too. ``current`` gives a task
    as its run's log has it now: a record not yet terminal follows its run (a deferred result
    delivered elsewhere). ``runs`` names the tasks in the Runner's store, which tasks/list
    lists too (those of other processes, or from before a restart), each with its run's mark
    (:func:`~tether.a2a._executor.run_mark`): a record that followed its run when the run had
    that mark, and was not saved since, is not compared with the log again until the mark
    changes, so tasks/list reads only the logs of the runs that moved."""

    def __init__(
        self,
        agent: str,
        path: Path | None,
        recover: Callable[[str], Awaitable[Task | None]] | None = None,
        on_cancel: Callable[[str], Awaitable[None]] | None = None,
        current: Callable[[str], Awaitable[Task | None]] | None = None,
        runs: Callable[[], Awaitable[Mapping[str, Hashable]]] | None = None,
    ) -> None:
        super().__init__()
        self._agent = agent
        self._path = path
        self._recover = recover
        self._on_cancel = on_cancel
        self._current = current
        self._runs = runs
        #: (owner, task id) -> the run's mark when the record last followed the run.
        self._followed: dict[tuple[str, str], Hashable] = {}
        #: (owner, task id) -> how many times the record was saved (so that a mark is kept
        #: only for a record no one saved while it was compared with its log).
        self._saves: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self._loaded = path is None

    def _connect(self) -> sqlite3.Connection:
        assert self._path is not None
        self._path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self._path, timeout=10)
        connection.execute(_SCHEMA)
        return connection

    def _read_all(self) -> list[tuple[str, bytes]]:
        with self._lock, self._connect() as connection:
            rows = connection.execute(
                "SELECT owner, data FROM a2a_tasks WHERE agent = ?", (self._agent,)
            ).fetchall()
        return [(str(owner), bytes(data)) for owner, data in rows]

    def _write(self, owner: str, task_id: str, data: bytes | None) -> None:
        with self._lock, self._connect() as connection:
            if data is None:
                connection.execute(
                    "DELETE FROM a2a_tasks WHERE agent = ? AND owner = ? AND task_id = ?",
                    (self._agent, owner, task_id),
                )
            else:
                connection.execute(
                    "INSERT OR REPLACE INTO a2a_tasks VALUES (?, ?, ?, ?)",
                    (self._agent, owner, task_id, data),
                )

    async def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        rows = await asyncio.to_thread(self._read_all)
        for owner, data in rows:
            task = Task()
            task.ParseFromString(data)
            self._impl.tasks.setdefault(owner, {}).setdefault(task.id, task)
        self._loaded = True

    async def save(self, task: Task, context: ServerCallContext) -> None:
        """Save the task in memory and on disk."""
        await self._ensure_loaded()
        if self._on_cancel is not None and task.status.state == TaskState.TASK_STATE_CANCELED:
            await self._on_cancel(task.id)
        key = (self._impl.owner_resolver(context), task.id)
        self._followed.pop(key, None)  # a record that changed is compared again
        self._saves[key] += 1
        await super().save(task, context)
        if self._path is not None:
            await asyncio.to_thread(self._write, key[0], task.id, task.SerializeToString())

    async def get(self, task_id: str, context: ServerCallContext) -> Task | None:
        """The task, from memory (loaded from disk at first use), else rebuilt from its run."""
        await self._ensure_loaded()
        found = await super().get(task_id, context)
        if found is None and self._recover is not None:
            found = await self._recover(task_id)
            if found is not None:  # kept from now on: the SDK's updates of it apply to this one
                await self.save(found, context)
        elif found is not None:
            found = await self._follow(found, context)
        return found

    async def _follow(
        self, task: Task, context: ServerCallContext, mark: Hashable | None = None
    ) -> Task:
        """The task brought up to its run's state when that moved on without this record.
        ``mark`` is the run's mark as listed before: a record that followed the run at that
        mark (and was not saved since) is as the run has it."""
        if self._current is None or task.status.state in TERMINAL:
            return task
        followed = (self._impl.owner_resolver(context), task.id)
        if mark is not None and self._followed.get(followed) == mark:
            return task
        saves = self._saves[followed]
        now = await self._current(task.id)
        if now is None:  # an execute() here writes the record
            return task
        if now.status.state != task.status.state:
            moved = Task()
            moved.CopyFrom(task)  # the SDK's history stays; status and artifacts are the run's
            moved.status.CopyFrom(now.status)
            del moved.artifacts[:]
            moved.artifacts.extend(now.artifacts)
            await self.save(moved, context)
            task, saves = moved, saves + 1
        if mark is not None and self._saves[followed] == saves:
            self._followed[followed] = mark
        return task

    async def list(self, params: Any, context: ServerCallContext) -> Any:
        """The tasks, as the a2a-sdk's in-memory store lists them, after every task of the
        Runner's store is known here and each unfinished one follows its run (whose log is
        read only when the run moved since the record last followed it)."""
        await self._ensure_loaded()
        owner = self._impl.owner_resolver(context)
        held = self._impl.tasks.get(owner, {})
        listed = await self._runs() if self._runs is not None else {}
        for task_id, mark in listed.items():
            if task_id not in held:
                saves = self._saves[(owner, task_id)]
                found = await self.get(task_id, context)  # rebuilt from the log, and saved
                if found is not None and self._saves[(owner, task_id)] == saves + 1:
                    self._followed[(owner, task_id)] = mark
        for task in list(self._impl.tasks.get(owner, {}).values()):
            await self._follow(task, context, listed.get(task.id))
        return await super().list(params, context)

    async def delete(self, task_id: str, context: ServerCallContext) -> None:
        """Forget the task in memory and on disk."""
        await self._ensure_loaded()
        await super().delete(task_id, context)
        owner = self._impl.owner_resolver(context)
        self._followed.pop((owner, task_id), None)
        self._saves.pop((owner, task_id), None)
        if self._path is not None:
            await asyncio.to_thread(self._write, owner, task_id, None)
