"""VectorMemory on real SQLite (sqlite-vec) and real PostgreSQL, and the embedders."""

from __future__ import annotations

import asyncio
import json
import math
import sqlite3
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import openai  # noqa: F401 - imported here, not lazily inside the async tests
import pytest

from tests.memory.conftest import pgvector_url
from tests.memory.embeddings_server import EmbeddingsServer
from tests.store.conftest import drop_schema, postgres_url
from tether import Agent, Runner
from tether.errors import ModelProviderError, UserError
from tether.memory import HashEmbedder, OpenAIEmbedder, VectorMemory
from tether.memory._vector_rows import fuse
from tether.models import FakeModel, RetryPolicy
from tether.models import resilience as _resilience  # noqa: F401
from tether.store.postgres import PostgresStore

DATA = Path(__file__).parent / "data" / "facts.jsonl"
PAIRS = [json.loads(line) for line in DATA.read_text().splitlines()]


_STORES = [
    "sqlite",
    pytest.param("pgvector", marks=pytest.mark.postgres),
    pytest.param("postgres-exact", marks=pytest.mark.postgres),
]


@pytest.fixture(params=_STORES)
async def memory(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[VectorMemory]:
    """SQLite with sqlite-vec; PostgreSQL with pgvector; PostgreSQL without it (the exact scan)."""
    if request.param == "sqlite":
        made = await VectorMemory(f"sqlite:///{tmp_path}/runs.db", embedder=HashEmbedder()).open()
        assert not made.exact  # sqlite-vec is loaded: the index is used
        yield made
        await made.close()
        return
    if request.param == "pgvector":
        url = pgvector_url()
        schema = f"t_{uuid.uuid4().hex[:10]}"
        made = await VectorMemory(PostgresStore(url, schema=schema), embedder=HashEmbedder()).open()
        assert not made.exact  # pgvector is there: its HNSW index is used
    else:
        # The suite's main server is Debian's PostgreSQL, which has no pgvector: it must say so.
        url = postgres_url()
        schema = f"t_{uuid.uuid4().hex[:10]}"
        made = VectorMemory(PostgresStore(url, schema=schema), embedder=HashEmbedder())
        with pytest.warns(RuntimeWarning, match="no pgvector"):
            await made.open()
        assert made.exact
    yield made
    await made.close()
    await drop_schema(url, schema)


def test_hash_embedder_is_deterministic_normalized_and_graded() -> None:
    embedder = HashEmbedder(256)
    a, b = embedder.vector("refund the order"), embedder.vector("refund the order")
    assert a == b and math.isclose(sum(x * x for x in a), 1.0, rel_tol=1e-9)
    near = embedder.vector("please refund my order")
    far = embedder.vector("the cat sleeps on the sofa")

    def dot(x: list[float], y: list[float]) -> float:
        return sum(p * q for p, q in zip(x, y, strict=True))

    assert dot(a, near) > dot(a, far)
    with pytest.raises(UserError, match="dimension"):
        HashEmbedder(3)


async def test_add_search_delete_with_scopes_and_metadata(memory: VectorMemory) -> None:
    first = await memory.add(
        "Ann prefers window seats", user_id="ann", metadata={"topic": "travel"}
    )
    await memory.add("Ann is allergic to peanuts", user_id="ann", metadata={"topic": "food"})
    await memory.add("Bob prefers aisle seats", user_id="bob", metadata={"topic": "travel"})
    hits = await memory.search("which seats does Ann like?", user_id="ann", k=2)
    assert hits[0].text == "Ann prefers window seats"
    assert all(h.record.user_id == "ann" for h in hits)
    assert hits[0].vector_score is not None and hits[0].score > 0
    travel = await memory.search("seats", metadata={"topic": "travel"}, k=5)
    assert sorted(h.text for h in travel) == ["Ann prefers window seats", "Bob prefers aisle seats"]
    record = hits[0].record
    assert record.embedder == "hash:v2-512" and record.dimension == 512
    assert record.cost == 0.0 and record.cost_unit == "USD"
    assert await memory.count(user_id="ann") == 2
    assert await memory.delete(first) == 1
    assert await memory.count(user_id="ann") == 1
    assert await memory.delete(user_id="bob") == 1
    assert await memory.count() == 1
    with pytest.raises(UserError, match="needs an id or a scope"):
        await memory.delete()


async def test_agent_and_thread_scopes_and_min_score(memory: VectorMemory) -> None:
    await memory.add("the deploy window is Tuesday", agent="ops", thread_id="t1")
    await memory.add("the deploy window is Friday", agent="ops", thread_id="t2")
    await memory.add("the deploy window is Monday", agent="web", thread_id="t1")
    ops_t2 = await memory.search("deploy window", agent="ops", thread_id="t2", k=5)
    assert [h.text for h in ops_t2] == ["the deploy window is Friday"]
    ops = await memory.search("deploy window", agent="ops", k=5)
    assert {h.record.thread_id for h in ops} == {"t1", "t2"}
    assert await memory.search("deploy window", agent="nobody", k=5) == []
    strict = await memory.search("cats and dogs", mode="vector", min_score=0.5, k=5)
    assert strict == []  # nothing is that close
    assert await memory.delete(agent="ops", thread_id="t1") == 1
    assert await memory.count(agent="ops") == 1


async def test_adding_an_id_again_replaces_it(memory: VectorMemory) -> None:
    await memory.add("the wifi password is hunter2", id="wifi")
    await memory.add("the wifi password is correct-horse", id="wifi")
    hits = await memory.search("wifi password", k=5)
    assert [h.text for h in hits] == ["the wifi password is correct-horse"]


async def test_modes_hybrid_vector_keyword_and_rerank(memory: VectorMemory) -> None:
    await memory.add_many(
        ["invoice INV-2231 was paid late", "the invoice process takes thirty days", "cats purr"]
    )
    keyword = await memory.search("INV-2231", mode="keyword", k=3)
    assert keyword and keyword[0].text == "invoice INV-2231 was paid late"
    assert keyword[0].vector_score is None and keyword[0].keyword_score is not None
    vector = await memory.search("invoices paid", mode="vector", k=3)
    assert len(vector) == 3 and vector[-1].text == "cats purr"
    hybrid = await memory.search("invoice paid", k=2)
    assert {h.text for h in hybrid} <= {
        "invoice INV-2231 was paid late",
        "the invoice process takes thirty days",
    }
    memory.rerank = lambda query, hits: sorted(hits, key=lambda h: len(h.text))
    reranked = await memory.search("invoice", k=3)
    assert [len(h.text) for h in reranked] == sorted(len(h.text) for h in reranked)

    async def newest_last(query: str, hits: list[Any]) -> list[Any]:  # an async re-ranker
        return [h for h in hits if "cats" not in h.text]

    memory.rerank = newest_last
    assert all("cats" not in h.text for h in await memory.search("cats purr", k=3))
    with pytest.raises(UserError, match="mode"):
        await memory.search("x", mode="fuzzy")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="k must"):
        await memory.search("x", k=0)


async def test_recall_at_k_on_the_bundled_facts(memory: VectorMemory) -> None:
    ids = await memory.add_many([p["fact"] for p in PAIRS])
    found = {"vector@1": 0, "vector@3": 0, "hybrid@3": 0}
    for ident, pair in zip(ids, PAIRS, strict=True):
        vector = [h.id for h in await memory.search(pair["question"], k=3, mode="vector")]
        hybrid = [h.id for h in await memory.search(pair["question"], k=3)]
        found["vector@1"] += vector[0] == ident
        found["vector@3"] += ident in vector
        found["hybrid@3"] += ident in hybrid
    recall = {name: n / len(PAIRS) for name, n in found.items()}
    print(f"recall over {len(PAIRS)} questions: {recall}")
    assert recall["vector@3"] >= 0.8 and recall["vector@1"] >= 0.6 and recall["hybrid@3"] >= 0.8


def test_fuse_prefers_items_ranked_well_in_both() -> None:
    fused = fuse([["a", "b", "c"], ["b", "d"]], k=2)
    assert [item for item, _ in fused] == ["b", "a"]


async def test_exact_fallback_without_sqlite_vec_is_loud_and_gives_the_same_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    indexed = await VectorMemory(f"sqlite:///{tmp_path}/a.db", embedder=HashEmbedder(64)).open()
    monkeypatch.setitem(sys.modules, "sqlite_vec", None)  # the extension is not installed
    with pytest.warns(RuntimeWarning, match="sqlite-vec"):
        scanned = await VectorMemory(f"sqlite:///{tmp_path}/b.db", embedder=HashEmbedder(64)).open()
    assert scanned.exact and not indexed.exact
    texts = ["alpha beta", "beta gamma", "delta epsilon", "gamma delta"]
    for made in (indexed, scanned):
        await made.add_many(texts, ids=[str(i) for i in range(4)])
    for query in ("beta", "gamma delta", "epsilon"):
        a = await indexed.search(query, mode="vector", k=4)
        b = await scanned.search(query, mode="vector", k=4)
        assert [h.id for h in a] == [h.id for h in b]
        for x, y in zip(a, b, strict=True):
            assert math.isclose(x.score, y.score, abs_tol=1e-5)
    await indexed.close()
    await scanned.close()


async def test_memory_lives_in_the_runs_own_sqlite_file(tmp_path: Path) -> None:
    runner = Runner(store=f"sqlite:///{tmp_path}/runs.db", telemetry=None)
    await runner.run(Agent("a", model=FakeModel().add_response("hi")), "hello")
    memory = VectorMemory(runner.store, embedder=HashEmbedder(32))
    await memory.add("a fact beside the runs")
    with sqlite3.connect(tmp_path / "runs.db") as conn:
        tables = {r[0] for r in conn.execute("select name from sqlite_master")}
    assert {"tether_runs", "tether_memory"} <= tables
    await memory.close()
    await runner.aclose()


def _openai_embedder(server: EmbeddingsServer, **extra: Any) -> OpenAIEmbedder:
    return OpenAIEmbedder(model="nomic-embed-text", dimension=64, base_url=server.url, **extra)


async def test_openai_embedder_batches_caches_prices_and_sends_no_foreign_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-secret-must-not-leave")
    with EmbeddingsServer(64) as server:
        embedder = _openai_embedder(server, batch_size=2, price_per_million=0.02)
        out = await embedder.embed(["one two", "three", "four five six"])
        assert len(out.vectors) == 3 and out.dimension == 64
        assert out.vectors[0] == server.embedder.vector("one two")
        assert [len(r["body"]["input"]) for r in server.requests] == [2, 1]  # batched
        assert out.input_tokens == 6 and math.isclose(out.cost or 0, 6 * 0.02 / 1e6)
        again = await embedder.embed(["three", "one two"])
        assert len(server.requests) == 2 and again.cost == 0.0  # all from the cache
        for request in server.requests:
            assert "sk-env-secret" not in json.dumps(request["headers"])


async def test_openai_embedder_retries_429_then_fails_clearly_on_404() -> None:
    with EmbeddingsServer(64) as server:
        server.fail_next = [429, 503]
        embedder = _openai_embedder(server, retry=RetryPolicy(initial_delay=0.01))
        out = await embedder.embed(["hello"])
        assert len(out.vectors) == 1 and len(server.requests) == 3
        wrong = OpenAIEmbedder(model="m", dimension=64, base_url=server.url.replace("/v1", "/nope"))
        with pytest.raises(ModelProviderError, match="HTTP 404"):
            await wrong.embed(["hello"])
        wrong_dimension = _openai_embedder(server)
        wrong_dimension.dimension = 32
        with pytest.raises(UserError, match="dimension=64"):
            await wrong_dimension.embed(["other"])


async def test_vector_memory_with_the_openai_embedder_on_a_loopback_server(tmp_path: Path) -> None:
    with EmbeddingsServer(64) as server:
        memory = VectorMemory(f"sqlite:///{tmp_path}/m.db", embedder=_openai_embedder(server))
        await memory.add("the deploy window is Tuesday", kind="fact")
        (hit,) = await memory.search("when is the deploy window?", k=1)
        assert hit.record.embedder == "openai:nomic-embed-text" and hit.record.dimension == 64
        await memory.close()


def test_missing_key_without_base_url_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(UserError, match="OPENAI_API_KEY"):
        OpenAIEmbedder()._make_client()


class _Broken:
    """An embedder that answers wrongly in one of three ways."""

    name = "broken:v1"
    dimension = 4

    def __init__(self, how: str) -> None:
        self.how = how

    async def embed(self, texts: Any) -> Any:
        from tether.memory import Embeddings

        vectors = [[0.5, 0.5, 0.5, 0.5] for _ in texts]
        if self.how == "count":
            vectors = vectors[:-1]
        elif self.how == "length":
            vectors = [[1.0] for _ in texts]
        else:
            vectors = [[math.nan, 0.0, 0.0, 0.0] for _ in texts]
        return Embeddings(vectors, self.name, self.dimension)


@pytest.mark.parametrize(
    ("how", "message"),
    [("count", "0 vectors for 1 texts"), ("length", "1 numbers"), ("nan", "NaN")],
)
async def test_a_broken_embedder_or_bad_text_is_a_clear_error(
    tmp_path: Path, how: str, message: str
) -> None:
    memory = VectorMemory(f"sqlite:///{tmp_path}/m.db", embedder=_Broken(how))
    with pytest.raises(UserError, match=message):
        await memory.add("a fact")
    with pytest.raises(UserError, match=message):
        await memory.search("a question", mode="vector")
    assert await memory.count() == 0  # nothing half-written
    with pytest.raises(UserError, match="non-empty"):
        await memory.add("   ")
    with pytest.raises(UserError, match="limited to"):
        await memory.add("x" * 100_001)
    await memory.close()


async def test_search_in_a_time_window(memory: VectorMemory) -> None:
    """``newer_than`` / ``older_than``: "what did Ann ask last week", on every store."""
    await memory.add("Ann asked about a flight to Lisbon", user_id="ann", id="old")
    await asyncio.sleep(0.05)
    cut = time.time()
    await asyncio.sleep(0.05)
    await memory.add("Ann asked about a flight to Porto", user_id="ann", id="new")
    for mode in ("hybrid", "vector", "keyword"):
        recent = await memory.search("flight", user_id="ann", newer_than=cut, mode=mode)
        earlier = await memory.search("flight", user_id="ann", older_than=cut, mode=mode)
        assert ([h.id for h in recent], [h.id for h in earlier]) == (["new"], ["old"]), mode
    assert await memory.search("flight", newer_than=cut, older_than=cut) == []
    with pytest.raises(UserError, match="newer_than must be a Unix time"):
        await memory.search("flight", newer_than="last week")  # type: ignore[arg-type]
