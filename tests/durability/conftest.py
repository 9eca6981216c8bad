"""Durability fixtures: a store URL per SQL store, shareable with other processes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest
from store.conftest import drop_schema, postgres_url


@pytest.fixture(scope="session")
def pg_url() -> str:
    """URL of the throwaway PostgreSQL the suite runs against (never skipped)."""
    return postgres_url()


async def pg_schema_url(url: str) -> tuple[str, str]:
    """A new, empty schema and a URL whose connections use it (through search_path)."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    return schema, f"{url}?options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A store URL (SQLite file or PostgreSQL schema) that other processes can open too."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'runs.db'}"
        return
    url = request.getfixturevalue("pg_url")
    schema, schema_url = await pg_schema_url(url)
    yield schema_url
    await drop_schema(url, schema)
