"""What the RunManager keeps per run it drives (:class:`Execution`) and for ``/metrics``."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from ..events import Event
from ..results import Result
from ..store.lease import LeaseKeeper

__all__ = ["Counters", "Execution"]


@dataclass(eq=False)
class Execution:
    """One run being driven by this process: its task, lease and (for new runs) live events."""

    run_id: str
    keeper: LeaseKeeper
    #: Every event of a new run as it happens (deltas included); None: follow the store.
    log: list[Event] | None
    task: asyncio.Task[None] | None = None
    result: Result[Any] | None = None
    error: BaseException | None = None
    cancel_requested: bool = False
    handover: bool = False
    #: A sweep took the run over (its replica died): a resume that fails is tried again.
    takeover: bool = False
    done: bool = False
    #: The seq the run stood at when this execution took it (its own events come after).
    after: int = 0
    #: Positions up to which live events may be streamed (recorded on the lease, see _reserve).
    reserved: int = 0
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def push(self, event: Event) -> None:
        """Add a live event and wake the followers."""
        assert self.log is not None
        self.log.append(event)
        self.wake()

    def wake(self) -> None:
        """Wake whoever waits for a change."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def changed(self, timeout: float | None = None) -> None:
        """Wait for the next change (or ``timeout`` seconds)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)


@dataclass(slots=True)
class Counters:
    """What ``GET /metrics`` reports."""

    started: int = 0
    finished: dict[str, int] = field(default_factory=dict)
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    resumed_from_expired: int = 0
