"""A2A task records kept in memory and written through to a SQLite file; the runs themselves
(the truth a record follows) live in the Runner's store, so tasks/get and tasks/list answer
from it after a restart, on any store."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Awaitable, Callable
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
    delivered elsewhere). ``task_ids`` names the tasks in the Runner's store, which tasks/list
    lists too (those of other processes, or from before a restart)."""

    def __init__(
        self,
        agent: str,
        path: Path | None,
        recover: Callable[[str], Awaitable[Task | None]] | None = None,
        on_cancel: Callable[[str], Awaitable[None]] | None = None,
        current: Callable[[str], Awaitable[Task | None]] | None = None,
        task_ids: Callable[[], Awaitable[list[str]]] | None = None,
    ) -> None:
        super().__init__()
        self._agent = agent
        self._path = path
        self._recover = recover
        self._on_cancel = on_cancel
        self._current = current
        self._task_ids = task_ids
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
        await super().save(task, context)
        if self._path is not None:
            owner = self._impl.owner_resolver(context)
            await asyncio.to_thread(self._write, owner, task.id, task.SerializeToString())

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

    async def _follow(self, task: Task, context: ServerCallContext) -> Task:
        """The task brought up to its run's state when that moved on without this record."""
        if self._current is None or task.status.state in TERMINAL:
            return task
        now = await self._current(task.id)
        if now is None or now.status.state == task.status.state:
            return task
        moved = Task()
        moved.CopyFrom(task)  # the SDK's history stays; status and artifacts are the run's
        moved.status.CopyFrom(now.status)
        del moved.artifacts[:]
        moved.artifacts.extend(now.artifacts)
        await self.save(moved, context)
        return moved

    async def list(self, params: Any, context: ServerCallContext) -> Any:
        """The tasks, as the a2a-sdk's in-memory store lists them, after every task of the
        Runner's store is known here and each unfinished one follows its run."""
        await self._ensure_loaded()
        owner = self._impl.owner_resolver(context)
        held = self._impl.tasks.get(owner, {})
        for task_id in await self._task_ids() if self._task_ids is not None else []:
            if task_id not in held:
                await self.get(task_id, context)
        for task in list(self._impl.tasks.get(owner, {}).values()):
            await self._follow(task, context)
        return await super().list(params, context)

    async def delete(self, task_id: str, context: ServerCallContext) -> None:
        """Forget the task in memory and on disk."""
        await self._ensure_loaded()
        await super().delete(task_id, context)
        if self._path is not None:
            owner = self._impl.owner_resolver(context)
            await asyncio.to_thread(self._write, owner, task_id, None)
