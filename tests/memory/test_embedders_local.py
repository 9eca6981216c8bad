"""The local embedders: HashEmbedder and WordLlamaEmbedder (a model bundled in its wheel), and
recall@k of both on the bundled sets (facts sharing words with their questions; paraphrases)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from tether._extras import MissingExtra
from tether.errors import UserError
from tether.memory import Embedder, HashEmbedder, VectorMemory, WordLlamaEmbedder

DATA = Path(__file__).parent / "data"


def _pairs(name: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in (DATA / f"{name}.jsonl").read_text().splitlines()]


async def recall_at_k(embedder: Embedder, name: str, path: Path) -> dict[str, float]:
    """vector@1, vector@3 and hybrid@3 of the bundled set ``name``, on a SQLite VectorMemory."""
    pairs = _pairs(name)
    memory = VectorMemory(f"sqlite:///{path}", embedder=embedder)
    ids = await memory.add_many([p["fact"] for p in pairs])
    found = {"vector@1": 0, "vector@3": 0, "hybrid@3": 0}
    for ident, pair in zip(ids, pairs, strict=True):
        vector = [h.id for h in await memory.search(pair["question"], k=3, mode="vector")]
        hybrid = [h.id for h in await memory.search(pair["question"], k=3)]
        found["vector@1"] += vector[0] == ident
        found["vector@3"] += ident in vector
        found["hybrid@3"] += ident in hybrid
    await memory.close()
    return {key: round(n / len(pairs), 3) for key, n in found.items()}


def _cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


async def test_wordllama_embeds_meaning_from_its_bundled_weights() -> None:
    embedder = WordLlamaEmbedder()
    assert isinstance(embedder, Embedder) and embedder.name == "wordllama:l2_supercat-256"
    batch = await embedder.embed(["the car broke down", "my automobile needs repair", "tea time"])
    car, automobile, tea = batch.vectors
    assert batch.dimension == 256 and len(car) == 256 and batch.cost == 0.0
    assert math.isclose(_cos(car, car), 1.0, abs_tol=1e-5)
    assert _cos(car, automobile) > _cos(car, tea) + 0.2  # synonyms meet, with no shared word
    hashed = HashEmbedder()
    assert (
        _cos(hashed.vector("the car broke down"), hashed.vector("my automobile needs repair")) < 0.3
    )
    small = await WordLlamaEmbedder(64).embed(["the car broke down"])
    assert small.dimension == 64 and small.model == "wordllama:l2_supercat-64"
    with pytest.raises(UserError, match="one of"):
        WordLlamaEmbedder(100)


async def test_recall_at_k_hash_against_wordllama_on_the_bundled_sets(tmp_path: Path) -> None:
    table = {
        (embedder.name, name): await recall_at_k(embedder, name, tmp_path / f"{i}-{name}.db")
        for i, embedder in enumerate([HashEmbedder(), WordLlamaEmbedder()])
        for name in ("facts", "paraphrases")
    }
    print("recall@k:", json.dumps({f"{e} / {n}": r for (e, n), r in table.items()}, indent=1))
    hashed, llama = "hash:v2-512", "wordllama:l2_supercat-256"
    for embedder in (hashed, llama):
        assert table[embedder, "facts"]["vector@3"] >= 0.9  # shared words: both find them
    # Paraphrases share no words with their questions: only the model finds most of them.
    assert table[llama, "paraphrases"]["vector@3"] >= 0.85
    assert table[llama, "paraphrases"]["vector@3"] >= table[hashed, "paraphrases"]["vector@3"] + 0.3


def test_without_the_extra_the_error_names_it() -> None:
    code = (
        "import sys; sys.modules['wordllama'] = None\n"
        "from tether.memory import WordLlamaEmbedder\n"
        "WordLlamaEmbedder()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 1 and MissingExtra.__name__ in done.stderr
    assert 'pip install "tether[wordllama]"' in done.stderr
