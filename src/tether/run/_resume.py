"""What ``Runner.resume`` does: continue a stored run to its end, or (with ``breakpoints=``)
in the background behind a :class:`~tether.run.handle.RunHandle` whose debugger steers its
pauses. Kept out of runner.py (for its size); typed against what it uses of the Runner, as
:mod:`tether._subagents` is (the Runner imports this module).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, TypedDict

from .._subagents import decidable, refuse_decided_below, waits
from ..config._record import restored_config
from ..durable._setting import refuse_engine_run
from ..errors import UserError
from ..events import InputProvided
from ..governance._decisions import decision_events
from ..governance.chain import govern_answer
from ..store.lease import resume_lease
from ._start import agent_fingerprint
from .handle import RunHandle

if TYPE_CHECKING:
    from .._spec import AgentSpec
    from ..config import RunConfig
    from ..debug import Breakpoint
    from ..engine._wiring import RunWiring
    from ..events import Event
    from ..governance.approval import Approval
    from ..governance.hooks import PolicyHooks
    from ..results import Result, RunState
    from ..store import Store

__all__ = [
    "RESUMABLE",
    "ResumeOptions",
    "Verdicts",
    "interactive_config",
    "resolve_deferred",
    "resume_events",
    "resume_run",
    "resumed_session",
]

#: States a stored run can be continued from (the others are final: resume returns the Result).
RESUMABLE = frozenset(
    ("awaiting_approval", "awaiting_input", "awaiting_deferred", "interrupted", "failed", "running")
)
Verdicts = Mapping[str, "bool | str | Approval | Mapping[str, Any]"]


class ResumeOptions(TypedDict, total=False):
    """``Runner.resume``'s keyword options besides ``breakpoints``."""

    inputs: dict[str, Any] | None
    deps: Any
    run_config: RunConfig | None
    allow_agent_change: bool


def interactive_config(config: RunConfig, interactive: bool) -> RunConfig:
    """A handle's run asks its questions on the handle, unless its config says otherwise."""
    if interactive and config.interaction_mode is None:
        from ..config import RunConfig as Config

        return Config(interaction_mode="interactive").over(config)
    return config


class Runner(Protocol):
    """What resuming uses of the ``tether.Runner`` (typed here, not imported: the Runner
    imports this module)."""

    _lease_resumes: bool
    config: RunConfig
    policy_hooks: PolicyHooks | None

    @property
    def store(self) -> Store | None:
        """The Runner's store, or None."""

    @property
    def _active(self) -> set[str]:
        """The ids of the runs going on in this Runner."""

    async def load_state(self, run_id: str) -> RunState:
        """Fold a stored run's events into its state."""

    def _agent(self, agent: AgentSpec | str) -> AgentSpec: ...
    def _config(self, run_config: RunConfig | None) -> RunConfig: ...
    def _new_session(
        self,
        state: RunState,
        agent: AgentSpec,
        config: RunConfig,
        deps: Any,
        stream: bool = False,
        interactive: bool = False,
    ) -> RunWiring: ...

    @property
    def _resume_session(self) -> Callable[..., Awaitable[RunWiring]]: ...
    @property
    def _finish(self) -> Callable[[RunWiring], Awaitable[Result[Any]]]: ...
    @property
    def _events(self) -> Callable[[RunWiring], AsyncGenerator[Event, None]]: ...


async def resumed_session(
    runner: Runner,
    run_id: str,
    agent: AgentSpec | str | None,
    approvals: Verdicts | None,
    deps: Any,
    run_config: RunConfig | None,
    inputs: dict[str, Any] | None = None,
    allow_agent_change: bool = False,
    state: RunState | None = None,
    *,
    interactive: bool = False,
) -> RunWiring:
    """The wiring of a stored run continued: checked (its agent, the calls decided), the
    decisions recorded in its log, its id claimed in ``runner``; a run that has ended gets a
    wiring on its final state (nothing to run)."""
    state = state or await runner.load_state(run_id)
    started = state.started_event
    assert started is not None
    refuse_engine_run(state, "resume")  # an unfinished engine run is its engine's
    start_name = started.agent
    start_agent = runner._agent(agent if agent is not None else start_name)
    if start_agent.name != start_name:
        raise UserError(
            f"run {run_id!r} was started by agent {start_name!r}, not {start_agent.name!r}"
        )
    if state.finished and state.status not in RESUMABLE:
        return runner._new_session(state, start_agent, runner._config(run_config), deps)
    recorded = started.agent_fingerprint
    changed = recorded is not None and agent_fingerprint(start_agent) != recorded
    if changed and not allow_agent_change:
        raise UserError(
            f"run {run_id!r} was started by another version of agent {start_name!r} "
            "(its instructions, tools, model, output or handoffs differ): resume it "
            "with the agent that started it, or pass allow_agent_change=True when the "
            "change is intended"
        )
    config = restored_config(started.settings, run_config, runner.config, run_id)
    config = interactive_config(config, interactive)
    if run_id in runner._active:
        raise UserError(f"run {run_id!r} is still going on in this process")
    for call_id in approvals or {}:
        if not decidable(state, call_id):
            raise UserError(
                f"run {run_id!r} has no pending approval or cut-short call {call_id!r}"
                + waits(state)
            )
    for call_id in inputs or {}:
        if call_id not in state.pending_inputs:
            raise UserError(f"run {run_id!r} has no question pending for call {call_id!r}")
    # built once the checks passed: a refused resume leaves no control (nor its timer)
    session = runner._new_session(state, start_agent, config, deps, interactive=interactive)
    decided: list[Event] = [
        session.emit(InputProvided(call_id=call_id, value=govern_answer(runner.policy_hooks, v)))
        for call_id, v in (inputs or {}).items()
    ]
    for call_id, verdict in (approvals or {}).items():  # a bad verdict: a UserError here
        decided.extend(
            map(
                session.emit,
                decision_events(state, call_id, verdict, session.tool_named, hooks=session.hooks),
            )
        )
    runner._active.add(run_id)  # no await since the check above: nothing else claimed it
    if decided and runner.store is not None:
        await runner.store.append(run_id, decided)
    return session


async def resume_run(
    runner: Runner,
    run_id: str,
    agent: AgentSpec | str | None,
    approvals: Verdicts | None,
    breakpoints: Sequence[str | Breakpoint] | None,
    options: ResumeOptions,
) -> Result[Any] | RunHandle:
    """``Runner.resume`` (its docstring says what it does): the run to its end, its Result;
    with ``breakpoints``, in the background behind the RunHandle returned."""
    inputs = options.get("inputs")
    await refuse_decided_below(runner.store, run_id, [*(approvals or ()), *(inputs or ())])
    deps, run_config = options.get("deps"), options.get("run_config")
    changed = options.get("allow_agent_change", False)
    session = partial(
        runner._resume_session, run_id, agent, approvals, deps, run_config, inputs, changed
    )
    if breakpoints is not None:
        return await _handle(runner, run_id, breakpoints, partial(session, interactive=True))
    async with resume_lease(runner.store, run_id, runner._lease_resumes):
        resumed = await session()
        if resumed.state.finished and resumed.state.status not in RESUMABLE:
            return resumed.build_result()
        return await runner._finish(resumed)


async def resume_events(
    runner: Runner,
    run_id: str,
    agent: AgentSpec | str | None,
    approvals: Verdicts | None,
    options: ResumeOptions,
) -> AsyncGenerator[Event, None]:
    """``Runner.resume_stream``: the continued run's events as they happen, model calls
    streamed (as ``run_stream``'s); a run that has ended yields its ``run_finished`` alone,
    with its Result. The run's lease is held until the run stops."""
    inputs = options.get("inputs")
    await refuse_decided_below(runner.store, run_id, [*(approvals or ()), *(inputs or ())])
    deps, run_config = options.get("deps"), options.get("run_config")
    changed = options.get("allow_agent_change", False)
    async with resume_lease(runner.store, run_id, runner._lease_resumes):
        state = await runner.load_state(run_id)
        before = state.seq
        resumed = await runner._resume_session(
            run_id, agent, approvals, deps, run_config, inputs, changed, state=state
        )
        if resumed.state.finished and resumed.state.status not in RESUMABLE:
            yield _with_result(resumed)
            return
        if resumed.state.seq > before:  # the decisions recorded on resume, streamed first
            assert runner.store is not None  # load_state needs one
            for event in await runner.store.load(run_id):
                if event.seq > before:
                    yield event
        resumed.stream = True  # its text and tool-call deltas, as a live streamed run's
        async with contextlib.aclosing(runner._events(resumed)) as events:
            async for event in events:
                yield event


def _with_result(ended: RunWiring) -> Event:
    """The ended run's ``run_finished``, carrying its Result (a stored one has none)."""
    import dataclasses

    last = ended.state.finished_event
    assert last is not None
    return dataclasses.replace(last, result=ended.build_result())


async def resolve_deferred(
    runner: Runner,
    run_id: str,
    call_id: str,
    output: Any,
    agent: AgentSpec | str | None,
    deps: Any,
    run_config: RunConfig | None,
) -> Result[Any]:
    """``Runner.resolve_deferred`` (its docstring says what it does)."""
    from ..engine._deliver import deferred_result

    async with resume_lease(runner.store, run_id, runner._lease_resumes):
        state = await runner.load_state(run_id)
        waiting = state.deferred.get(call_id)
        if waiting is None:
            known = ", ".join(state.deferred) or "none"
            raise UserError(f"run {run_id!r} has no deferred call {call_id!r} (waiting: {known})")
        session = await runner._resume_session(run_id, agent, None, deps, run_config, state=state)
        delivered = session.emit(deferred_result(waiting, output, session.config, session.hooks))
        assert runner.store is not None  # load_state needs one
        await runner.store.append(run_id, [delivered])
        if session.state.deferred:  # others still out: stay suspended, record the delivery
            runner._active.discard(run_id)
            return session.build_result()
        return await runner._finish(session)


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
    resumed.stream = True  # a handle's run streams its deltas, as start()'s does
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
