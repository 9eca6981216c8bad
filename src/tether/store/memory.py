"""MemoryStore: keeps event logs and threads in this process (tests, short-lived scripts)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

from ..events import Event
from ..messages import Message
from ._effects import MemoryEffects
from ._ids import check_run_id
from .base import Lease, RunInfo, run_info_from_events

__all__ = ["MemoryStore"]


class MemoryStore(MemoryEffects):
    """A Store in a dict: fast, and gone with the process."""

    def __init__(self) -> None:
        self._events: dict[str, list[Event]] = {}
        self._infos: dict[str, RunInfo] = {}
        self._threads: dict[str, list[Message]] = {}
        self._leases: dict[str, Lease] = {}

    async def append(self, run_id: str, events: Sequence[Event]) -> None:
        """Append events to the run's log."""
        check_run_id(run_id)  # the rule of every store
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

    async def delete_run(self, run_id: str) -> bool:
        """Forget a run's log and its effect ledger rows (retention); True when there was one."""
        await self.forget_effects(run_id)
        self._events.pop(run_id, None)
        return self._infos.pop(run_id, None) is not None

    async def acquire_lease(self, run_id: str, owner: str, ttl: float) -> bool:
        """Take the run's lease when it is free, expired or already ours."""
        now = time.time()
        held = self._leases.get(run_id)
        if held is not None and held.owner != owner and held.expires_at > now:
            return False
        if held is None:
            held = self._leases[run_id] = Lease(run_id, owner, now + ttl)
        else:  # the marks stay with the lease, as in the SQL stores
            held.owner, held.expires_at = owner, now + ttl
        return True

    async def renew_lease(self, run_id: str, owner: str, ttl: float) -> bool:
        """Extend our lease; False when it is not ours any more."""
        held = self._leases.get(run_id)
        if held is None or held.owner != owner:
            return False
        held.expires_at = time.time() + ttl
        return True

    async def release_lease(self, run_id: str, owner: str) -> None:
        """Drop our lease."""
        held = self._leases.get(run_id)
        if held is not None and held.owner == owner:
            del self._leases[run_id]

    async def get_lease(self, run_id: str) -> Lease | None:
        """The run's lease, or None."""
        held = self._leases.get(run_id)
        return None if held is None else replace(held)

    async def expired_leases(self, *, limit: int = 100) -> list[Lease]:
        """Leases past their expiry, oldest first."""
        now = time.time()
        found = sorted(
            (h for h in self._leases.values() if h.expires_at <= now), key=lambda h: h.expires_at
        )
        return [replace(h) for h in found[:limit]]

    async def request_cancel(self, run_id: str, reason: str) -> bool:
        """Mark the run's lease for its holder to cancel the run; False when none is held."""
        held = self._leases.get(run_id)
        if held is None:
            return False
        held.cancel_requested = reason
        return True

    async def reserve_seq(self, run_id: str, owner: str, seq: int) -> bool:
        """Raise our lease's reserved position to ``seq``; False when the lease is not ours."""
        held = self._leases.get(run_id)
        if held is None or held.owner != owner:
            return False
        held.reserved_seq = max(held.reserved_seq, seq)
        return True

    async def close(self) -> None:
        """Nothing to release."""
