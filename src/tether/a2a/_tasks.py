"""A2A task records kept in memory and written through to a SQLite file, so tasks/get and
tasks/list still answer after a restart (the runs themselves live in the Runner's store)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Any

from a2a.server.context import ServerCallContext
from a2a.server.tasks import InMemoryTaskStore
from a2a.types.a2a_pb2 import Task

__all__ = ["PersistedTaskStore", "tasks_path_for"]

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
    change written to ``path`` and everything read back from it at start."""

    def __init__(self, agent: str, path: Path | None) -> None:
        super().__init__()
        self._agent = agent
        self._path = path
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
        await super().save(task, context)
        if self._path is not None:
            owner = self._impl.owner_resolver(context)
            await asyncio.to_thread(self._write, owner, task.id, task.SerializeToString())

    async def get(self, task_id: str, context: ServerCallContext) -> Task | None:
        """The task, from memory (loaded from disk at first use)."""
        await self._ensure_loaded()
        return await super().get(task_id, context)

    async def list(self, params: Any, context: ServerCallContext) -> Any:
        """The tasks, as the a2a-sdk's in-memory store lists them."""
        await self._ensure_loaded()
        return await super().list(params, context)

    async def delete(self, task_id: str, context: ServerCallContext) -> None:
        """Forget the task in memory and on disk."""
        await self._ensure_loaded()
        await super().delete(task_id, context)
        if self._path is not None:
            owner = self._impl.owner_resolver(context)
            await asyncio.to_thread(self._write, owner, task_id, None)
