"""VectorMemory add and search latency at 10k and 100k vectors, SQLite (sqlite-vec) and PostgreSQL.

    python bench/bench_memory.py [--sizes 10000,100000] [--dimension 128] [--postgres URL]

Vectors are random unit vectors (the embedder is not what is measured); texts are short random
words so the keyword index has work too. Prints a markdown table: add throughput (batches of 500)
and search latency p50/p95 for vector, keyword and hybrid search, unfiltered and scoped to a user.
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
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from tether.memory import Embeddings, VectorMemory

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


async def _measure(memory: VectorMemory, size: int, label: str) -> list[str]:
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
    queries = _texts(30, 2)
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
    await memory.close()
    return rows


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--dimension", type=int, default=128)
    parser.add_argument("--postgres", default=None, help="also measure on this PostgreSQL URL")
    args = parser.parse_args(argv)
    print("| store | vectors | add | vector p50/p95 | vector, one user | keyword | hybrid |")
    print("|---|---|---|---|---|---|---|")
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            memory = VectorMemory(f"sqlite:///{tmp}/m.db", embedder=RandomEmbedder(args.dimension))
            for row in await _measure(memory, size, "SQLite + sqlite-vec"):
                print(row, flush=True)
        if args.postgres:
            from tether.store.postgres import PostgresStore

            schema = f"bench_{size}"
            memory = VectorMemory(
                PostgresStore(args.postgres, schema=schema), embedder=RandomEmbedder(args.dimension)
            )
            for row in await _measure(memory, size, "PostgreSQL"):
                print(row, flush=True)
            import psycopg

            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f'drop schema "{schema}" cascade')
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
