"""Long-lived memory of facts: ``Memory()`` (in this process) and ``MemorySQLite(path)`` (a file).

Pass one as ``Agent(memory=...)``. Tools reach it as ``ctx.memory``: a view scoped to the agent
running the tool and to the run's thread, with ``remember``, ``recall``, ``forget`` and
``facts``. A fact remembered with ``scope="thread"`` (the default) is seen by this agent in this
thread only; with ``scope="agent"``, by this agent in every thread. Runs without a thread share
the agent scope. Another agent never sees them.

Facts with a ``key`` are replaced, not duplicated, when remembered again: a tool that is re-run
after a crash (``idempotent=True``) can remember under a key and stay idempotent.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from ..errors import UserError

__all__ = ["Fact", "Memory", "MemorySQLite", "MemoryView", "Scope"]

Scope = Literal["thread", "agent"]
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Fact:
    """One remembered fact."""

    id: str
    text: str
    agent: str
    #: The thread it belongs to, or None for a fact of the agent's, seen in every thread.
    thread_id: str | None = None
    key: str | None = None
    metadata: dict[str, Any] | None = None
    created_at: float = 0.0
    updated_at: float = 0.0


def _check_text(text: Any) -> str:
    if not isinstance(text, str) or not text.strip():
        raise UserError("remember() needs the fact as a non-empty string")
    return text


def _check_limit(limit: Any) -> int:
    if not isinstance(limit, int) or limit < 1:
        raise UserError(f"limit must be a positive integer, not {limit!r}")
    return limit


def rank(facts: Sequence[Fact], query: str, limit: int) -> list[Fact]:
    """Facts matching the words of ``query`` (most words matched first, then newest).

    An empty query gives the newest facts. Matching is by whole words, case-insensitive.
    """
    newest = sorted(facts, key=lambda f: f.updated_at, reverse=True)
    words = {w.lower() for w in _WORD.findall(query)}
    if not words:
        return newest[:limit]
    scored = []
    for fact in newest:
        have = {w.lower() for w in _WORD.findall(f"{fact.text} {fact.key or ''}")}
        score = len(words & have)
        if score:
            scored.append((score, fact))
    scored.sort(key=lambda pair: pair[0], reverse=True)  # stable: newest first among equals
    return [fact for _, fact in scored[:limit]]


class _Backend:
    """What Memory and MemorySQLite share: the scoping rules on top of four primitives."""

    async def _visible(self, agent: str, thread_id: str | None) -> list[Fact]:
        raise NotImplementedError

    async def _upsert(self, fact: Fact) -> Fact:
        raise NotImplementedError

    async def _delete(self, ids: Sequence[str]) -> None:
        raise NotImplementedError

    def scoped(self, agent: str, thread_id: str | None = None) -> MemoryView:
        """The view of this memory that an agent sees in a thread (what ``ctx.memory`` is)."""
        return MemoryView(self, agent, thread_id)

    async def remember(
        self,
        text: str,
        *,
        agent: str,
        thread_id: str | None = None,
        key: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Fact:
        """Store a fact for ``agent`` (in ``thread_id``, or agent-wide when None)."""
        now = time.time()
        fact = Fact(uuid.uuid4().hex, _check_text(text), agent, thread_id, key, metadata, now, now)
        return await self._upsert(fact)

    async def recall(
        self, query: str = "", *, agent: str, thread_id: str | None = None, limit: int = 10
    ) -> list[Fact]:
        """Facts the agent sees in the thread that match ``query`` (see :func:`rank`)."""
        return rank(await self._visible(agent, thread_id), query, _check_limit(limit))

    async def facts(self, *, agent: str, thread_id: str | None = None) -> list[Fact]:
        """Every fact the agent sees in the thread, newest first."""
        return rank(await self._visible(agent, thread_id), "", 1 << 30)

    async def forget(self, ref: str, *, agent: str, thread_id: str | None = None) -> int:
        """Forget the facts the agent sees whose id or key is ``ref``; returns how many."""
        gone = [f.id for f in await self._visible(agent, thread_id) if ref in (f.id, f.key)]
        if gone:
            await self._delete(gone)
        return len(gone)

    async def close(self) -> None:
        """Release files (nothing to do for the in-process memory)."""


class Memory(_Backend):
    """Facts kept in this process (lost when it ends)."""

    def __init__(self) -> None:
        self._facts: dict[str, Fact] = {}

    async def _visible(self, agent: str, thread_id: str | None) -> list[Fact]:
        return [
            f for f in self._facts.values() if f.agent == agent and f.thread_id in (None, thread_id)
        ]

    async def _upsert(self, fact: Fact) -> Fact:
        if fact.key is not None:
            for old in self._facts.values():
                if (old.agent, old.thread_id, old.key) == (fact.agent, fact.thread_id, fact.key):
                    fact = replace(fact, id=old.id, created_at=old.created_at)
                    break
        self._facts[fact.id] = fact
        return fact

    async def _delete(self, ids: Sequence[str]) -> None:
        for fact_id in ids:
            self._facts.pop(fact_id, None)

    def __repr__(self) -> str:
        return f"Memory({len(self._facts)} facts)"


_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE tether_facts (
            id TEXT PRIMARY KEY, agent TEXT NOT NULL, thread_id TEXT, key TEXT,
            text TEXT NOT NULL, metadata TEXT, created_at REAL NOT NULL,
            updated_at REAL NOT NULL)""",
        "CREATE INDEX tether_facts_by_scope ON tether_facts (agent, thread_id)",
    ),
}


class MemorySQLite(_Backend):
    """Facts in a SQLite file, worked on a thread of its own (never on the event loop).

    The file may be the one of a SQLiteStore (``.tether/tether.db``): the tables differ.
    """

    def __init__(self, path: str = ".tether/memory.db") -> None:
        from ..store.sqlite import SQLiteWorker, migrate

        def setup(conn: sqlite3.Connection) -> None:
            migrate(conn, "memory", _MIGRATIONS)

        self.worker = SQLiteWorker(path, setup=setup)

    @property
    def path(self) -> str:
        """The database file."""
        return self.worker.path

    async def _visible(self, agent: str, thread_id: str | None) -> list[Fact]:
        return await self.worker.call(_select, agent, thread_id)

    async def _upsert(self, fact: Fact) -> Fact:
        return await self.worker.call(_upsert, fact)

    async def _delete(self, ids: Sequence[str]) -> None:
        await self.worker.call(_delete, list(ids))

    async def close(self) -> None:
        """Close the file (reopened if used again)."""
        await self.worker.close()

    def __repr__(self) -> str:
        return f"MemorySQLite({self.path!r})"


def _row_fact(row: Sequence[Any]) -> Fact:
    metadata = json.loads(row[5]) if row[5] is not None else None
    return Fact(row[0], row[4], row[1], row[2], row[3], metadata, row[6], row[7])


_COLUMNS = "id, agent, thread_id, key, text, metadata, created_at, updated_at"


def _select(conn: sqlite3.Connection, agent: str, thread_id: str | None) -> list[Fact]:
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM tether_facts "
        "WHERE agent = ? AND (thread_id IS NULL OR thread_id = ?)",
        (agent, thread_id),
    )
    return [_row_fact(r) for r in rows]


def _upsert(conn: sqlite3.Connection, fact: Fact) -> Fact:
    conn.execute("BEGIN IMMEDIATE")
    try:
        if fact.key is not None:
            row = conn.execute(
                "SELECT id, created_at FROM tether_facts "
                "WHERE agent = ? AND thread_id IS ? AND key = ?",
                (fact.agent, fact.thread_id, fact.key),
            ).fetchone()
            if row is not None:
                fact = replace(fact, id=row[0], created_at=row[1])
        metadata = json.dumps(fact.metadata) if fact.metadata is not None else None
        conn.execute(
            f"INSERT OR REPLACE INTO tether_facts ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                fact.id,
                fact.agent,
                fact.thread_id,
                fact.key,
                fact.text,
                metadata,
                fact.created_at,
                fact.updated_at,
            ),
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return fact


def _delete(conn: sqlite3.Connection, ids: list[str]) -> None:
    conn.executemany("DELETE FROM tether_facts WHERE id = ?", [(i,) for i in ids])


class MemoryView:
    """A memory as one agent sees it in one thread: what tools get as ``ctx.memory``."""

    __slots__ = ("agent", "memory", "thread_id")

    def __init__(self, memory: _Backend, agent: str, thread_id: str | None) -> None:
        self.memory = memory
        self.agent = agent
        self.thread_id = thread_id

    def _thread(self, scope: Scope) -> str | None:
        if scope == "thread":
            return self.thread_id
        if scope == "agent":
            return None
        raise UserError(f"scope must be 'thread' or 'agent', not {scope!r}")

    async def remember(
        self,
        text: str,
        *,
        key: str | None = None,
        scope: Scope = "thread",
        metadata: dict[str, Any] | None = None,
    ) -> Fact:
        """Remember a fact (replacing the fact of the same ``key`` in the same scope)."""
        return await self.memory.remember(
            text, agent=self.agent, thread_id=self._thread(scope), key=key, metadata=metadata
        )

    async def recall(self, query: str = "", *, limit: int = 10) -> list[Fact]:
        """The facts that best match ``query`` (newest first when it is empty)."""
        return await self.memory.recall(
            query, agent=self.agent, thread_id=self.thread_id, limit=limit
        )

    async def forget(self, ref: str) -> int:
        """Forget facts by id or key; returns how many were forgotten."""
        return await self.memory.forget(ref, agent=self.agent, thread_id=self.thread_id)

    async def facts(self) -> list[Fact]:
        """All facts seen here, newest first."""
        return await self.memory.facts(agent=self.agent, thread_id=self.thread_id)

    def __repr__(self) -> str:
        return f"MemoryView(agent={self.agent!r}, thread_id={self.thread_id!r})"
