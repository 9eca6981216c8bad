"""VectorMemory add and search latency at 10k and 100k vectors: SQLite (sqlite-vec), PostgreSQL
with pgvector (HNSW) and PostgreSQL without it (the exact scan in SQL).

    python bench/bench_memory.py [--sizes 10000,100000] [--dimension 128]
        [--pgvector URL] [--postgres URL] [--stores sqlite,pgvector,postgres]
    python bench/bench_memory.py --learned-recall   # pgvector's recall on learned embeddings

The URLs default to the test servers of scripts/services.sh (pgvector on 54330, the main one on
54329). Vectors are random unit vectors (the embedder is not what is measured; random vectors are
the hardest case for an approximate index); texts are short random words so the keyword index has
work too. Prints a markdown table: add throughput, search latency p50/p95 for vector, keyword and
hybrid search, unfiltered and scoped to one user of 50, and for an indexed store its recall@10
against the exact answer.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from tether.memory import Embeddings, VectorMemory
from tether.memory._vector_rows import Where

WORDS = [f"w{n}" for n in range(2000)]


class RandomEmbedder:
    """Random unit vectors, the same for the same text (so queries hit something)."""

    def __init__(self, dimension: int) -> None:
        self.dimension = dimension
        self.name = f"random:{dimension}"

    def vector(self, text: str) -> list[float]:
        rnd = random.Random(text)
        raw = [rnd.gauss(0, 1) for _ in range(self.dimension)]
        norm = math.sqrt(sum(v * v for v in raw))
        return [v / norm for v in raw]

    async def embed(self, texts: Sequence[str]) -> Embeddings:
        return Embeddings([self.vector(t) for t in texts], self.name, self.dimension)


def _texts(n: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    return [" ".join(rnd.choices(WORDS, k=8)) for _ in range(n)]


async def _recall(memory: VectorMemory, queries: list[str]) -> float:
    """Share of the exact top 10 an indexed vector search returns (the index's recall@10)."""
    backend: Any = memory._backend
    embedder: Any = memory.embedder
    found = 0
    for query in queries:
        got = {h.id for h in await memory.search(query, k=10, mode="vector")}
        vector = embedder.vector(query)
        if hasattr(backend, "_scan"):  # PostgreSQL: the exact <=> scan
            literal = "[" + ",".join(map(repr, vector)) + "]"
            exact = await backend._do(backend._scan, literal, 10, "embedder = %s", [embedder.name])
        else:  # SQLite: the filtered path scans exactly with vec_distance_cosine
            exact = await backend.vector_search(
                vector, 10, Where(embedder=embedder.name, kind="fact")
            )
        found += len(got & {row[0] for row in exact})
    return found / (10 * len(queries))


async def _measure(memory: VectorMemory, size: int, label: str, searches: int) -> list[str]:
    await memory.open()
    texts = _texts(size, 1)
    began = time.perf_counter()
    for start in range(0, size, 500):
        chunk = texts[start : start + 500]
        users = [f"u{(start + i) % 50}" for i in range(len(chunk))]
        for user in sorted(set(users)):
            await memory.add_many(
                [t for t, u in zip(chunk, users, strict=True) if u == user], user_id=user
            )
    add_rate = size / (time.perf_counter() - began)
    rows = [f"| {label} | {size:,} | {add_rate:,.0f}/s |"]
    queries = _texts(searches, 2)
    for mode, scope in (
        ("vector", {}),
        ("vector", {"user_id": "u7"}),
        ("keyword", {}),
        ("hybrid", {}),
    ):
        times = []
        for query in queries:
            t0 = time.perf_counter()
            await memory.search(query, k=10, mode=mode, **scope)
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        p95 = times[int(len(times) * 0.95) - 1]
        rows[0] += f" {statistics.median(times):.1f} / {p95:.1f} ms |"
    rows[0] += " exact |" if memory.exact else f" {await _recall(memory, queries[:10]):.2f} |"
    await memory.close()
    return rows


async def _postgres(url: str, size: int, label: str, args: Any, searches: int) -> None:
    import psycopg

    from tether.store.postgres import PostgresStore

    schema = f"bench_{size}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'drop schema if exists "{schema}" cascade')
    memory = VectorMemory(
        PostgresStore(url, schema=schema), embedder=RandomEmbedder(args.dimension)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the no-pgvector warning: that is what is measured
        for row in await _measure(memory, size, label, searches):
            print(row, flush=True)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'drop schema "{schema}" cascade')


def _learned_recall(url: str) -> None:
    """pgvector's HNSW recall@10 on learned embeddings: the 32k token vectors of WordLlama's
    bundled model (256 dimensions), 20 of them as queries, the index built over the rest at
    once, at the ef_search VectorMemory uses for k=10 and around it. Random vectors are the
    worst case for a graph index; this is what real embeddings look like."""
    import numpy as np
    import psycopg

    from tether.memory._wordllama import _model

    table = np.asarray(_model(256).embedding, dtype=np.float32)
    norms = np.linalg.norm(table, axis=1)
    table = table[norms > 0] / norms[norms > 0, None]
    picked = np.random.default_rng(1).choice(len(table), 20, replace=False)
    data, queries = np.delete(table, picked, axis=0), table[picked]
    exact = [set(np.argsort(-row)[:10].tolist()) for row in queries @ data.T]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("drop table if exists bench_learned")
        conn.execute("create table bench_learned (id int primary key, v vector(256))")
        with conn.cursor() as cur, cur.copy("copy bench_learned (id, v) from stdin") as copy:
            for i, row in enumerate(data):
                copy.write_row((i, "[" + ",".join(map(repr, row.tolist())) + "]"))
        conn.execute("create index on bench_learned using hnsw (v vector_cosine_ops)")
        for breadth in (40, 100, 200):
            found = 0
            for query, truth in zip(queries, exact, strict=True):
                literal = "[" + ",".join(map(repr, query.tolist())) + "]"
                with conn.transaction():
                    conn.execute(f"set local hnsw.ef_search = {breadth}")
                    rows = conn.execute(
                        "select id from bench_learned order by v <=> %s::vector limit 10",
                        (literal,),
                    ).fetchall()
                found += len({r[0] for r in rows} & truth)
            label = f"{len(data):,} WordLlama token vectors"
            print(f"| {label} | ef_search {breadth} | {found / 200:.3f} |")
        conn.execute("drop table bench_learned")


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--dimension", type=int, default=128)
    parser.add_argument("--stores", default="sqlite,pgvector,postgres")
    parser.add_argument(
        "--pgvector", default="postgresql://tether:tether@127.0.0.1:54330/tether_test"
    )
    parser.add_argument(
        "--postgres", default="postgresql://tether:tether@127.0.0.1:54329/tether_test"
    )
    parser.add_argument("--searches", type=int, default=30)
    parser.add_argument(
        "--learned-recall", action="store_true", help="only pgvector's recall on learned vectors"
    )
    args = parser.parse_args(argv)
    if args.learned_recall:
        print("| data | search breadth | recall@10 |\n|---|---|---|")
        _learned_recall(args.pgvector)
        return 0
    stores = args.stores.split(",")
    print(
        "| store | vectors | add | vector p50/p95 | vector, one user | keyword | hybrid |"
        " recall@10 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for size in (int(s) for s in args.sizes.split(",")):
        if "sqlite" in stores:
            with tempfile.TemporaryDirectory() as tmp:
                memory = VectorMemory(
                    f"sqlite:///{tmp}/m.db", embedder=RandomEmbedder(args.dimension)
                )
                for row in await _measure(memory, size, "SQLite + sqlite-vec", args.searches):
                    print(row, flush=True)
        if "pgvector" in stores:
            await _postgres(args.pgvector, size, "PostgreSQL + pgvector", args, args.searches)
        if "postgres" in stores:  # the exact scan is slow: fewer searches at 100k
            searches = args.searches if size <= 10_000 else max(3, args.searches // 6)
            await _postgres(args.postgres, size, "PostgreSQL, no pgvector", args, searches)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
