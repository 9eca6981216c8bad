"""Vector memory in a SQLite file (the runs' own file by default), searched with sqlite-vec.

The records live in ``tether_memory`` (with each vector as float32 bytes, so nothing is lost when
the extension is missing), keywords in an FTS5 table, and vectors in a ``vec0`` index per embedder.
Without a filter a search uses the index (approximate nearest neighbours are exact in sqlite-vec's
brute-force vec0, and fast); with a filter it scans the matching rows with ``vec_distance_cosine``.
When the extension cannot be loaded (Python's sqlite3 built without extension loading and no
``pysqlite3`` installed, or no ``sqlite-vec``) the same search runs in Python, with a warning.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ._vector_rows import Record, Where, cosine, pack, unpack

__all__ = ["SQLiteVectors", "connect"]

_SCHEMA = """
create table if not exists tether_memory (
    rid integer primary key,
    id text not null unique,
    text text not null,
    metadata text not null default '{}',
    agent text, thread_id text, user_id text,
    kind text not null default 'fact',
    embedder text not null, dimension integer not null,
    cost real, cost_unit text not null default 'USD',
    created_at real not null,
    embedding blob not null
);
create index if not exists tether_memory_scope on tether_memory (agent, thread_id, user_id);
create index if not exists tether_memory_created on tether_memory (created_at);
create virtual table if not exists tether_memory_fts using fts5(text, tokenize = 'unicode61');
"""


def connect(path: str) -> tuple[Any, bool]:
    """A connection to ``path`` with sqlite-vec loaded when possible: (connection, loaded)."""
    import sqlite3

    module: Any = sqlite3
    if not hasattr(sqlite3.Connection, "enable_load_extension"):
        try:
            import pysqlite3.dbapi2 as module  # type: ignore[import-untyped,no-redef]
        except ImportError:
            module = sqlite3
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = module.connect(path, check_same_thread=False, timeout=30, isolation_level=None)
    conn.execute("pragma journal_mode=wal")
    conn.execute("pragma synchronous=normal")  # as the runs store: durable at checkpoints
    try:
        import sqlite_vec  # type: ignore[import-untyped]

        conn.enable_load_extension(True)
        sqlite_vec.load(conn)
        conn.enable_load_extension(False)
        return conn, True
    except (ImportError, AttributeError, module.OperationalError):
        return conn, False


class SQLiteVectors:
    """The SQLite backend of :class:`~tether.memory.VectorMemory`."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn, loaded = connect(path)
        self.exact = not loaded
        if self.exact:
            warnings.warn(
                "sqlite-vec could not be loaded (install tether[vector]; Python's sqlite3 must "
                "allow extensions, or pysqlite3 be installed): vector search falls back to an "
                "exact scan in Python, which is slow for large memories",
                RuntimeWarning,
                stacklevel=3,
            )
        self._lock = threading.Lock()
        self._indexes: set[str] = set()
        self._conn.executescript(_SCHEMA)

    async def _do(self, fn: Callable[..., Any], *args: Any) -> Any:
        def locked() -> Any:
            with self._lock:
                return fn(*args)

        return await asyncio.to_thread(locked)

    def _index(self, embedder: str, dimension: int) -> str:
        digest = hashlib.sha1(f"{embedder}/{dimension}".encode()).hexdigest()[:12]
        name = f"tether_memory_vec_{digest}"
        if not self.exact and name not in self._indexes:
            self._conn.execute(
                f"create virtual table if not exists {name} using "
                f"vec0(embedding float[{dimension}] distance_metric=cosine)"
            )
            self._indexes.add(name)
        return name

    def _add(self, records: Sequence[Record], vectors: Sequence[Sequence[float]]) -> None:
        self._conn.execute("begin immediate")
        try:
            for record, vector in zip(records, vectors, strict=True):
                self._delete_ids([record.id])  # adding an id again replaces it
                cursor = self._conn.execute(
                    "insert into tether_memory (id, text, metadata, agent, thread_id, user_id,"
                    " kind, embedder, dimension, cost, cost_unit, created_at, embedding)"
                    " values (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        record.id, record.text, json.dumps(record.metadata), record.agent,
                        record.thread_id, record.user_id, record.kind, record.embedder,
                        record.dimension, record.cost, record.cost_unit, record.created_at,
                        pack(vector),
                    ),
                )  # fmt: skip
                rid = cursor.lastrowid
                self._conn.execute(
                    "insert into tether_memory_fts (rowid, text) values (?, ?)", (rid, record.text)
                )
                if not self.exact:
                    index = self._index(record.embedder, record.dimension)
                    self._conn.execute(
                        f"insert into {index} (rowid, embedding) values (?, ?)", (rid, pack(vector))
                    )
            self._conn.execute("commit")
        except BaseException:
            self._conn.execute("rollback")
            raise

    async def add(self, records: Sequence[Record], vectors: Sequence[Sequence[float]]) -> None:
        """Store records with their vectors (an existing id is replaced)."""
        await self._do(self._add, records, vectors)

    @staticmethod
    def _filter(where: Where) -> tuple[str, list[Any]]:
        clauses, params = ["1 = 1"], []
        for column in ("agent", "thread_id", "user_id", "kind", "embedder"):
            value = getattr(where, column)
            if value is not None:
                clauses.append(f"m.{column} = ?")
                params.append(value)
        for key, value in (where.metadata or {}).items():
            clauses.append("json_extract(m.metadata, ?) = json_extract(?, '$')")
            params += [f'$."{key}"', json.dumps(value)]
        if where.older_than is not None:
            clauses.append("m.created_at < ?")
            params.append(where.older_than)
        if where.newer_than is not None:
            clauses.append("m.created_at >= ?")
            params.append(where.newer_than)
        return " and ".join(clauses), params

    def _delete_ids(self, ids: Sequence[str]) -> int:
        removed = 0
        for ident in ids:
            row = self._conn.execute(
                "select rid, embedder, dimension from tether_memory where id = ?", (ident,)
            ).fetchone()
            if row is None:
                continue
            rid, embedder, dimension = row
            self._conn.execute("delete from tether_memory where rid = ?", (rid,))
            self._conn.execute("delete from tether_memory_fts where rowid = ?", (rid,))
            if not self.exact:
                self._conn.execute(
                    f"delete from {self._index(embedder, dimension)} where rowid = ?", (rid,)
                )
            removed += 1
        return removed

    def _delete(self, where: Where, ids: Sequence[str] | None) -> int:
        sql, params = self._filter(where)
        chosen = [
            r[0] for r in self._conn.execute(f"select id from tether_memory m where {sql}", params)
        ]
        if ids is not None:
            wanted = set(ids)
            chosen = [i for i in chosen if i in wanted]
        self._conn.execute("begin immediate")
        try:
            removed = self._delete_ids(chosen)
            self._conn.execute("commit")
        except BaseException:
            self._conn.execute("rollback")
            raise
        return removed

    async def delete(self, where: Where, ids: Sequence[str] | None = None) -> int:
        """Delete the records matching ``where`` (and among ``ids`` when given)."""
        return int(await self._do(self._delete, where, ids))

    def _vector_search(
        self, vector: Sequence[float], k: int, where: Where
    ) -> list[tuple[str, float]]:
        sql, params = self._filter(where)
        if self.exact:
            rows = self._conn.execute(
                f"select id, embedding from tether_memory m where {sql}", params
            )
            scored = [(ident, cosine(vector, unpack(blob))) for ident, blob in rows]
            return sorted(scored, key=lambda pair: pair[1], reverse=True)[:k]
        unfiltered = where == Where(embedder=where.embedder) and where.embedder is not None
        if unfiltered:
            dimension = len(vector)
            index = self._index(where.embedder or "", dimension)
            rows = self._conn.execute(
                f"with knn as (select rowid, distance from {index} where embedding match ?"
                " and k = ?) select m.id, knn.distance from knn"
                " join tether_memory m on m.rid = knn.rowid order by knn.distance",
                (pack(vector), k),
            )
        else:
            rows = self._conn.execute(
                f"select m.id, vec_distance_cosine(m.embedding, ?) as d from tether_memory m"
                f" where {sql} order by d limit ?",
                [pack(vector), *params, k],
            )
        return [(ident, 1.0 - float(distance)) for ident, distance in rows]

    async def vector_search(
        self, vector: Sequence[float], k: int, where: Where
    ) -> list[tuple[str, float]]:
        """(id, cosine similarity) of the ``k`` nearest records."""
        return list(await self._do(self._vector_search, vector, k, where))

    def _keyword_search(self, terms: list[str], k: int, where: Where) -> list[tuple[str, float]]:
        if not terms:
            return []
        sql, params = self._filter(where)
        query = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        rows = self._conn.execute(
            "select m.id, -bm25(tether_memory_fts) as s from tether_memory_fts f"
            f" join tether_memory m on m.rid = f.rowid where tether_memory_fts match ? and {sql}"
            " order by s desc limit ?",
            [query, *params, k],
        )
        return [(ident, float(score)) for ident, score in rows]

    async def keyword_search(
        self, terms: list[str], k: int, where: Where
    ) -> list[tuple[str, float]]:
        """(id, BM25 score) of the best keyword matches."""
        return list(await self._do(self._keyword_search, terms, k, where))

    def _get(self, ids: Sequence[str]) -> list[Record]:
        marks = ",".join("?" * len(ids))
        rows = self._conn.execute(
            "select id, text, metadata, agent, thread_id, user_id, kind, embedder, dimension, cost,"
            f" cost_unit, created_at from tether_memory where id in ({marks})",
            list(ids),
        ).fetchall()
        found = {
            r[0]: Record(
                r[0], r[1], json.loads(r[2]), r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11]
            )
            for r in rows
        }
        return [found[i] for i in ids if i in found]

    async def get(self, ids: Sequence[str]) -> list[Record]:
        """The records with these ids, in that order (missing ones left out)."""
        return list(await self._do(self._get, ids)) if ids else []

    async def count(self, where: Where) -> int:
        """How many records match ``where``."""
        sql, params = self._filter(where)
        row = await self._do(
            lambda: self._conn.execute(
                f"select count(*) from tether_memory m where {sql}", params
            ).fetchone()
        )
        return int(row[0])

    async def newest_ids(self, where: Where, keep: int) -> list[str]:
        """The ids of the ``keep`` newest matching records."""
        sql, params = self._filter(where)
        rows = await self._do(
            lambda: self._conn.execute(
                f"select id from tether_memory m where {sql} order by created_at desc limit ?",
                [*params, keep],
            ).fetchall()
        )
        return [r[0] for r in rows]

    async def close(self) -> None:
        """Close the connection."""
        await self._do(self._conn.close)
