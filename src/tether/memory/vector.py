"""``VectorMemory``: texts recalled by meaning, stored where the runs are stored.

::

    memory = VectorMemory("sqlite:///.tether/tether.db", embedder=HashEmbedder())
    await memory.add("Ann prefers window seats", user_id="ann")
    hits = await memory.search("where does Ann like to sit?", user_id="ann", k=3)

The store is a URL (``sqlite:///path``, ``postgresql://...``) or a tether Store (its file or
database is used), so facts live beside the runs with no new server. Search is ``"hybrid"`` by
default: the vector ranking and a keyword ranking (FTS5 / PostgreSQL full text) fused by
reciprocal rank; ``mode="vector"`` or ``"keyword"`` uses one. ``rerank`` re-orders the hits
(a cross-encoder, an LLM, a business rule). Scope a memory per agent, thread or user with the
keyword arguments, and by metadata with ``metadata={...}`` (equality on each key).
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal

from ..errors import UserError
from ._vector_rows import Backend, Hit, Record, Where, fts_terms, fuse
from .embedders import Embedder, Embeddings, HashEmbedder

__all__ = ["Hit", "Record", "SearchMode", "VectorMemory"]

SearchMode = Literal["hybrid", "vector", "keyword"]
Reranker = Callable[[str, list[Hit]], "list[Hit] | Awaitable[list[Hit]]"]
_MAX_TEXT = 100_000


def _backend(store: Any) -> Backend:
    schema = None
    if not isinstance(store, str):
        path = getattr(store, "path", None)
        url = getattr(store, "url", None)
        if isinstance(path, str):
            store = f"sqlite:///{path}"
        elif isinstance(url, str):
            store, schema = url, getattr(store, "schema", None)
        else:
            raise UserError(
                f"VectorMemory needs a SQLite or PostgreSQL store (URL or Store), not {store!r}"
            )
    if store.startswith("sqlite://"):
        from ._vector_sqlite import SQLiteVectors

        path = store[len("sqlite://") :]
        path = path[1:] if path.startswith("/") else path
        return SQLiteVectors(path or ".tether/tether.db")
    if store.startswith(("postgresql://", "postgres://")):
        from .._extras import require

        require("postgres", "psycopg")
        from ._vector_postgres import PostgresVectors

        return PostgresVectors(store, schema)
    raise UserError(f"unknown store URL {store!r}: use 'sqlite:///path' or 'postgresql://...'")


def _check(batch: Embeddings, count: int, embedder: Embedder) -> None:
    """An embedder's answer is usable: one finite vector a text, each of its dimension."""
    if len(batch.vectors) != count:
        raise UserError(f"{embedder.name} gave {len(batch.vectors)} vectors for {count} texts")
    for vector in batch.vectors:
        if len(vector) != batch.dimension:
            raise UserError(
                f"{embedder.name} gave a vector of {len(vector)} numbers, not its dimension "
                f"{batch.dimension}"
            )
        if not all(math.isfinite(v) for v in vector):
            raise UserError(f"{embedder.name} gave a vector with NaN or infinite numbers")


def _is_time(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class VectorMemory:
    """Add, search and delete texts by meaning; see the module docstring."""

    def __init__(
        self,
        store: Any = "sqlite:///.tether/tether.db",
        *,
        embedder: Embedder | None = None,
        rerank: Reranker | None = None,
    ) -> None:
        self.embedder: Embedder = embedder if embedder is not None else HashEmbedder()
        self.rerank = rerank
        self._store = store
        self._opened: Backend | None = None
        self._opening: asyncio.Lock | None = None

    async def open(self) -> VectorMemory:
        """Connect and create the tables (in a thread); every method does it on first use."""
        if self._opened is None:
            if self._opening is None:
                self._opening = asyncio.Lock()
            async with self._opening:
                if self._opened is None:
                    self._opened = await asyncio.to_thread(_backend, self._store)
        return self

    @property
    def _backend(self) -> Backend:
        if self._opened is None:
            raise UserError("this VectorMemory is not open yet: await memory.open() first")
        return self._opened

    @property
    def exact(self) -> bool:
        """True when the store has no vector index (sqlite-vec / pgvector) and scans instead.
        Known once the memory is open."""
        return self._backend.exact

    async def add(
        self,
        text: str,
        *,
        id: str | None = None,
        metadata: dict[str, Any] | None = None,
        agent: str | None = None,
        thread_id: str | None = None,
        user_id: str | None = None,
        kind: str = "fact",
    ) -> str:
        """Store ``text`` and return its id (an existing ``id`` is replaced)."""
        (ident,) = await self.add_many(
            [text], ids=[id], metadata=metadata, agent=agent, thread_id=thread_id,
            user_id=user_id, kind=kind,
        )  # fmt: skip
        return ident

    async def add_many(
        self,
        texts: Sequence[str],
        *,
        ids: Sequence[str | None] | None = None,
        metadata: dict[str, Any] | None = None,
        agent: str | None = None,
        thread_id: str | None = None,
        user_id: str | None = None,
        kind: str = "fact",
    ) -> list[str]:
        """Store several texts in one embedding batch; returns their ids in order."""
        ids_out, _ = await self._add_many(
            texts, ids=ids, metadata=metadata, agent=agent, thread_id=thread_id,
            user_id=user_id, kind=kind,
        )  # fmt: skip
        return ids_out

    async def _add_many(
        self,
        texts: Sequence[str],
        *,
        ids: Sequence[str | None] | None = None,
        metadata: dict[str, Any] | None = None,
        agent: str | None = None,
        thread_id: str | None = None,
        user_id: str | None = None,
        kind: str = "fact",
    ) -> tuple[list[str], Embeddings]:
        """:meth:`add_many`, and what embedding the texts cost (for a run's usage)."""
        await self.open()
        for text in texts:
            if not isinstance(text, str) or not text.strip():
                raise UserError("VectorMemory.add needs non-empty strings")
            if len(text) > _MAX_TEXT:
                raise UserError(
                    f"a memory text is limited to {_MAX_TEXT} characters, got {len(text)}"
                )
        given = list(ids) if ids is not None else [None] * len(texts)
        if len(given) != len(texts):
            raise UserError("add_many needs as many ids as texts")
        batch = await self.embedder.embed(list(texts))
        _check(batch, len(texts), self.embedder)
        share = None if batch.cost is None else batch.cost / max(1, len(texts))
        now = time.time()
        records = [
            Record(
                id=ident or uuid.uuid4().hex, text=text, metadata=dict(metadata or {}),
                agent=agent, thread_id=thread_id, user_id=user_id, kind=kind,
                embedder=batch.model, dimension=batch.dimension, cost=share, created_at=now,
            )
            for ident, text in zip(given, texts, strict=True)
        ]  # fmt: skip
        await self._backend.add(records, batch.vectors)
        return [r.id for r in records], batch

    def _where(self, **scope: Any) -> Where:
        return Where(embedder=self.embedder.name, **scope)

    async def search(
        self,
        query: str,
        *,
        k: int = 5,
        mode: SearchMode = "hybrid",
        metadata: dict[str, Any] | None = None,
        agent: str | None = None,
        thread_id: str | None = None,
        user_id: str | None = None,
        kind: str | None = None,
        min_score: float | None = None,
        newer_than: float | None = None,
        older_than: float | None = None,
    ) -> list[Hit]:
        """The ``k`` best records for ``query`` in the given scope, best first; ``newer_than``
        / ``older_than`` (Unix times) keep records added in that window ("last week")."""
        hits, _ = await self._search(
            query, k=k, mode=mode, metadata=metadata, agent=agent, thread_id=thread_id,
            user_id=user_id, kind=kind, min_score=min_score, newer_than=newer_than,
            older_than=older_than,
        )  # fmt: skip
        return hits

    async def _search(
        self,
        query: str,
        *,
        k: int = 5,
        mode: SearchMode = "hybrid",
        metadata: dict[str, Any] | None = None,
        agent: str | None = None,
        thread_id: str | None = None,
        user_id: str | None = None,
        kind: str | None = None,
        min_score: float | None = None,
        newer_than: float | None = None,
        older_than: float | None = None,
    ) -> tuple[list[Hit], Embeddings | None]:
        """:meth:`search`, and what embedding the query cost (None: it was not embedded)."""
        await self.open()
        if not isinstance(k, int) or k < 1:
            raise UserError(f"k must be a positive integer, not {k!r}")
        if mode not in ("hybrid", "vector", "keyword"):
            raise UserError(f"mode must be 'hybrid', 'vector' or 'keyword', not {mode!r}")
        for name, when in (("newer_than", newer_than), ("older_than", older_than)):
            if when is not None and not _is_time(when):
                raise UserError(f"{name} must be a Unix time in seconds, not {when!r}")
        where = self._where(
            agent=agent, thread_id=thread_id, user_id=user_id, kind=kind, metadata=metadata,
            newer_than=newer_than, older_than=older_than,
        )  # fmt: skip
        depth = k * 4 if mode == "hybrid" else k
        vector_hits: list[tuple[str, float]] = []
        keyword_hits: list[tuple[str, float]] = []
        embedded = None
        if mode != "keyword":
            embedded = await self.embedder.embed([query])
            _check(embedded, 1, self.embedder)
            (vector,) = embedded.vectors
            vector_hits = await self._backend.vector_search(vector, depth, where)
        if mode != "vector":
            keyword_hits = await self._backend.keyword_search(fts_terms(query), depth, where)
        if mode == "hybrid":
            ranked = fuse([[i for i, _ in vector_hits], [i for i, _ in keyword_hits]], k)
        else:
            ranked = (vector_hits or keyword_hits)[:k]
        by_vector, by_keyword = dict(vector_hits), dict(keyword_hits)
        if min_score is not None:  # on the vector similarity when there is one
            ranked = [(i, s) for i, s in ranked if by_vector.get(i, s) >= min_score]
        records = {r.id: r for r in await self._backend.get([i for i, _ in ranked])}
        hits = [
            Hit(records[i], score, by_vector.get(i), by_keyword.get(i))
            for i, score in ranked
            if i in records
        ]
        if self.rerank is not None:
            reordered = self.rerank(query, hits)
            hits = list(await reordered if isinstance(reordered, Awaitable) else reordered)
        return hits, embedded

    async def delete(
        self,
        id: str | None = None,
        *,
        metadata: dict[str, Any] | None = None,
        agent: str | None = None,
        thread_id: str | None = None,
        user_id: str | None = None,
        kind: str | None = None,
        older_than: float | None = None,
    ) -> int:
        """Delete one record by id, or every record of a scope; returns how many went."""
        await self.open()
        scope = dict(agent=agent, thread_id=thread_id, user_id=user_id, kind=kind)
        if (
            id is None
            and metadata is None
            and older_than is None
            and all(v is None for v in scope.values())
        ):
            raise UserError(
                "delete() needs an id or a scope (deleting everything is not a default)"
            )
        where = Where(
            agent=agent, thread_id=thread_id, user_id=user_id, kind=kind, metadata=metadata,
            older_than=older_than,
        )  # fmt: skip
        return await self._backend.delete(where, None if id is None else [id])

    async def count(self, **scope: Any) -> int:
        """How many records of this embedder are in the scope (agent, thread_id, user_id, kind)."""
        await self.open()
        return await self._backend.count(self._where(**scope))

    async def keep_newest(self, keep: int, **scope: Any) -> int:
        """Delete all but the ``keep`` newest records of a scope; returns how many went."""
        await self.open()
        where = Where(**scope)
        kept = set(await self._backend.newest_ids(where, keep))
        total = await self._backend.newest_ids(where, 10**9)
        doomed = [i for i in total if i not in kept]
        return await self._backend.delete(where, doomed) if doomed else 0

    async def close(self) -> None:
        """Close the store connection (a closed memory opens again on next use)."""
        if self._opened is not None:
            opened, self._opened = self._opened, None
            await opened.close()
