"""Store fixtures: the same tests run against every store (memory, SQLite, PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest

from tether.store import MemoryStore, Store
from tether.store.postgres import PostgresStore
from tether.store.sqlite import SQLiteStore

DEFAULT_PG_URL = "postgresql://tether:tether@127.0.0.1:54329/tether_test"
ROOT = Path(__file__).resolve().parents[2]


def postgres_url() -> str:
    """The test server's URL; started with scripts/services.sh when it is not running."""
    port = os.environ.get("TETHER_PG_PORT", "54329")  # as scripts/services.sh reads it
    url = os.environ.get("TETHER_TEST_POSTGRES_URL", DEFAULT_PG_URL.replace("54329", port))
    for attempt in range(2):
        try:
            psycopg.connect(url, connect_timeout=5).close()
            return url
        except psycopg.OperationalError as exc:
            if attempt or "TETHER_TEST_POSTGRES_URL" in os.environ:
                pytest.fail(
                    f"PostgreSQL tests need a server at {url} ({exc}); run `make services` "
                    "(scripts/services.sh) or set TETHER_TEST_POSTGRES_URL",
                    pytrace=False,
                )
            subprocess.run(
                ["bash", str(ROOT / "scripts" / "services.sh")], check=False, timeout=600
            )
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def pg_url() -> str:
    """URL of the throwaway PostgreSQL the suite runs against (never skipped)."""
    return postgres_url()


async def drop_schema(url: str, schema: str) -> None:
    """Remove a test's schema and everything in it."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


_PG = pytest.param("postgres", marks=pytest.mark.postgres)


async def _make(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if kind == "memory":
        made: Store = MemoryStore()
    elif kind == "sqlite":
        made = SQLiteStore(tmp_path / "runs.db")
    else:
        url = request.getfixturevalue("pg_url")
        schema = f"test_{uuid.uuid4().hex[:12]}"
        made = PostgresStore(url, schema=schema)
    yield made
    await made.close()
    if kind == "postgres":
        await drop_schema(url, schema)


@pytest.fixture(params=["memory", "sqlite", _PG])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh, empty store of each kind (PostgreSQL: a schema of its own, dropped after)."""
    async for made in _make(request.param, request, tmp_path):
        yield made


@pytest.fixture(params=["sqlite", _PG])
async def sql_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh store shared through a database (several writers may meet there)."""
    async for made in _make(request.param, request, tmp_path):
        yield made
