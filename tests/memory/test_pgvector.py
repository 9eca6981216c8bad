"""VectorMemory on real PostgreSQL with pgvector (HNSW), and loudly without it."""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import AsyncIterator

import pytest

from tests.memory.conftest import pgvector_url
from tests.store.conftest import drop_schema, postgres_url
from tether.memory import HashEmbedder, VectorMemory
from tether.memory._vector_rows import Where

pytestmark = pytest.mark.postgres

TEXTS = [f"note {i}: the {c} {a} sits on shelf {i % 13}" for i, (c, a) in enumerate(
    (c, a) for c in ("red", "blue", "green", "old", "new") for a in ("book", "lamp", "cup", "map")
)] * 15  # fmt: skip


@pytest.fixture
async def schemas() -> AsyncIterator[list[tuple[str, str]]]:
    made: list[tuple[str, str]] = []
    yield made
    for url, schema in made:
        await drop_schema(url, schema)


def _open(url: str, made: list[tuple[str, str]], dimension: int = 64) -> VectorMemory:
    schema = f"t_{uuid.uuid4().hex[:10]}"
    made.append((url, schema))
    return VectorMemory(f"{url}?options=-csearch_path%3D{schema}", embedder=HashEmbedder(dimension))


async def _create_schema(url: str, schema: str) -> None:
    import psycopg

    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(f'create schema "{schema}"')


async def test_pgvector_walks_its_hnsw_index_and_agrees_with_the_exact_scan(
    schemas: list[tuple[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    indexed = _open(pgvector_url(), schemas)
    scanned = _open(postgres_url(), schemas)
    for url, schema in schemas:
        await _create_schema(url, schema)
    await indexed.open()
    with caplog.at_level(logging.WARNING, "tether.memory"), pytest.warns(RuntimeWarning):
        await scanned.open()
    assert not indexed.exact and scanned.exact
    assert any("no pgvector" in r.getMessage() for r in caplog.records)  # logged, not only warned
    ids = [f"n{i}" for i in range(len(TEXTS))]
    users = ["rare" if i % 100 == 7 else "common" for i in range(len(TEXTS))]
    for memory in (indexed, scanned):
        for user in ("rare", "common"):
            chosen = [i for i, u in enumerate(users) if u == user]
            await memory.add_many(
                [TEXTS[i] for i in chosen], ids=[ids[i] for i in chosen], user_id=user
            )
    query = (await indexed.embedder.embed(["the blue lamp on shelf 4"])).vectors[0]
    backend = indexed._backend
    plan = await backend._do(backend.plan, query, Where(embedder=indexed.embedder.name))  # type: ignore[attr-defined]
    assert "tether_memory_hnsw_" in plan  # the search walks the HNSW index
    for question, scope in (
        ("the blue lamp on shelf 4", {}),
        ("an old map", {"user_id": "common"}),
        # 3 rows of 300: the filtered walk finds fewer than k, so the exact scan answers.
        ("a blue map on shelf 3", {"user_id": "rare"}),
    ):
        a = await indexed.search(question, k=3, mode="vector", **scope)
        b = await scanned.search(question, k=3, mode="vector", **scope)
        assert len(a) == 3 and [round(h.score, 4) for h in a] == [round(h.score, 4) for h in b]
        assert all(h.record.user_id == scope.get("user_id", h.record.user_id) for h in a)
        hybrid = await indexed.search(question, k=3, **scope)
        assert len(hybrid) == 3 and any(h.keyword_score is not None for h in hybrid)
        assert all(h.record.user_id == scope.get("user_id", h.record.user_id) for h in hybrid)
    rare = await indexed.search("anything at all", k=10, mode="vector", user_id="rare")
    expected = [i for i, u in zip(ids, users, strict=True) if u == "rare"]
    assert sorted(h.id for h in rare) == sorted(expected)
    await indexed.close()
    await scanned.close()


async def test_pgvector_filters_metadata_and_deletes_through_the_index(
    schemas: list[tuple[str, str]],
) -> None:
    memory = _open(pgvector_url(), schemas)
    await _create_schema(*schemas[0])
    await memory.add_many(["Ann likes tea", "Ann likes coffee"], metadata={"src": "chat"})
    await memory.add("Ann likes cocoa", metadata={"src": "email"})
    (hit,) = await memory.search("what does Ann drink?", k=1, metadata={"src": "email"})
    assert hit.text == "Ann likes cocoa" and math.isclose(hit.score, hit.score)
    assert await memory.delete(metadata={"src": "chat"}) == 2
    assert [h.text for h in await memory.search("Ann", k=5, mode="vector")] == ["Ann likes cocoa"]
    await memory.close()


async def test_vectors_too_long_for_an_hnsw_index_are_scanned_and_logged(
    schemas: list[tuple[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    memory = _open(pgvector_url(), schemas, dimension=4096)
    await _create_schema(*schemas[0])
    with caplog.at_level(logging.WARNING, "tether.memory"):
        await memory.add_many(["a long vector", "another long vector"])
    assert any("4096 dimensions" in r.getMessage() for r in caplog.records)
    hits = await memory.search("a long vector", k=1, mode="vector")
    assert hits[0].text == "a long vector" and math.isclose(hits[0].score, 1.0, abs_tol=1e-5)
    await memory.close()


async def test_runs_memory_and_episodes_share_one_pgvector_database(
    schemas: list[tuple[str, str]],
) -> None:
    from tether import Agent, RunConfig, Runner
    from tether.memory import EpisodicMemory, Retention
    from tether.models import FakeModel
    from tether.store.postgres import PostgresStore

    url, schema = pgvector_url(), f"t_{uuid.uuid4().hex[:10]}"
    schemas.append((url, schema))
    store = PostgresStore(url, schema=schema)
    memory = VectorMemory(store, embedder=HashEmbedder())
    episodes = EpisodicMemory(
        memory, retention=Retention(max_count=2, delete_runs=True), store=store
    )
    runner = Runner(store=store, telemetry=[episodes])
    ids = []
    for n, city in enumerate(("Lisbon", "Paris", "Oslo")):
        agent = Agent("travel", model=FakeModel().add_response(f"The {city} flight leaves at {n}."))
        config = RunConfig(trace_metadata={"user_id": "ann"})
        ids.append(
            (await runner.run(agent, f"When is my flight to {city}?", run_config=config)).run_id
        )
    assert not memory.exact  # the runs' database has pgvector: episodes are indexed
    hits = await episodes.search("flight to Oslo", user_id="ann", k=1)
    assert hits[0].record.metadata["run_id"] == ids[2]
    assert await memory.count(kind="episode") == 2  # retention by count ...
    assert await store.run_info(ids[0]) is None  # ... forgot the oldest run's checkpoints too
    import psycopg

    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute(
            "select table_name from information_schema.tables where table_schema = %s", (schema,)
        )
        tables = {r[0] for r in await cur.fetchall()}
    assert "tether_memory" in tables and "tether_runs" in tables  # one schema, one database
    await runner.aclose()
    await memory.close()
