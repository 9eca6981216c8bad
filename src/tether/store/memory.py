"""MemoryStore: keeps event logs and threads in this process (tests, short-lived scripts)."""

from __future__ import annotations

from collections.abc import Sequence

from ..events import Event
from ..messages import Message
from .base import RunInfo, run_info_from_events

__all__ = ["MemoryStore"]


class MemoryStore:
    """A Store in a dict: fast, and gone with the process."""

    def __init__(self) -> None:
        self._events: dict[str, list[Event]] = {}
        self._infos: dict[str, RunInfo] = {}
        self._threads: dict[str, list[Message]] = {}

    async def append(self, run_id: str, events: Sequence[Event]) -> None:
        """Append events to the run's log."""
        self._events.setdefault(run_id, []).extend(events)
        info = run_info_from_events(run_id, events, self._infos.get(run_id))
        if info is not None:
            self._infos[run_id] = info

    async def load(self, run_id: str) -> list[Event]:
        """The run's events."""
        return list(self._events.get(run_id, ()))

    async def run_info(self, run_id: str) -> RunInfo | None:
        """What is known of the run."""
        return self._infos.get(run_id)

    async def list_runs(
        self, *, limit: int = 100, status: str | None = None, agent: str | None = None
    ) -> list[RunInfo]:
        """Runs, most recently updated first."""
        runs = [
            i
            for i in self._infos.values()
            if (status is None or i.status == status) and (agent is None or i.agent == agent)
        ]
        runs.sort(key=lambda i: i.updated_at, reverse=True)
        return runs[:limit]

    async def load_thread(self, thread_id: str) -> list[Message]:
        """The thread's messages."""
        return list(self._threads.get(thread_id, ()))

    async def save_thread(self, thread_id: str, messages: Sequence[Message]) -> None:
        """Replace the thread's messages."""
        self._threads[thread_id] = list(messages)

    async def close(self) -> None:
        """Nothing to release."""
