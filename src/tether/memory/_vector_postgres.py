"""Vector memory in PostgreSQL (the runs' own database), searched with pgvector when it is there.

Records live in ``tether_memory`` with each vector as ``real[]`` and a generated ``tsvector`` for
keyword search. With the ``vector`` extension (pgvector) installed, a ``vector`` column is kept
beside it and searched with the ``<=>`` cosine operator; without it, the same search runs in SQL
as an exact dot product over the matching rows (vectors are stored normalized), with a warning.
"""

from __future__ import annotations

import asyncio
import json
import threading
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from ._vector_rows import Record, Where

__all__ = ["PostgresVectors"]

_SCHEMA = """
create table if not exists tether_memory (
    id text primary key,
    text text not null,
    metadata jsonb not null default '{}',
    agent text, thread_id text, user_id text,
    kind text not null default 'fact',
    embedder text not null, dimension integer not null,
    cost double precision, cost_unit text not null default 'USD',
    created_at double precision not null,
    embedding real[] not null,
    tsv tsvector generated always as (to_tsvector('simple', text)) stored
);
create index if not exists tether_memory_scope on tether_memory (agent, thread_id, user_id);
create index if not exists tether_memory_tsv on tether_memory using gin (tsv);
"""


class PostgresVectors:
    """The PostgreSQL backend of :class:`~tether.memory.VectorMemory`."""

    def __init__(self, url: str, schema: str | None = None) -> None:
        import psycopg
        from psycopg import sql

        self.url = url
        self._conn = psycopg.connect(url, autocommit=True)
        self._lock = threading.Lock()
        with self._conn.cursor() as cur:
            cur.execute("select pg_advisory_lock(72250001)")  # replicas create the schema once
            try:
                if schema is not None:  # the same schema as the runs' store
                    cur.execute(
                        sql.SQL("create schema if not exists {}").format(sql.Identifier(schema))
                    )
                    cur.execute(
                        sql.SQL("set search_path to {}, public").format(sql.Identifier(schema))
                    )
                cur.execute(_SCHEMA)
                self.exact = not self._try_pgvector(cur)
            finally:
                cur.execute("select pg_advisory_unlock(72250001)")
        if self.exact:
            warnings.warn(
                "PostgreSQL has no pgvector extension ('create extension vector' failed): vector "
                "search runs as an exact scan in SQL, which is slow for large memories",
                RuntimeWarning,
                stacklevel=3,
            )

    def _try_pgvector(self, cur: Any) -> bool:
        import psycopg

        try:
            cur.execute("create extension if not exists vector")
            cur.execute("alter table tether_memory add column if not exists embedding_v vector")
        except psycopg.Error:
            return False
        return True

    async def _do(self, fn: Callable[..., Any], *args: Any) -> Any:
        def locked() -> Any:
            with self._lock:
                return fn(*args)

        return await asyncio.to_thread(locked)

    def _add(self, records: Sequence[Record], vectors: Sequence[Sequence[float]]) -> None:
        with self._conn.transaction(), self._conn.cursor() as cur:
            for record, vector in zip(records, vectors, strict=True):
                cur.execute("delete from tether_memory where id = %s", (record.id,))
                cur.execute(
                    "insert into tether_memory (id, text, metadata, agent, thread_id, user_id,"
                    " kind, embedder, dimension, cost, cost_unit, created_at, embedding)"
                    " values (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                    (
                        record.id, record.text, json.dumps(record.metadata), record.agent,
                        record.thread_id, record.user_id, record.kind, record.embedder,
                        record.dimension, record.cost, record.cost_unit, record.created_at,
                        list(vector),
                    ),
                )  # fmt: skip
                if not self.exact:
                    cur.execute(
                        "update tether_memory set embedding_v = embedding::vector where id = %s",
                        (record.id,),
                    )

    async def add(self, records: Sequence[Record], vectors: Sequence[Sequence[float]]) -> None:
        """Store records with their vectors (an existing id is replaced)."""
        await self._do(self._add, records, vectors)

    @staticmethod
    def _filter(where: Where) -> tuple[str, list[Any]]:
        clauses, params = ["true"], []
        for column in ("agent", "thread_id", "user_id", "kind", "embedder"):
            value = getattr(where, column)
            if value is not None:
                clauses.append(f"{column} = %s")
                params.append(value)
        if where.metadata:
            clauses.append("metadata @> %s::jsonb")
            params.append(json.dumps(where.metadata))
        if where.older_than is not None:
            clauses.append("created_at < %s")
            params.append(where.older_than)
        return " and ".join(clauses), params

    def _rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self._conn.cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall()) if cur.description else []

    async def delete(self, where: Where, ids: Sequence[str] | None = None) -> int:
        """Delete the records matching ``where`` (and among ``ids`` when given)."""
        sql, params = self._filter(where)
        if ids is not None:
            sql += " and id = any(%s)"
            params.append(list(ids))
        rows = await self._do(
            self._rows, f"delete from tether_memory where {sql} returning id", params
        )
        return len(rows)

    async def vector_search(
        self, vector: Sequence[float], k: int, where: Where
    ) -> list[tuple[str, float]]:
        """(id, cosine similarity) of the ``k`` nearest records."""
        sql, params = self._filter(where)
        if self.exact:
            score = "(select sum(a * b) from unnest(embedding, %s::real[]) as t(a, b))"
            query = (
                f"select id, {score} as s from tether_memory where {sql} order by s desc limit %s"
            )
        else:
            query = (
                "select id, 1 - (embedding_v <=> %s::real[]::vector) as s from tether_memory"
                f" where {sql} order by embedding_v <=> %s::real[]::vector limit %s"
            )
            params = [*params, list(vector)]
        rows = await self._do(self._rows, query, [list(vector), *params, k])
        return [(ident, float(score or 0.0)) for ident, score in rows]

    async def keyword_search(
        self, terms: list[str], k: int, where: Where
    ) -> list[tuple[str, float]]:
        """(id, ts_rank score) of the best keyword matches."""
        if not terms:
            return []
        sql, params = self._filter(where)
        query = " | ".join(t.replace("'", "''").replace("\\", "") for t in terms)
        rows = await self._do(
            self._rows,
            "select id, ts_rank(tsv, q) as s from tether_memory, to_tsquery('simple', %s) q"
            f" where tsv @@ q and {sql} order by s desc limit %s",
            [query, *params, k],
        )
        return [(ident, float(score)) for ident, score in rows]

    async def get(self, ids: Sequence[str]) -> list[Record]:
        """The records with these ids, in that order (missing ones left out)."""
        if not ids:
            return []
        rows = await self._do(
            self._rows,
            "select id, text, metadata, agent, thread_id, user_id, kind, embedder, dimension, cost,"
            " cost_unit, created_at from tether_memory where id = any(%s)",
            [list(ids)],
        )
        found = {r[0]: Record(*r) for r in rows}
        return [found[i] for i in ids if i in found]

    async def count(self, where: Where) -> int:
        """How many records match ``where``."""
        sql, params = self._filter(where)
        rows = await self._do(self._rows, f"select count(*) from tether_memory where {sql}", params)
        return int(rows[0][0])

    async def newest_ids(self, where: Where, keep: int) -> list[str]:
        """The ids of the ``keep`` newest matching records."""
        sql, params = self._filter(where)
        rows = await self._do(
            self._rows,
            f"select id from tether_memory where {sql} order by created_at desc limit %s",
            [*params, keep],
        )
        return [r[0] for r in rows]

    async def close(self) -> None:
        """Close the connection."""
        await self._do(self._conn.close)
