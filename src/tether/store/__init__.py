"""Stores persist run event logs and threads; choose one by URL with :func:`open_store`."""

from __future__ import annotations

from ..errors import UserError
from ._effects import EffectLedger, EffectRecord
from .base import Lease, LeaseStore, RunInfo, Store
from .errors import StoreError
from .lease import RunLeaseHeld, run_lease
from .memory import MemoryStore

__all__ = [
    "EffectLedger",
    "EffectRecord",
    "Lease",
    "LeaseStore",
    "MemoryStore",
    "RunInfo",
    "RunLeaseHeld",
    "Store",
    "StoreError",
    "open_store",
    "run_lease",
]


def open_store(spec: str | Store) -> Store:
    """A store from a URL: ``memory://``, ``sqlite:///path/to.db`` (``?mode=ro``: read only)
    or ``postgresql://...``."""
    if not isinstance(spec, str):
        return spec
    if spec == "memory://":
        return MemoryStore()
    located = sqlite_url_path(spec)
    if located is not None:
        from .sqlite import SQLiteStore

        path, read_only = located
        return SQLiteStore(path, read_only=read_only)
    if spec.startswith(("postgresql://", "postgres://")):
        try:
            from .postgres import PostgresStore
        except ImportError as exc:
            raise UserError(
                'the PostgreSQL store needs the postgres extra: pip install "tether[postgres]"'
            ) from exc
        return PostgresStore(spec)
    raise UserError(
        f"unknown store URL {spec!r}: use 'memory://', 'sqlite:///path' or 'postgresql://...'"
    )


def sqlite_url_path(spec: str) -> tuple[str, bool] | None:
    """The database file a ``sqlite://`` URL names and whether it is read only (``?mode=ro``);
    None for any other URL."""
    if not spec.startswith("sqlite://"):
        return None
    path = spec[len("sqlite://") :]
    path = path[1:] if path.startswith("/") else path  # sqlite:///rel, sqlite:////abs
    read_only = path.endswith("?mode=ro")
    path = path.removesuffix("?mode=ro")
    return path or ".tether/tether.db", read_only
