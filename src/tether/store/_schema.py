"""One migration routine for every SQL database tether writes (SQLite and PostgreSQL).

Table ``tether_schema`` holds one row per component using the database (``store``,
``memory``...) with the version its tables are at; a component's migrations are numbered steps,
and version N is reached by running steps 1..N. The routine is written once, as a generator of
the statements to run (:func:`_plan`), and driven by a blocking connection (SQLite, on its
worker thread) or an async one (PostgreSQL): the two stores cannot drift apart.

The routine reads before it writes: a database already at the newest version is opened without
taking a write lock or creating anything, so a read-only file or a read-only database role can
still be read.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import UserError

__all__ = ["POSTGRES", "SQLITE", "Dialect", "Migrations", "migrate_async", "migrate_sqlite"]

#: A component's schema steps, by version number (1, 2, ...), each a tuple of SQL statements.
Migrations = Mapping[int, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Dialect:
    """The few statements that differ between databases (``{p}``: the schema prefix)."""

    begin: str | None
    lock: str | None
    commit: str | None
    rollback: str | None
    has_table: str
    create_table: str
    select_version: str
    upsert_version: str


SQLITE = Dialect(
    begin="BEGIN IMMEDIATE",
    lock=None,
    commit="COMMIT",
    rollback="ROLLBACK",
    has_table="SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tether_schema'",
    create_table=(
        "CREATE TABLE IF NOT EXISTS tether_schema "
        "(component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
    ),
    select_version="SELECT version FROM tether_schema WHERE component = ?",
    upsert_version="INSERT OR REPLACE INTO tether_schema (component, version) VALUES (?, ?)",
)

POSTGRES = Dialect(
    begin="BEGIN",
    lock="SELECT pg_advisory_xact_lock(2122210382)",  # taken while migrating: no races
    commit="COMMIT",
    rollback="ROLLBACK",
    has_table="SELECT 1 WHERE to_regclass('{p}tether_schema') IS NOT NULL",
    create_table=(
        "CREATE TABLE IF NOT EXISTS {p}tether_schema "
        "(component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
    ),
    select_version="SELECT version FROM {p}tether_schema WHERE component = %s",
    upsert_version=(
        "INSERT INTO {p}tether_schema (component, version) VALUES (%s, %s) "
        "ON CONFLICT (component) DO UPDATE SET version = excluded.version"
    ),
)

# One step of the plan: (statement, parameters, whether the caller wants the rows back).
_Step = tuple[str, tuple[Any, ...], bool]
_Plan = Generator[_Step, list[tuple[Any, ...]], int]


def _newer(component: str, current: int, latest: int) -> UserError:
    return UserError(
        f"this database holds tether {component!r} schema v{current}, newer than this "
        f"version of tether knows (v{latest}): upgrade tether"
    )


def _plan(
    dialect: Dialect, component: str, migrations: Migrations, prelude: tuple[str, ...]
) -> _Plan:
    """The statements that bring ``component`` to its newest version; returns that version."""
    latest = max(migrations)
    if (yield dialect.has_table, (), True):
        rows = yield dialect.select_version, (component,), True
        current = rows[0][0] if rows else 0
        if current > latest:
            raise _newer(component, current, latest)
        if current == latest:
            return latest  # nothing to do: no lock, no write
    if dialect.begin:
        yield dialect.begin, (), False
    try:
        if dialect.lock:
            yield dialect.lock, (), False
        for statement in prelude:
            yield statement, (), False
        yield dialect.create_table, (), False
        rows = yield dialect.select_version, (component,), True
        current = rows[0][0] if rows else 0
        if current > latest:
            raise _newer(component, current, latest)
        for version in range(current + 1, latest + 1):
            for statement in migrations[version]:
                yield statement, (), False
        if current != latest:
            yield dialect.upsert_version, (component, latest), False
        if dialect.commit:
            yield dialect.commit, (), False
    except BaseException:
        if dialect.rollback:
            yield dialect.rollback, (), False
        raise
    return latest


def migrate_sqlite(conn: sqlite3.Connection, component: str, migrations: Migrations) -> int:
    """Bring ``component``'s tables in a SQLite connection (autocommit mode) to the newest
    version, in one transaction; returns that version."""
    plan = _plan(SQLITE, component, migrations, ())
    try:
        step = next(plan)
        while True:
            statement, params, wanted = step
            try:
                cursor = conn.execute(statement, params)
                rows = cursor.fetchall() if wanted else []
            except BaseException as exc:
                step = plan.throw(exc)  # the plan rolls back, then raises it again
                continue
            step = plan.send(rows)
    except StopIteration as stop:
        return int(stop.value)


async def migrate_async(
    conn: Any,
    component: str,
    migrations: Migrations,
    *,
    dialect: Dialect = POSTGRES,
    prefix: str = "",
    prelude: tuple[str, ...] = (),
) -> int:
    """Bring ``component``'s tables to the newest version through an async DB-API connection
    in autocommit mode (psycopg 3), in one transaction; returns that version.

    ``prefix`` replaces ``{p}`` in every statement (a quoted schema name and a dot, or "");
    ``prelude`` statements run first inside the transaction (e.g. ``CREATE SCHEMA``).
    """
    plan = _plan(dialect, component, migrations, prelude)
    try:
        step = next(plan)
        while True:
            statement, params, wanted = step
            try:
                cursor = await conn.execute(statement.replace("{p}", prefix), params or None)
                rows = await cursor.fetchall() if wanted else []
            except BaseException as exc:
                step = plan.throw(exc)  # the plan rolls back, then raises it again
                continue
            step = plan.send(rows)
    except StopIteration as stop:
        return int(stop.value)
