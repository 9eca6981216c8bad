"""The Store protocol: where run event logs and conversation threads are persisted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ..events import Event
from ..messages import Message

__all__ = ["Lease", "LeaseStore", "RunInfo", "Store", "run_info_from_events"]


@dataclass(slots=True)
class RunInfo:
    """A run as a store lists it."""

    run_id: str
    agent: str
    status: str
    thread_id: str | None
    started_at: float
    updated_at: float
    parent_run_id: str | None = None


@runtime_checkable
class Store(Protocol):
    """Persists event logs (append-only, per run) and threads (message lists, per thread id).

    ``append`` must be atomic: either all given events are stored or none, so a crash never
    leaves half a step behind. Events are stored in ``seq`` order and loaded in that order.
    """

    async def append(self, run_id: str, events: Sequence[Event]) -> None:
        """Persist events of a run, atomically, after those already stored."""
        ...

    async def load(self, run_id: str) -> list[Event]:
        """The run's events in order ([] when the run is unknown)."""
        ...

    async def run_info(self, run_id: str) -> RunInfo | None:
        """What the store knows of a run, or None."""
        ...

    async def list_runs(
        self, *, limit: int = 100, status: str | None = None, agent: str | None = None
    ) -> list[RunInfo]:
        """Runs, most recently updated first."""
        ...

    async def load_thread(self, thread_id: str) -> list[Message]:
        """The messages of a thread ([] when unknown)."""
        ...

    async def save_thread(self, thread_id: str, messages: Sequence[Message]) -> None:
        """Replace the messages of a thread."""
        ...

    async def close(self) -> None:
        """Release connections and files."""
        ...


@dataclass(slots=True)
class Lease:
    """Who may execute a run, until when (a UNIX time; the holder renews it by heartbeats).

    ``cancel_requested`` is the reason another process gave when it asked the holder to cancel
    the run (:meth:`LeaseStore.request_cancel`), or None. ``reserved_seq`` is the highest
    position the holder may have handed out live (events streamed before they are stored,
    :meth:`LeaseStore.reserve_seq`): a process taking the run over numbers its events after it.
    """

    run_id: str
    owner: str
    expires_at: float
    cancel_requested: str | None = None
    reserved_seq: int = 0


@runtime_checkable
class LeaseStore(Protocol):
    """A store that also keeps run leases, so a run executes in exactly one process at a time.

    A lease is held by an ``owner`` (a process's id) for ``ttl`` seconds and renewed by its
    heartbeat; a process that dies stops renewing, its lease expires, and another may take it.
    Every operation is atomic in the store (one statement or transaction).
    """

    async def acquire_lease(self, run_id: str, owner: str, ttl: float) -> bool:
        """Take the run's lease for ``ttl`` seconds: True when it was free, expired or ours."""
        ...

    async def renew_lease(self, run_id: str, owner: str, ttl: float) -> bool:
        """Extend our lease by ``ttl`` seconds from now; False when it is no longer ours."""
        ...

    async def release_lease(self, run_id: str, owner: str) -> None:
        """Give the lease up (nothing happens when it is not ours)."""
        ...

    async def get_lease(self, run_id: str) -> Lease | None:
        """The run's lease as stored (maybe expired), or None."""
        ...

    async def expired_leases(self, *, limit: int = 100) -> list[Lease]:
        """Leases whose holder stopped renewing them (oldest first): runs left by a dead process."""
        ...

    async def request_cancel(self, run_id: str, reason: str) -> bool:
        """Ask the lease's holder to cancel the run (it reads the mark at its heartbeat); the
        mark stays with the lease until it is released. False when no lease is held."""
        ...

    async def reserve_seq(self, run_id: str, owner: str, seq: int) -> bool:
        """Record that our lease's holder may hand out positions up to ``seq`` (it only grows);
        False when the lease is not ours."""
        ...


def run_info_from_events(
    run_id: str, events: Sequence[Event], previous: RunInfo | None
) -> RunInfo | None:
    """Update what is known of a run from newly appended events (for store implementations)."""
    info = previous
    for event in events:
        if event.type == "run_started":
            info = RunInfo(
                run_id,
                getattr(event, "agent", ""),
                "running",
                getattr(event, "thread_id", None),
                event.at,
                event.at,
                getattr(event, "parent_run_id", None),
            )
        elif info is not None:
            info.updated_at = event.at
            if event.type == "run_finished":
                info.status = getattr(event, "state", "completed")
            elif event.type == "run_resumed" and getattr(event, "from_checkpoint", False):
                info.status = "running"
    return info
