"""Control: the channel through which a RunHandle (or a timeout) steers a running loop."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable
from typing import Any, Literal, TypeVar

from ..errors import RunCancelled, RunInterrupted, RunTimeout

__all__ = ["Control", "StopRun"]

T = TypeVar("T")
StopKind = Literal["cancelled", "interrupted"]


class StopRun(Exception):
    """Raised inside the loop when the run must end now (cancel, interrupt, timeout).

    It never leaves the loop: the run ends ``cancelled`` or ``interrupted`` and its Result's
    ``error_type`` names the public error (:attr:`error_type`).
    """

    def __init__(self, kind: StopKind, reason: str, *, timed_out: bool = False) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.timed_out = timed_out

    @property
    def error_type(self) -> str:
        """The public error this stop stands for (RunCancelled, RunInterrupted, RunTimeout), by
        the name results and the log record it under."""
        if self.kind == "cancelled":
            return RunCancelled.__name__
        return (RunTimeout if self.timed_out else RunInterrupted).__name__


class Control:
    """Pause, resume, stop, and approval decisions for one run.

    Stopping is immediate: in-flight model calls and tools are cancelled. Pausing takes effect
    at the next step boundary. A subagent's run has a control whose ``parent`` is its parent
    run's: a pause of any run above it pauses it too.
    """

    def __init__(self, parent: Control | None = None) -> None:
        self.parent = parent
        self._stop: asyncio.Future[StopRun] = asyncio.get_running_loop().create_future()
        self._running = asyncio.Event()
        self._running.set()
        self._decisions: dict[str, asyncio.Future[tuple[bool, str | None]]] = {}
        self._edits: dict[str, dict[str, Any]] = {}
        self._inputs: dict[str, asyncio.Future[Any]] = {}
        self._deferred: dict[str, asyncio.Future[Any]] = {}
        self._timer: asyncio.TimerHandle | None = None

    @property
    def stopped(self) -> StopRun | None:
        """The stop request of this run, else of the nearest run above it that has one."""
        if self._stop.done():
            return self._stop.result()
        return self.parent.stopped if self.parent is not None else None

    @property
    def paused(self) -> bool:
        """True while a pause is requested of this run or of a run above it."""
        return not self._running.is_set() or (self.parent is not None and self.parent.paused)

    def stop(self, kind: StopKind, reason: str, *, timed_out: bool = False) -> None:
        """Ask the run to end now (the first request wins)."""
        if not self._stop.done():
            self._stop.set_result(StopRun(kind, reason, timed_out=timed_out))
        self._running.set()

    def stop_after(self, seconds: float) -> None:
        """End the run as interrupted when it is still going after ``seconds``."""
        reason = f"run timed out after {seconds:g}s"
        stop = functools.partial(self.stop, "interrupted", reason, timed_out=True)
        self._timer = asyncio.get_running_loop().call_later(seconds, stop)

    def close(self) -> None:
        """Release the timer."""
        if self._timer is not None:
            self._timer.cancel()

    def pause(self) -> None:
        """Pause at the next step boundary."""
        self._running.clear()

    def resume(self) -> None:
        """Continue a paused run."""
        self._running.set()

    def check(self) -> None:
        """Raise StopRun when a stop was requested."""
        if self._stop.done():
            raise self._stop.result()

    async def wait_running(self) -> None:
        """Wait while this run or a run above it is paused (a stop of this one ends the wait)."""
        while self.paused:
            waiting = self
            while waiting._running.is_set() and waiting.parent is not None:
                waiting = waiting.parent  # the run whose pause this one waits out
            await self.guard(waiting._running.wait())
        self.check()

    async def guard(self, awaitable: Awaitable[T]) -> T:
        """Await ``awaitable`` unless the run is stopped first, in which case cancel it."""
        self.check()
        task = asyncio.ensure_future(awaitable)
        try:
            done, _ = await asyncio.wait((task, self._stop), return_when=asyncio.FIRST_COMPLETED)
        finally:  # stopped, or this wait was cancelled (a parent's stop): the work goes too
            if not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        if task in done:
            return task.result()
        raise self._stop.result()

    def decide(
        self,
        call_id: str,
        approved: bool,
        reason: str | None = None,
        args: dict[str, Any] | None = None,
    ) -> bool:
        """Record a decision for a pending approval (``args``: the edited arguments it approves);
        False when nobody waits for it."""
        future = _future(self._decisions, call_id)
        if args is not None and not future.done():
            self._edits[call_id] = args
        return _settle(future, (approved, reason))

    def edit_of(self, call_id: str) -> dict[str, Any] | None:
        """The edited arguments given with ``call_id``'s approval, once (None: no edit)."""
        return self._edits.pop(call_id, None)

    def resolve(self, call_id: str, output: Any) -> bool:
        """Deliver a deferred call's result; False when already delivered."""
        return _settle(_future(self._deferred, call_id), output)

    async def wait_deferred(self, call_id: str) -> Any:
        """Wait for a deferred call's result (a stop ends the wait)."""
        return await self.guard(asyncio.shield(_future(self._deferred, call_id)))

    def provide(self, call_id: str, value: Any) -> bool:
        """Record a person's answer to a tool's question; False when already answered."""
        return _settle(_future(self._inputs, call_id), value)

    async def wait_input(self, call_id: str) -> Any:
        """Wait for the answer to ``call_id``'s question (a stop ends the wait)."""
        value = await self.guard(asyncio.shield(_future(self._inputs, call_id)))
        del self._inputs[call_id]  # a later question of the same call gets a new answer
        return value

    async def wait_decision(self, call_id: str, timeout: float | None) -> tuple[bool, str | None]:
        """Wait for approve/reject of ``call_id``; a timeout counts as a rejection."""
        waited = _future(self._decisions, call_id)
        try:
            return await self.guard(asyncio.wait_for(asyncio.shield(waited), timeout))
        except TimeoutError:
            return False, f"no decision within {timeout:g}s"
        finally:  # used once: a call asked about again (its arguments edited) waits anew
            if self._decisions.get(call_id) is waited:
                del self._decisions[call_id]


def _future(waits: dict[str, asyncio.Future[T]], call_id: str) -> asyncio.Future[T]:
    """The future ``call_id`` is (or will be) settled through, made on first use by either side."""
    future = waits.get(call_id)
    if future is None:
        future = waits[call_id] = asyncio.get_running_loop().create_future()
    return future


def _settle(future: asyncio.Future[Any], value: Any) -> bool:
    if future.done():
        return False
    future.set_result(value)
    return True
