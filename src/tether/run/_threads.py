"""A Runner's conversation threads: kept in its store, or in memory when it has none."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..messages import Message
from ._wiring import RunWiring

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["Threads"]


class Threads:
    """Load and save the messages of threads (``thread_id=``) for one Runner."""

    def __init__(self, store_of: Callable[[], Store | None]) -> None:
        self._store_of = store_of
        self._kept: dict[str, list[Message]] = {}

    async def load(self, thread_id: str) -> list[Message]:
        """The thread's messages (empty for a new thread)."""
        store = self._store_of()
        if store is None:
            return list(self._kept.get(thread_id, ()))
        return await store.load_thread(thread_id)

    async def save(self, thread_id: str, messages: Sequence[Message]) -> None:
        """Replace the thread's messages."""
        store = self._store_of()
        if store is None:
            self._kept[thread_id] = list(messages)
        else:
            await store.save_thread(thread_id, list(messages))

    async def save_run(self, run: RunWiring) -> None:
        """Save the thread of a run that stopped; not one left with unanswered tool calls
        (awaiting approval, interrupted): that would make the thread unusable by the next run,
        so it is saved when the run is resumed and ends."""
        state = run.state
        if state.thread_id is None or state.status == "failed" or state.open_calls:
            return
        await self.save(state.thread_id, state.messages)
