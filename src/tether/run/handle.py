"""RunHandle: a run going on in the background, its event log, and its control channel."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from ..engine.control import Control
from ..errors import UserError
from ..events import Event
from ..governance._decisions import decision_events
from ..governance.approval import Approval
from ..results import Result

if TYPE_CHECKING:
    from ..debug import Debugger
    from ..engine._wiring import RunWiring

__all__ = ["RunHandle"]

_NO_APPROVAL = "no approval is pending for call {!r} (pending: {})"
_NO_QUESTION = "no question is pending for call {!r} (pending: {})"
_NO_DEFERRED = "no deferred call {!r} is waiting (waiting: {})"


class RunHandle:
    """Watch and steer a run started with ``agent.start()`` / ``runner.start()``.

    ``events`` can be iterated by several consumers; each sees the whole log from the start.
    Controls: :meth:`pause` (at the next step boundary), :meth:`resume`, :meth:`cancel` and
    :meth:`interrupt` (both at once, cancelling the model call or tools in flight),
    :meth:`approve` / :meth:`reject` for pending approvals. :meth:`result` waits for the end.
    """

    def __init__(self, session: RunWiring, events: AsyncIterator[Event], control: Control) -> None:
        self._session = session
        self._control = control
        self._log: list[Event] = []
        self._changed = asyncio.Event()
        self._done = False
        self._task = asyncio.create_task(self._pump(events), name=f"tether-run-{self.run_id}")
        if session.debugger is not None:  # a subagent's pause is told here, in the log
            session.debugger.watch(self._told)

    def _told(self, event: Event) -> None:
        self._log.append(event)
        self._wake()

    async def _pump(self, events: AsyncIterator[Event]) -> None:
        try:
            async for event in events:
                self._log.append(event)
                self._wake()
        finally:
            self._done = True
            self._wake()

    def _wake(self) -> None:
        changed = self._changed
        self._changed = asyncio.Event()
        changed.set()

    @property
    def run_id(self) -> str:
        """The run's id."""
        return self._session.state.run_id

    @property
    def status(self) -> str:
        """``running``, ``paused``, ``awaiting_approval`` or the terminal state."""
        state = self._session.state
        if state.status == "running":
            if state.pending_approvals:
                return "awaiting_approval"
            if state.pending_inputs:
                return "awaiting_input"
            if state.deferred:
                return "awaiting_deferred"
            if self._control.paused:
                return "paused"
        return state.status

    @property
    def error(self) -> BaseException | None:
        """The exception that failed the run (what ``Runner.run`` would raise), or None."""
        return self._session.error

    @property
    def debugger(self) -> Debugger | None:
        """The run's breakpoints and pauses (``start(..., breakpoints=[...])``), or None."""
        found: Debugger | None = self._session.debugger
        return found

    @property
    def pending_approvals(self) -> list[str]:
        """Call ids waiting for approve/reject."""
        return list(self._session.state.pending_approvals)

    @property
    def events(self) -> AsyncIterator[Event]:
        """A new subscription to the run's events, from the first one to the last."""
        return self._subscribe()

    async def _subscribe(self) -> AsyncIterator[Event]:
        index = 0
        while True:
            while index < len(self._log):
                yield self._log[index]
                index += 1
            if self._done:
                return
            await self._changed.wait()

    @property
    def pending_inputs(self) -> list[str]:
        """Call ids whose tools wait for :meth:`respond`."""
        return list(self._session.state.pending_inputs)

    async def respond(self, call_id: str, value: Any) -> None:
        """Answer the question a tool asked with ``ctx.request_input``."""
        self._control.provide(self._pending(call_id, "pending_inputs", _NO_QUESTION), value)

    @property
    def deferred(self) -> dict[str, str]:
        """Tickets of deferred tool calls waiting for :meth:`resolve`, by call id."""
        return {c: d.ticket for c, d in self._session.state.deferred.items()}

    async def resolve(self, call_id: str, output: Any) -> None:
        """Deliver the result of a deferred tool call (an Exception delivers a failure)."""
        self._control.resolve(self._pending(call_id, "deferred", _NO_DEFERRED), output)

    async def pause(self) -> None:
        """Pause at the next step boundary (work in flight finishes), a subagent's at its own."""
        self._control.pause()

    async def resume(self) -> None:
        """Continue a paused run."""
        self._control.resume()

    async def cancel(self) -> None:
        """End the run now as ``cancelled``; work in flight is cancelled."""
        self._control.stop("cancelled", "cancelled by the caller")

    async def interrupt(self) -> None:
        """End the run now as ``interrupted``, cutting the in-flight model call or tool."""
        self._control.stop("interrupted", "interrupted by the caller")

    async def approve(self, call_id: str, *, args: Mapping[str, Any] | None = None) -> None:
        """Approve a pending tool call; with ``args``, approve it edited to those arguments (the
        call runs with them, the log records the edit; a UserError when they do not fit the
        tool)."""
        edit = dict(args) if args is not None else None
        if edit is not None and call_id in self._session.state.pending_approvals:
            state = self._session.state
            session = self._session
            decision_events(
                state, call_id, Approval(args=edit), session.tool_named, hooks=session.hooks
            )
        self._control.decide(
            self._pending(call_id, "pending_approvals", _NO_APPROVAL), True, None, edit
        )

    async def reject(self, call_id: str, reason: str | None = None) -> None:
        """Reject a pending tool call; ``reason`` is sent to the model as the tool's result."""
        self._control.decide(
            self._pending(call_id, "pending_approvals", _NO_APPROVAL), False, reason
        )

    def _pending(self, call_id: str, field: str, refusal: str) -> str:
        """``call_id`` when the run waits on it (in ``field`` of its state), else a UserError."""
        waiting = getattr(self._session.state, field)
        if call_id not in waiting:
            raise UserError(refusal.format(call_id, ", ".join(waiting) or "none"))
        return call_id

    async def result(self) -> Result[Any]:
        """Wait for the run to end and return its Result (the state says how it ended)."""
        await asyncio.shield(self._task)
        return self._session.build_result()

    async def await_result(self) -> Result[Any]:
        """Alias of :meth:`result`."""
        return await self.result()

    def done(self) -> bool:
        """True once the run has ended."""
        return self._done

    def __repr__(self) -> str:
        return f"RunHandle(run_id={self.run_id!r}, status={self.status!r})"
