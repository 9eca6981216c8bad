"""Vector memory in PostgreSQL (the runs' own database), searched with pgvector when it is there.

Records live in ``tether_memory`` with each vector as ``real[]`` (so nothing is lost without the
extension) and a generated ``tsvector`` for keyword search. With the ``vector`` extension
(pgvector) in the database, a ``vector`` column is kept beside it and every embedder gets an HNSW
index of its own (a partial index on ``embedding_v::vector(<dimension>)``, cosine): an unfiltered
search walks it; a filtered one (a scope, metadata) lets the planner choose, and when the index
walk finds fewer than ``k`` rows that pass the filter it is done again as an exact ``<=>`` scan of
the matching rows, so a filter never hides a match. Without pgvector (not installed, or not created
in this database and the role may not create it) the same search runs in SQL as an exact dot
product over the matching rows (vectors are stored normalized), with a warning and a log line.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from .._log_scrub import get_logger
from ._vector_rows import Record, Where

__all__ = ["PostgresVectors"]

_log = get_logger("tether.memory")

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
_LOCK = 72250001  # advisory lock: replicas create the schema and the indexes once
_HNSW_MAX_DIMENSION = 2000  # pgvector's limit for an HNSW index on `vector`


def _vector(values: Sequence[float]) -> str:
    """pgvector's text form: parsed by the server, far cheaper than a list adapted per float."""
    return "[" + ",".join(map(repr, map(float, values))) + "]"


def _array(values: Sequence[float]) -> str:
    """The same as a ``real[]`` literal."""
    return "{" + ",".join(map(repr, map(float, values))) + "}"


class PostgresVectors:
    """The PostgreSQL backend of :class:`~tether.memory.VectorMemory`."""

    def __init__(self, url: str, schema: str | None = None) -> None:
        import psycopg

        self.url = url
        self._conn = psycopg.connect(url, autocommit=True)
        self._lock = threading.Lock()
        #: (embedder, dimension) -> has an HNSW index (False: too many dimensions for one).
        self._indexes: dict[tuple[str, int], bool] = {}
        try:
            reason = self._prepare(schema)
        except BaseException:
            self._conn.close()
            raise
        self.exact = reason is not None
        if reason is not None:
            message = (
                f"PostgreSQL has no pgvector here ({reason}): vector search runs as an exact "
                "scan in SQL, which is slow for large memories; install pgvector and run "
                "'create extension vector' in this database as a superuser"
            )
            _log.warning("%s", message)
            warnings.warn(message, RuntimeWarning, stacklevel=3)

    def _prepare(self, schema: str | None) -> str | None:
        from psycopg import sql

        with self._conn.cursor() as cur:
            cur.execute("select pg_advisory_lock(%s)", (_LOCK,))
            try:
                if schema is not None:  # the same schema as the runs' store
                    cur.execute(
                        sql.SQL("create schema if not exists {}").format(sql.Identifier(schema))
                    )
                    cur.execute(
                        sql.SQL("set search_path to {}, public").format(sql.Identifier(schema))
                    )
                cur.execute(_SCHEMA)
                reason = self._try_pgvector(cur)
            finally:
                cur.execute("select pg_advisory_unlock(%s)", (_LOCK,))
        return reason

    def _try_pgvector(self, cur: Any) -> str | None:
        """None when pgvector is usable, else why not."""
        import psycopg

        cur.execute("select 1 from pg_extension where extname = 'vector'")
        if cur.fetchone() is None:
            try:  # in public, not in a tenant's schema that may be dropped with the tenant
                cur.execute("create extension if not exists vector schema public")
            except psycopg.Error as exc:
                return str(exc).splitlines()[0]
        # The type and its operators live in the extension's schema: keep it on the search path
        # even when the URL or the store set one without it (a schema per tenant or per test).
        cur.execute(
            "select set_config('search_path', current_setting('search_path') || ', '"
            " || quote_ident(n.nspname), false) from pg_extension e"
            " join pg_namespace n on n.oid = e.extnamespace where e.extname = 'vector'"
            " and not n.nspname = any(current_schemas(false))"
        )
        cur.execute("alter table tether_memory add column if not exists embedding_v vector")
        # Rows written while the extension was missing get their vector column now.
        cur.execute(
            "update tether_memory set embedding_v = embedding::vector where embedding_v is null"
        )
        return None

    async def _do(self, fn: Callable[..., Any], *args: Any) -> Any:
        def locked() -> Any:
            with self._lock:
                return fn(*args)

        return await asyncio.to_thread(locked)

    def _index(self, embedder: str, dimension: int) -> bool:
        """Create the HNSW index of one embedder once; False when it cannot have one."""
        known = self._indexes.get((embedder, dimension))
        if known is not None:
            return known
        from psycopg import sql

        indexed = dimension <= _HNSW_MAX_DIMENSION
        if indexed:
            digest = hashlib.sha1(f"{embedder}/{dimension}".encode()).hexdigest()[:12]
            with self._conn.cursor() as cur:
                cur.execute("select pg_advisory_lock(%s)", (_LOCK,))
                try:
                    cur.execute(
                        sql.SQL(
                            "create index if not exists {} on tether_memory using hnsw"
                            " ((embedding_v::vector({})) vector_cosine_ops) where embedder = {}"
                        ).format(
                            sql.Identifier(f"tether_memory_hnsw_{digest}"),
                            sql.Literal(dimension),
                            sql.Literal(embedder),
                        )
                    )
                finally:
                    cur.execute("select pg_advisory_unlock(%s)", (_LOCK,))
        else:
            _log.warning(
                "%s has %d dimensions, more than pgvector indexes (%d): its searches scan",
                embedder, dimension, _HNSW_MAX_DIMENSION,
            )  # fmt: skip
        self._indexes[(embedder, dimension)] = indexed
        return indexed

    def _add(self, records: Sequence[Record], vectors: Sequence[Sequence[float]]) -> None:
        if not self.exact:
            for key in {(r.embedder, r.dimension) for r in records}:
                self._index(*key)
        vector = "%s::real[]" if self.exact else "%s::real[], %s::vector"
        columns = "embedding" if self.exact else "embedding, embedding_v"
        rows = []
        for record, values in zip(records, vectors, strict=True):
            row = [
                record.id, record.text, json.dumps(record.metadata), record.agent,
                record.thread_id, record.user_id, record.kind, record.embedder,
                record.dimension, record.cost, record.cost_unit, record.created_at,
                _array(values),
            ]  # fmt: skip
            rows.append(row if self.exact else [*row, _vector(values)])
        with self._conn.transaction(), self._conn.cursor() as cur:
            cur.execute("delete from tether_memory where id = any(%s)", ([r.id for r in records],))
            cur.executemany(
                "insert into tether_memory (id, text, metadata, agent, thread_id, user_id, kind,"
                f" embedder, dimension, cost, cost_unit, created_at, {columns})"
                f" values (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,{vector})",
                rows,
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
        if where.newer_than is not None:
            clauses.append("created_at >= %s")
            params.append(where.newer_than)
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

    def _vector_search(
        self, vector: Sequence[float], k: int, where: Where
    ) -> list[tuple[str, float]]:
        sql, params = self._filter(where)
        if self.exact:
            score = "(select sum(a * b) from unnest(embedding, %s::real[]) as t(a, b))"
            return self._rows(
                f"select id, {score} as s from tether_memory where {sql} order by s desc limit %s",
                [_array(vector), *params, k],
            )
        dimension = len(vector)
        values = _vector(vector)
        if where.embedder is None or not self._index(where.embedder, dimension):
            return self._scan(values, k, sql, params)
        # The same expression as the partial index, so the planner may walk it.
        distance = f"embedding_v::vector({dimension}) <=> %s::vector({dimension})"
        with self._conn.transaction(), self._conn.cursor() as cur:
            # The walk keeps this many candidates: pgvector's default (40) finds about half of
            # the true top 10 of random vectors, 10 * k about 0.9 (bench_memory.py), and more
            # than k leaves k after a filter.
            breadth = str(min(1000, max(100, 10 * k)))
            cur.execute("select set_config('hnsw.ef_search', %s, true)", (breadth,))
            cur.execute(
                f"select id, 1 - ({distance}) as s from tether_memory where {sql}"
                f" order by {distance} limit %s",
                [values, *params, values, k],
            )
            rows = list(cur.fetchall())
        if len(rows) < k:  # the walk ran out before the filter let k through (or there are < k)
            return self._scan(values, k, sql, params)
        return rows

    def _scan(self, values: str, k: int, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        """Exact cosine over the matching rows (a materialized CTE keeps the index out)."""
        return self._rows(
            f"with m as materialized (select id, embedding_v from tether_memory where {sql})"
            " select id, 1 - (embedding_v <=> %s::vector) as s from m"
            " order by embedding_v <=> %s::vector limit %s",
            [*params, values, values, k],
        )

    async def vector_search(
        self, vector: Sequence[float], k: int, where: Where
    ) -> list[tuple[str, float]]:
        """(id, cosine similarity) of the ``k`` nearest records."""
        rows = await self._do(self._vector_search, vector, k, where)
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

    def plan(self, vector: Sequence[float], where: Where) -> str:
        """The query plan of an indexed vector search (for tests and tuning)."""
        sql, params = self._filter(where)
        dimension = len(vector)
        distance = f"embedding_v::vector({dimension}) <=> %s::vector({dimension})"
        rows = self._rows(
            f"explain select id from tether_memory where {sql} order by {distance} limit 5",
            [*params, _vector(vector)],
        )
        return "\n".join(r[0] for r in rows)

    async def close(self) -> None:
        """Close the connection."""
        await self._do(self._conn.close)
