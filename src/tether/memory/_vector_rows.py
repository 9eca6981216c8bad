"""What the vector-memory backends share: the stored record, the scope filter, rank fusion."""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["Backend", "Hit", "Record", "Where", "cosine", "fts_terms", "fuse", "pack", "unpack"]

_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Record:
    """One stored text with its vector and where it belongs."""

    id: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    agent: str | None = None
    thread_id: str | None = None
    user_id: str | None = None
    #: "fact" (remembered), "episode" (a finished run) or any kind of the caller's.
    kind: str = "fact"
    #: The embedder that made the vector ("hash:v1-256", "openai:text-embedding-3-small").
    embedder: str = ""
    dimension: int = 0
    #: What embedding this text cost, in ``cost_unit`` (None: unknown).
    cost: float | None = 0.0
    cost_unit: str = "USD"
    created_at: float = 0.0


@dataclass(frozen=True, slots=True)
class Hit:
    """A search result: the record, its final score (higher is better) and the parts of it."""

    record: Record
    score: float
    vector_score: float | None = None
    keyword_score: float | None = None

    @property
    def text(self) -> str:
        """The record's text."""
        return self.record.text

    @property
    def id(self) -> str:
        """The record's id."""
        return self.record.id


@dataclass(frozen=True, slots=True)
class Where:
    """Which records a search or delete may touch. None means any."""

    agent: str | None = None
    thread_id: str | None = None
    user_id: str | None = None
    kind: str | None = None
    #: Every key must equal (JSON equality) the record's metadata value.
    metadata: dict[str, Any] | None = None
    embedder: str | None = None
    older_than: float | None = None  # created_at below this (retention, a time window)
    newer_than: float | None = None  # created_at at or above this (a time window)


class Backend(Protocol):
    """Storage and search of records; one implementation per store kind."""

    exact: bool

    async def add(self, records: Sequence[Record], vectors: Sequence[Sequence[float]]) -> None: ...
    async def delete(self, where: Where, ids: Sequence[str] | None = None) -> int: ...
    async def vector_search(
        self, vector: Sequence[float], k: int, where: Where
    ) -> list[tuple[str, float]]: ...
    async def keyword_search(
        self, terms: list[str], k: int, where: Where
    ) -> list[tuple[str, float]]: ...
    async def get(self, ids: Sequence[str]) -> list[Record]: ...
    async def count(self, where: Where) -> int: ...
    async def newest_ids(self, where: Where, keep: int) -> list[str]: ...
    async def close(self) -> None: ...


def pack(vector: Sequence[float]) -> bytes:
    """float32 little-endian bytes (the layout sqlite-vec reads)."""
    return struct.pack(f"<{len(vector)}f", *vector)


def unpack(blob: bytes) -> list[float]:
    """The inverse of :func:`pack`."""
    return list(struct.unpack(f"<{len(blob) // 4}f", blob))


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity (1.0: same direction)."""
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return 0.0 if norm == 0 else dot / norm


def fts_terms(query: str) -> list[str]:
    """The words of a query, lower-cased, for a keyword index (no query syntax gets through)."""
    return list(dict.fromkeys(w.lower() for w in _WORD.findall(query)))


def fuse(rankings: Sequence[Sequence[str]], k: int, constant: int = 60) -> list[tuple[str, float]]:
    """Reciprocal rank fusion of several rankings of ids: the best ``k`` with their fused score."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for position, item in enumerate(ranking):
            scores[item] = scores.get(item, 0.0) + 1.0 / (constant + position + 1)
    return sorted(scores.items(), key=lambda pair: pair[1], reverse=True)[:k]
