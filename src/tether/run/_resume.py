"""``Runner.resume``: continue a stored run to its end, or (with ``breakpoints=``) in the
background behind a :class:`~tether.run.handle.RunHandle` whose debugger steers its pauses.

Kept out of runner.py (the Runner's method is this function); typed against what it uses of
the Runner, as :mod:`tether._subagents` is (the Runner imports this module).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, overload

from .._subagents import refuse_decided_below
from ..store.lease import resume_lease
from .handle import RunHandle

if TYPE_CHECKING:
    from .._spec import AgentSpec
    from ..config import RunConfig
    from ..debug import Breakpoint
    from ..engine._wiring import RunWiring
    from ..events import Event
    from ..governance.approval import Approval
    from ..results import Result
    from ..store import Store

__all__ = ["RESUMABLE", "Verdicts", "resume"]

#: States a stored run can be continued from (the others are final: resume returns the Result).
RESUMABLE = frozenset(
    ("awaiting_approval", "awaiting_input", "awaiting_deferred", "interrupted", "failed", "running")
)
Verdicts = Mapping[str, "bool | str | Approval | Mapping[str, Any]"]


class Runner(Protocol):
    """What resuming uses of the ``tether.Runner`` (typed here, not imported: the Runner
    imports this module)."""

    _lease_resumes: bool

    @property
    def store(self) -> Store | None:
        """The Runner's store, or None."""

    @property
    def _resume_session(self) -> Callable[..., Awaitable[RunWiring]]: ...
    @property
    def _finish(self) -> Callable[[RunWiring], Awaitable[Result[Any]]]: ...
    @property
    def _events(self) -> Callable[[RunWiring], AsyncGenerator[Event, None]]: ...


@overload
async def resume(
    self: Runner,
    run_id: str,
    agent: AgentSpec | str | None = ...,
    approvals: Verdicts | None = ...,
    *,
    inputs: dict[str, Any] | None = ...,
    deps: Any = ...,
    run_config: RunConfig | None = ...,
    allow_agent_change: bool = ...,
    breakpoints: None = ...,
) -> Result[Any]: ...
@overload
async def resume(
    self: Runner,
    run_id: str,
    agent: AgentSpec | str | None = ...,
    approvals: Verdicts | None = ...,
    *,
    inputs: dict[str, Any] | None = ...,
    deps: Any = ...,
    run_config: RunConfig | None = ...,
    allow_agent_change: bool = ...,
    breakpoints: Sequence[str | Breakpoint],
) -> RunHandle: ...
async def resume(
    self: Runner,
    run_id: str,
    agent: AgentSpec | str | None = None,
    approvals: Mapping[str, bool | str | Approval | Mapping[str, Any]] | None = None,
    *,
    inputs: dict[str, Any] | None = None,
    deps: Any = None,
    run_config: RunConfig | None = None,
    allow_agent_change: bool = False,
    breakpoints: Sequence[str | Breakpoint] | None = None,
) -> Result[Any] | RunHandle:
    """Continue a stored run from its last checkpoint, in this or another process.

    ``approvals`` decides pending approvals (and calls a crash cut short): ``True``
    approves, a string rejects with that reason, an :class:`~tether.governance.Approval`
    (or a mapping of its fields) approves with edited ``args`` and/or an expiry. Each
    approval is bound to the digest of the arguments approved. ``inputs`` answers the
    questions tools asked with ``ctx.request_input``. A finished run returns its Result.

    The run keeps its start RunConfig (``run_config`` overrides it); what cannot be restored
    (a policy, guardrail, model object) is a UserError naming it: pass it again. Another
    agent than the one that started the run is refused unless ``allow_agent_change=True``.

    ``breakpoints`` (``"tool:NAME"``, ``"event:TYPE"``, ``"turn:N"``) mean what they mean for
    ``start``: the resumed run pauses there, its subagents' runs too. The run then goes on in
    the background and its :class:`~tether.run.handle.RunHandle` is returned at once (its
    ``debugger`` steers the pauses, its questions are asked on it); ``await handle.result()``
    for the Result.
    """
    await refuse_decided_below(self.store, run_id, [*(approvals or ()), *(inputs or ())])
    session = partial(
        self._resume_session, run_id, agent, approvals, deps, run_config, inputs, allow_agent_change
    )
    if breakpoints is not None:
        return await _handle(self, run_id, breakpoints, partial(session, interactive=True))
    async with resume_lease(self.store, run_id, self._lease_resumes):
        resumed = await session()
        if resumed.state.finished and resumed.state.status not in RESUMABLE:
            return resumed.build_result()
        return await self._finish(resumed)


async def _handle(
    runner: Runner,
    run_id: str,
    breakpoints: Sequence[str | Breakpoint],
    session: Callable[[], Awaitable[RunWiring]],
) -> RunHandle:
    """The resumed run going on in the background under ``breakpoints``, and its handle; the
    run's lease is held until the run stops."""
    from ..debug import Debugger
    from ..engine.control import Control

    debugger = Debugger(breakpoints)  # a bad breakpoint fails before anything is done
    lease = contextlib.AsyncExitStack()
    await lease.enter_async_context(resume_lease(runner.store, run_id, runner._lease_resumes))
    try:
        resumed = await session()
    except BaseException:
        await lease.aclose()
        raise
    if resumed.state.finished and resumed.state.status not in RESUMABLE:
        await lease.aclose()  # nothing to run: a handle on the Result it has
        return RunHandle(resumed, _held(None, None), resumed.control or Control())
    assert resumed.control is not None
    debugger.bind(resumed)
    return RunHandle(resumed, _held(runner._events(resumed), lease), resumed.control)


async def _held(
    events: AsyncGenerator[Event, None] | None, lease: contextlib.AsyncExitStack | None
) -> AsyncGenerator[Event, None]:
    """``events``, then the lease released (however the run stops)."""
    try:
        if events is not None:
            async with contextlib.aclosing(events):
                async for event in events:
                    yield event
    finally:
        if lease is not None:
            await lease.aclose()
