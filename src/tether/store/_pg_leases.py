"""The run leases of :class:`~tether.store.postgres.PostgresStore` (table ``tether_leases``).

Every operation is one statement and the database's clock decides expiry, so replicas whose
clocks differ agree on it. A lease row also carries a cancel request (``cancel_requested``, the
reason): another replica marks the row, and the holder, which reads it at its heartbeat,
cancels the run it executes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import psycopg

from ._schema import migrate_async
from .base import Lease

__all__ = ["LEASE_MIGRATIONS", "LEASE_QUERIES", "PostgresLeases"]

_NOW = "extract(epoch from clock_timestamp())::double precision"
_COLUMNS = "run_id, owner, expires_at, cancel_requested, reserved_seq"

#: Schema steps of the run leases (component ``leases``), made on the first lease operation.
LEASE_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        "CREATE TABLE {p}tether_leases (run_id TEXT PRIMARY KEY, owner TEXT NOT NULL, "
        "expires_at DOUBLE PRECISION NOT NULL)",
        "CREATE INDEX tether_leases_by_expiry ON {p}tether_leases (expires_at)",
    ),
    2: ("ALTER TABLE {p}tether_leases ADD COLUMN IF NOT EXISTS cancel_requested TEXT",),
    3: (
        "ALTER TABLE {p}tether_leases "
        "ADD COLUMN IF NOT EXISTS reserved_seq INTEGER NOT NULL DEFAULT 0",
    ),
}

#: The lease statements, by name (rendered with the store's other queries).
LEASE_QUERIES = {
    "lease_acquire": (
        "INSERT INTO {p}tether_leases AS l (run_id, owner, expires_at) "
        f"VALUES (%s, %s, {_NOW} + %s) ON CONFLICT (run_id) DO UPDATE "
        "SET owner = excluded.owner, expires_at = excluded.expires_at "
        f"WHERE l.owner = excluded.owner OR l.expires_at <= {_NOW} RETURNING l.run_id"
    ),
    "lease_renew": (
        f"UPDATE {{p}}tether_leases SET expires_at = {_NOW} + %s "
        "WHERE run_id = %s AND owner = %s RETURNING run_id"
    ),
    "lease_release": (
        "DELETE FROM {p}tether_leases WHERE run_id = %s AND owner = %s RETURNING run_id"
    ),
    "lease_get": f"SELECT {_COLUMNS} FROM {{p}}tether_leases WHERE run_id = %s",
    "lease_expired": (
        f"SELECT {_COLUMNS} FROM {{p}}tether_leases "
        f"WHERE expires_at <= {_NOW} ORDER BY expires_at LIMIT %s"
    ),
    "lease_cancel": (
        "UPDATE {p}tether_leases SET cancel_requested = %s WHERE run_id = %s RETURNING run_id"
    ),
    "lease_reserve": (
        "UPDATE {p}tether_leases SET reserved_seq = GREATEST(reserved_seq, %s) "
        "WHERE run_id = %s AND owner = %s RETURNING run_id"
    ),
}

_Fetch = Callable[[psycopg.AsyncConnection[Any]], Awaitable[list[Any]]]


def _lease(row: Any) -> Lease:
    return Lease(row[0], row[1], row[2], row[3], row[4])


class PostgresLeases:
    """The LeaseStore half of PostgresStore (it provides the connections and queries)."""

    schema: str | None
    _pool: Any
    _leases_ready: bool

    def _fetch_all(
        self, name: str, params: tuple[Any, ...], *, rows: bool = True
    ) -> _Fetch:  # pragma: no cover - PostgresStore's
        raise NotImplementedError

    async def _lease_rows(self, name: str, params: tuple[Any, ...]) -> list[Any]:
        if not self._leases_ready:
            await self._pool.run(self._make_lease_table)
            self._leases_ready = True
        rows: list[Any] = await self._pool.run(self._fetch_all(name, params))
        return rows

    async def _make_lease_table(self, conn: psycopg.AsyncConnection[Any]) -> None:
        prefix = "" if self.schema is None else '"' + self.schema.replace('"', '""') + '".'
        await migrate_async(conn, "leases", LEASE_MIGRATIONS, prefix=prefix)

    async def acquire_lease(self, run_id: str, owner: str, ttl: float) -> bool:
        """Take the run's lease when it is free, expired or ours (the server's clock decides)."""
        return bool(await self._lease_rows("lease_acquire", (run_id, owner, ttl)))

    async def renew_lease(self, run_id: str, owner: str, ttl: float) -> bool:
        """Extend our lease; False when it is not ours any more."""
        return bool(await self._lease_rows("lease_renew", (ttl, run_id, owner)))

    async def release_lease(self, run_id: str, owner: str) -> None:
        """Drop our lease."""
        await self._lease_rows("lease_release", (run_id, owner))

    async def get_lease(self, run_id: str) -> Lease | None:
        """The run's lease, or None."""
        rows = await self._lease_rows("lease_get", (run_id,))
        return _lease(rows[0]) if rows else None

    async def expired_leases(self, *, limit: int = 100) -> list[Lease]:
        """Leases past their expiry (by the server's clock), oldest first."""
        return [_lease(r) for r in await self._lease_rows("lease_expired", (limit,))]

    async def request_cancel(self, run_id: str, reason: str) -> bool:
        """Mark the run's lease for its holder to cancel the run; False when no lease is held."""
        return bool(await self._lease_rows("lease_cancel", (reason, run_id)))

    async def reserve_seq(self, run_id: str, owner: str, seq: int) -> bool:
        """Raise our lease's reserved position to ``seq``; False when the lease is not ours."""
        return bool(await self._lease_rows("lease_reserve", (seq, run_id, owner)))
