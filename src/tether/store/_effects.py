"""The effect ledger: per idempotency key, whether a tool's external effect started and finished.

A tool declared ``effect="external"`` has its call recorded here around the call itself: a row
``started`` right before the tool runs, ``finished`` (or ``failed``, with only the exception's
type) right after, in the store's own database, so the record survives the process; a call cut
short by a crash and rejected on resume ends ``rejected``. The event
log says whether the *run* saw the result; the ledger says whether the *tool* got that far: a
call the log shows started and not finished, whose ledger row is ``finished``, completed its
effect before the crash took its result away. The tables are made by the store's migration
routine (component ``effects``, :mod:`tether.store._schema`) on the first use.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

from ._schema import migrate_async, migrate_sqlite

T = TypeVar("T")


class _Worker(Protocol):
    """The SQLite store's worker thread (``SQLiteWorker``), as the ledger uses it."""

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` on the worker's connection."""


class _Pool(Protocol):
    """The PostgreSQL store's connections, as the ledger uses them."""

    async def run(self, op: Callable[[Any], Awaitable[T]]) -> T:
        """Run ``op(conn)`` on a connection."""


__all__ = ["EffectLedger", "EffectRecord", "EffectStatus"]

#: ``rejected``: a call a crash cut short (its row ``started``) that a person then decided not to
#: run again; whether its effect reached the outside is what its key lets the caller check.
EffectStatus = Literal["started", "finished", "failed", "rejected"]


@dataclass(slots=True, frozen=True)
class EffectRecord:
    """One key's row in the ledger. ``attempts`` counts the starts (a call approved to run
    again after a crash starts twice); ``error`` is the exception type of a failed attempt."""

    key: str
    run_id: str
    call_id: str
    tool_name: str
    status: EffectStatus
    attempts: int
    started_at: float
    finished_at: float | None = None
    error: str | None = None


@runtime_checkable
class EffectLedger(Protocol):
    """A store that keeps the effect ledger (the SQLite, PostgreSQL and memory stores do)."""

    async def effect_started(self, key: str, run_id: str, call_id: str, tool_name: str) -> None:
        """Record that the call with ``key`` is about to run (again)."""
        ...

    async def effect_finished(
        self, key: str, status: EffectStatus = "finished", error: str | None = None
    ) -> None:
        """Record how the attempt under ``key`` ended."""
        ...

    async def effect(self, key: str) -> EffectRecord | None:
        """The ledger row of ``key``, or None."""
        ...

    async def effects(self, run_id: str) -> list[EffectRecord]:
        """The run's ledger rows, in the order they were first started."""
        ...


_COLUMNS = "key, run_id, call_id, tool_name, status, attempts, started_at, finished_at, error"


def _record(row: Any) -> EffectRecord:
    return EffectRecord(*row)


SQLITE_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE tether_effects (
            key TEXT PRIMARY KEY, run_id TEXT NOT NULL, call_id TEXT NOT NULL,
            tool_name TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL,
            started_at REAL NOT NULL, finished_at REAL, error TEXT)""",
        "CREATE INDEX tether_effects_by_run ON tether_effects (run_id, started_at)",
    ),
}

POSTGRES_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        "CREATE TABLE {p}tether_effects (key TEXT PRIMARY KEY, run_id TEXT NOT NULL, "
        "call_id TEXT NOT NULL, tool_name TEXT NOT NULL, status TEXT NOT NULL, "
        "attempts INTEGER NOT NULL, started_at DOUBLE PRECISION NOT NULL, "
        "finished_at DOUBLE PRECISION, error TEXT)",
        "CREATE INDEX tether_effects_by_run ON {p}tether_effects (run_id, started_at)",
    ),
}

_STARTED = (
    "INSERT INTO {p}tether_effects (key, run_id, call_id, tool_name, status, attempts, "
    "started_at) VALUES ({v}, {v}, {v}, {v}, 'started', 1, {v}) ON CONFLICT (key) DO UPDATE "
    "SET status = 'started', attempts = {p}tether_effects.attempts + 1, "
    "started_at = excluded.started_at, finished_at = NULL, error = NULL"
)
_FINISHED = (
    "UPDATE {p}tether_effects SET status = {v}, finished_at = {v}, error = {v} WHERE key = {v}"
)
_ONE = f"SELECT {_COLUMNS} FROM {{p}}tether_effects WHERE key = {{v}}"
_OF_RUN = f"SELECT {_COLUMNS} FROM {{p}}tether_effects WHERE run_id = {{v}} ORDER BY started_at"
_FORGET = "DELETE FROM {p}tether_effects WHERE run_id = {v}"


def _sqlite(text: str) -> str:
    return text.replace("{p}", "").replace("{v}", "?")


def _ledger_sqlite(conn: sqlite3.Connection, op: str, args: tuple[Any, ...]) -> Any:
    """One ledger operation on the SQLite store's worker thread (the table made first)."""
    migrate_sqlite(conn, "effects", SQLITE_MIGRATIONS)
    if op == "started":
        conn.execute(_sqlite(_STARTED), args)
        return None
    if op == "finished":
        conn.execute(_sqlite(_FINISHED), args)
        return None
    if op == "forget":
        conn.execute(_sqlite(_FORGET), args)
        return None
    query = _sqlite(_ONE if op == "one" else _OF_RUN)
    return [_record(r) for r in conn.execute(query, args).fetchall()]


class SQLiteEffects:
    """The ledger of :class:`~tether.store.sqlite.SQLiteStore` (a mixin over its worker)."""

    worker: _Worker

    async def effect_started(self, key: str, run_id: str, call_id: str, tool_name: str) -> None:
        """Record that the call with ``key`` is about to run (again)."""
        args = (key, run_id, call_id, tool_name, time.time())
        await self.worker.call(_ledger_sqlite, "started", args)

    async def effect_finished(
        self, key: str, status: EffectStatus = "finished", error: str | None = None
    ) -> None:
        """Record how the attempt under ``key`` ended."""
        await self.worker.call(_ledger_sqlite, "finished", (status, time.time(), error, key))

    async def effect(self, key: str) -> EffectRecord | None:
        """The ledger row of ``key``, or None."""
        rows = await self.worker.call(_ledger_sqlite, "one", (key,))
        return rows[0] if rows else None

    async def effects(self, run_id: str) -> list[EffectRecord]:
        """The run's ledger rows, in the order they were first started."""
        rows: list[EffectRecord] = await self.worker.call(_ledger_sqlite, "run", (run_id,))
        return rows

    async def forget_effects(self, run_id: str) -> None:
        """Delete the run's ledger rows (its run is deleted: ``delete_run``, retention)."""
        await self.worker.call(_ledger_sqlite, "forget", (run_id,))


class PostgresEffects:
    """The ledger of :class:`~tether.store.postgres.PostgresStore` (a mixin over its pool)."""

    _pool: _Pool
    schema: str | None
    _effects_ready: bool = False

    async def _ledger(self, template: str, args: tuple[Any, ...], rows: bool) -> list[Any]:
        from psycopg import sql

        prefix = sql.SQL("") if self.schema is None else sql.Identifier(self.schema) + sql.SQL(".")
        query = sql.SQL(template.replace("{v}", "%s")).format(p=prefix)

        async def run(conn: Any) -> list[Any]:
            if not self._effects_ready:
                quoted = "" if self.schema is None else '"' + self.schema.replace('"', '""') + '".'
                await migrate_async(conn, "effects", POSTGRES_MIGRATIONS, prefix=quoted)
                self._effects_ready = True
            cursor = await conn.execute(query, args)
            return [_record(r) for r in await cursor.fetchall()] if rows else []

        result: list[Any] = await self._pool.run(run)
        return result

    async def effect_started(self, key: str, run_id: str, call_id: str, tool_name: str) -> None:
        """Record that the call with ``key`` is about to run (again)."""
        await self._ledger(_STARTED, (key, run_id, call_id, tool_name, time.time()), False)

    async def effect_finished(
        self, key: str, status: EffectStatus = "finished", error: str | None = None
    ) -> None:
        """Record how the attempt under ``key`` ended."""
        await self._ledger(_FINISHED, (status, time.time(), error, key), False)

    async def effect(self, key: str) -> EffectRecord | None:
        """The ledger row of ``key``, or None."""
        rows = await self._ledger(_ONE, (key,), True)
        return rows[0] if rows else None

    async def effects(self, run_id: str) -> list[EffectRecord]:
        """The run's ledger rows, in the order they were first started."""
        return await self._ledger(_OF_RUN, (run_id,), True)

    async def forget_effects(self, run_id: str) -> None:
        """Delete the run's ledger rows (its run is deleted: ``delete_run``, retention)."""
        await self._ledger(_FORGET, (run_id,), False)


class MemoryEffects:
    """The ledger of :class:`~tether.store.MemoryStore` (in this process only)."""

    _ledger_rows: dict[str, EffectRecord]

    def _rows(self) -> dict[str, EffectRecord]:
        try:
            return self._ledger_rows
        except AttributeError:
            self._ledger_rows = {}
            return self._ledger_rows

    async def effect_started(self, key: str, run_id: str, call_id: str, tool_name: str) -> None:
        """Record that the call with ``key`` is about to run (again)."""
        rows = self._rows()
        before = rows.get(key)
        attempts = before.attempts + 1 if before is not None else 1
        rows[key] = EffectRecord(key, run_id, call_id, tool_name, "started", attempts, time.time())

    async def effect_finished(
        self, key: str, status: EffectStatus = "finished", error: str | None = None
    ) -> None:
        """Record how the attempt under ``key`` ended."""
        rows = self._rows()
        before = rows.get(key)
        if before is not None:
            rows[key] = EffectRecord(
                *(before.key, before.run_id, before.call_id, before.tool_name),
                status,
                before.attempts,
                before.started_at,
                time.time(),
                error,
            )

    async def effect(self, key: str) -> EffectRecord | None:
        """The ledger row of ``key``, or None."""
        return self._rows().get(key)

    async def effects(self, run_id: str) -> list[EffectRecord]:
        """The run's ledger rows, in the order they were first started."""
        return sorted(
            (r for r in self._rows().values() if r.run_id == run_id), key=lambda r: r.started_at
        )

    async def forget_effects(self, run_id: str) -> None:
        """Delete the run's ledger rows (its run is deleted: ``delete_run``, retention)."""
        rows = self._rows()
        for key in [k for k, r in rows.items() if r.run_id == run_id]:
            del rows[key]
