"""The response cache: responses kept under a hash of the normalized request, in memory or in a
SQLite file (whose I/O runs in a worker thread). Opt-in, through the model runtime."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..messages import message_to_dict, part_from_dict, part_to_dict
from ..usage import Usage
from .base import ModelRequest, ModelResponse

__all__ = [
    "MemoryResponseCache",
    "ResponseCache",
    "SQLiteResponseCache",
    "request_key",
    "response_from_dict",
    "response_to_dict",
]


def request_key(model_name: str, request: ModelRequest) -> str:
    """A SHA-256 of the normalized request: model, instructions, messages, tools, output and
    settings (the timeout left out: it does not change the answer)."""
    settings = request.settings
    normalized = {
        "model": model_name,
        "instructions": request.instructions,
        "messages": [message_to_dict(m) for m in request.messages],
        "tools": [[t.name, t.description, t.parameters, t.strict] for t in request.tools],
        "output": None
        if request.output is None
        else [request.output.name, request.output.mode, request.output.schema],
        "settings": {
            name: getattr(settings, name)
            for name in settings.__slots__
            if name != "timeout" and getattr(settings, name) is not None
        },
    }
    data = json.dumps(normalized, sort_keys=True, default=str).encode()
    return hashlib.sha256(data).hexdigest()


def response_to_dict(response: ModelResponse) -> dict[str, Any]:
    """A ModelResponse as JSON-ready data."""
    return {
        "parts": [part_to_dict(p) for p in response.parts],
        "usage": response.usage.to_dict(),
        "model_name": response.model_name,
        "finish_reason": response.finish_reason,
        "response_id": response.response_id,
    }


def response_from_dict(data: dict[str, Any]) -> ModelResponse:
    """Rebuild a ModelResponse from :func:`response_to_dict` output."""
    return ModelResponse(
        parts=[part_from_dict(p) for p in data["parts"]],
        usage=Usage.from_dict(data["usage"]),
        model_name=data.get("model_name"),
        finish_reason=data.get("finish_reason"),
        response_id=data.get("response_id"),
    )


@runtime_checkable
class ResponseCache(Protocol):
    """Where cached responses live: ``get`` and ``set`` by request key."""

    async def get(self, key: str) -> ModelResponse | None:
        """The cached response for ``key``, or None."""
        ...

    async def set(self, key: str, response: ModelResponse) -> None:
        """Keep ``response`` under ``key``."""
        ...


class MemoryResponseCache:
    """An in-process LRU cache of at most ``max_entries`` responses."""

    def __init__(self, max_entries: int = 1000) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[str, dict[str, Any]] = OrderedDict()

    async def get(self, key: str) -> ModelResponse | None:
        """The cached response for ``key``, or None."""
        data = self._data.get(key)
        if data is None:
            return None
        self._data.move_to_end(key)
        return response_from_dict(data)

    async def set(self, key: str, response: ModelResponse) -> None:
        """Keep ``response`` under ``key`` (evicting the least recently used)."""
        self._data[key] = response_to_dict(response)
        self._data.move_to_end(key)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)


class SQLiteResponseCache:
    """Responses kept in a SQLite file (shared across processes); all I/O in a worker thread."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS responses "
                "(key TEXT PRIMARY KEY, data TEXT NOT NULL, created REAL NOT NULL)"
            )
            conn.commit()
            self._conn = conn
        return self._conn

    def _get(self, key: str) -> str | None:
        with self._lock:
            row = (
                self._connect()
                .execute("SELECT data FROM responses WHERE key = ?", (key,))
                .fetchone()
            )
        return None if row is None else str(row[0])

    def _set(self, key: str, data: str) -> None:
        with self._lock:
            conn = self._connect()
            conn.execute(
                "INSERT OR REPLACE INTO responses VALUES (?, ?, ?)", (key, data, time.time())
            )
            conn.commit()

    async def get(self, key: str) -> ModelResponse | None:
        """The cached response for ``key``, or None."""
        data = await asyncio.to_thread(self._get, key)
        return None if data is None else response_from_dict(json.loads(data))

    async def set(self, key: str, response: ModelResponse) -> None:
        """Keep ``response`` under ``key``."""
        await asyncio.to_thread(self._set, key, json.dumps(response_to_dict(response)))

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
