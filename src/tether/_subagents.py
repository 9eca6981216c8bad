"""Agents as tools: a subagent's nested run, and what it waits for, surfaced on its parent.

A subagent runs as a run of its own, with its own log (in the store when the Runner has one).
When that run stops to wait (an approval, a person's answer, a deferred result), the parent's
call waits on it: the parent logs ``subagent_suspended`` and asks for the same things under ids
of its own, ``<parent call id>.<child call id>``, so the parent's stream, handle and Result show
them, and ``resume(approvals=...)``, ``approve``, ``respond`` and ``resolve_deferred`` on the
parent take them. Once all of them are answered, the parent's call runs again: it continues the
child's run (loaded from the store, or kept in memory without one) with the answers routed to
the child's own ids, so the child's tool runs there, once. Nested subagents do the same at each
level: the top run's ids name the path down (``top call.mid call.leaf call``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from .config import DEFAULT_MAX_SUBAGENT_DEPTH, RunConfig
from .config._record import RunArgs
from .engine.control import Control
from .engine.steps import (
    CHECKPOINT,
    AwaitingApproval,
    AwaitingDeferred,
    AwaitingInput,
    Checkpoint,
    Interrupted,
)
from .errors import BudgetExceeded, RunCancelled, RunLimitExceeded, TetherError, UserError
from .events import (
    Event,
    RunFinished,
    SubagentFinished,
    SubagentSuspended,
)
from .messages import ToolCallPart
from .results import Result, RunState

if TYPE_CHECKING:
    from ._spec import AgentSpec
    from .engine._wiring import RunWiring
    from .events import ApprovalRequested, InputRequested, ToolCallDeferred
    from .store import Store
    from .tracing.base import Exporter

    Asked = ApprovalRequested | InputRequested | ToolCallDeferred

__all__ = [
    "CANCELLABLE",
    "ask_for_children",
    "asked_upstream",
    "call_subagent",
    "crashed_children",
    "decidable",
    "ready",
    "record_cancelled",
    "recorded_child",
    "refuse_decided_below",
    "run_subagent",
    "stored_state",
    "waits",
]


class Runner(Protocol):
    """What running a subagent uses of the ``tether.Runner`` that runs its parent (typed here,
    not imported: the Runner imports this module)."""

    @property
    def store(self) -> Store | None:
        """The Runner's store, or None."""

    @property
    def exporters(self) -> list[Exporter]:
        """The Runner's trace exporters."""

    async def load_state(self, run_id: str) -> RunState:
        """The folded state of a stored run."""

    # The Runner's own steps of a run: build the wiring, resume one, drive it to its Result.
    @property
    def _session(self) -> Callable[..., Awaitable[RunWiring]]: ...
    @property
    def _resume_session(self) -> Callable[..., Awaitable[RunWiring]]: ...
    @property
    def _finish(self) -> Callable[[RunWiring], Awaitable[Result[Any]]]: ...


#: The states a child run waits in (the parent's call waits with it).
_SUSPENDED = frozenset(("awaiting_approval", "awaiting_input", "awaiting_deferred"))
_ENDED = frozenset(("completed", "degraded", "cancelled"))


def _answered(st: RunState, asked: str) -> bool:
    return asked in st.decisions or asked in st.inputs or asked in st.delivered


def decidable(st: RunState, call_id: str) -> bool:
    """Whether a decision on ``call_id`` can be taken: a pending approval, a call a crash cut
    short, or such a call of a subagent (surfaced here)."""
    if call_id in st.pending_approvals or call_id in st.started:
        return True
    asked = call_id in st.pending_inputs or call_id in st.deferred
    return call_id in st.surfaced and not asked


def waits(st: RunState) -> str:
    """What a run can be given decisions for, for an error about a wrong call id."""
    pending = [*st.pending_approvals, *st.started, *(c for c in st.surfaced if decidable(st, c))]
    return f" (pending: {', '.join(dict.fromkeys(pending)) or 'none'})"


def ready(st: RunState, call_id: str) -> bool:
    """True when everything the subagent of ``call_id`` waits for has been answered."""
    return all(_answered(st, asked) for asked in st.suspended[call_id].calls)


async def run_subagent(
    runner: Runner, agent: AgentSpec, input: str, parent: RunWiring, call_id: str
) -> Result[Any]:
    """Run ``agent`` as a subagent of ``parent`` for its call ``call_id``: a new nested run, or
    the suspended one continued with the answers the parent was given."""
    limit = parent.config.max_subagent_depth or DEFAULT_MAX_SUBAGENT_DEPTH
    if parent.depth + 1 > limit:
        raise RunLimitExceeded("max_subagent_depth", parent.depth + 1, limit)
    budget = _budget_left(parent)
    calls_left = _calls_left(parent)
    suspended = parent.state.suspended.get(call_id)
    if suspended is None:
        config = RunConfig(
            max_cost=budget,
            model_settings=parent.config.model_settings,
            max_concurrency=parent.config.max_concurrency,
            tool_output_max_chars=parent.config.tool_output_max_chars,
            sanitize_tool_output=parent.config.sanitize_tool_output,
            tracing_disabled=parent.config.tracing_disabled,
            trace_include_sensitive_data=parent.config.trace_include_sensitive_data,
            trace_id=parent.state.trace_id,
            max_subagent_depth=parent.config.max_subagent_depth,
            max_tool_calls=calls_left,
        )
        args = RunArgs(agent, input, parent.deps, None, child_run_id(parent.state, call_id), config)
        session = await runner._session(args, parent_run_id=parent.state.run_id)
    else:
        session = await _continued(runner, agent, parent, suspended, budget, calls_left)
        if session.state.status in _ENDED:  # continued on its own (answered on the child)
            return session.build_result()
    session.depth = parent.depth + 1
    if parent.control is not None:  # the parent's pause and stop reach the child's steps
        session.control = session.control or Control()
        session.control.parent = parent.control
    if parent.debugger is not None:  # the parent's breakpoints pause the child's run too
        parent.debugger.attach(session)
    # kept for the parent: what it waits for, and (without a store) the run to continue
    parent.children[call_id] = session
    # a stop of the parent cancels this call: the child's drive records its end (tether._cut_short)
    return await runner._finish(session)


def child_run_id(st: RunState, call_id: str) -> str | None:
    """The run id of the subagent run started for ``call_id``'s current start: derived from the
    log, so a parent resumed after a crash finds the run its call had started."""
    started = st.started.get(call_id)
    if started is None:
        return None
    key = f"{st.run_id}\0{call_id}\0{started.seq}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(key).hexdigest()[:32]


async def stored_state(store: Store, run_id: str) -> RunState | None:
    """The state folded from ``run_id``'s stored log, or None when the store has no such run."""
    events = await store.load(run_id)
    if not events:
        return None
    return RunState.from_events(run_id, events)


#: The states of a run that has not ended (an interrupted run ended: a person decides on it,
#: and a cancel is such a decision).
CANCELLABLE = ("running", "awaiting_approval", "awaiting_input", "awaiting_deferred", "paused")


async def record_cancelled(
    store: Store, state: RunState, reason: str, *, seq: int | None = None
) -> RunFinished:
    """Append ``state``'s run its cancelled end (at ``seq``, by default after its last stored
    event), and end what waits on it. Every way of cancelling a stored run (the CLI, the
    server, A2A) does it here:

    - an ``interrupted`` run's calls a crash cut short end their effect ledger rows
      ``rejected``: nobody will run them again, as when a person rejects them on resume;
    - the subagents' runs it waits on (and theirs) end ``cancelled`` too: a waiting child is
      not running anywhere, and with its parent gone nothing would ever continue it.
    """
    from .governance.effects import end_interrupted

    end = RunFinished(
        run_id=state.run_id,
        seq=state.seq + 1 if seq is None else seq,
        at=time.time(),
        state="cancelled",
        final_text=state.final_text,
        error=reason,
        error_type="RunCancelled",
    )
    await store.append(state.run_id, [end])
    if state.status == "interrupted":
        await end_interrupted(store, state)
    for waits in list(state.suspended.values()):
        child = await stored_state(store, waits.child_run_id)
        if child is not None and (child.status in CANCELLABLE or child.status == "interrupted"):
            await record_cancelled(store, child, f"its parent run {state.run_id} was cancelled")
    return end


async def asked_upstream(store: Store, state: RunState, call_id: str) -> tuple[str, str] | None:
    """Where ``call_id`` of a subagent's run is asked for at the top: (top run id, its id
    there), or None when no parent waits on it (the run is decided on directly)."""
    found = None
    run_id, asked, parent_id = state.run_id, call_id, state.parent_run_id
    while parent_id is not None:
        parent = await stored_state(store, parent_id)
        mine = None
        for waits in parent.suspended.values() if parent is not None else ():
            if waits.child_run_id == run_id:
                mine = next((x for x, theirs in waits.calls.items() if theirs == asked), None)
        if parent is None or mine is None:
            break
        found = (parent_id, mine)
        run_id, asked, parent_id = parent_id, mine, parent.parent_run_id
    return found


async def refuse_decided_below(
    store: Store | None, run: RunState | str, call_ids: list[str]
) -> None:
    """A decision given on a subagent's run that a parent waits on belongs to the top run
    (deciding the child directly would leave the parent waiting): a UserError naming it."""
    if store is None or not call_ids:
        return
    state = run if isinstance(run, RunState) else await stored_state(store, run)
    if state is None or state.parent_run_id is None:
        return
    for call_id in call_ids:
        upstream = await asked_upstream(store, state, call_id)
        if upstream is not None:
            top, asked = upstream
            raise UserError(
                f"run {state.run_id!r} is a subagent's run that run {top!r} waits on: decide "
                f"the call there, as {asked!r} (tether runs approve {top} {asked})"
            )


async def crashed_children(
    s: RunWiring, agent: AgentSpec, calls: list[ToolCallPart]
) -> list[Event]:
    """For subagent calls a crash cut short whose child run is in the store: the
    ``subagent_suspended`` that makes the call continue that run instead of counting as cut."""
    found: list[Event] = []
    for call in calls:
        tool = s.toolset(agent).get(call.name) if call.call_id in s.state.started else None
        child_id = child_run_id(s.state, call.call_id) if tool and tool.subagent else None
        if child_id is None or s.load_run is None:
            continue
        state = await s.load_run(child_id)
        if state is None or state.started_event is None:
            continue
        found.append(
            SubagentSuspended(
                call_id=call.call_id,
                agent=state.started_event.agent,
                child_run_id=child_id,
                state="running",
                usage=state.usage.copy(),
            )
        )
    return found


def _budget_left(parent: RunWiring) -> float | None:
    """What a subagent may spend: what is left of its parent's ``max_cost`` (None: no limit).
    The child checks it before each of its model calls; nothing left is BudgetExceeded now."""
    budget = parent.config.max_cost
    if budget is None:
        budget = parent.agent_named(parent.state.agent_name).max_cost
    spent = parent.state.usage.cost
    if budget is None or spent is None:
        return budget
    if spent >= budget:
        raise BudgetExceeded(spent, budget)
    return budget - spent


def _calls_left(parent: RunWiring) -> int | None:
    """How many tool calls a subagent may make: what is left of the parent's ``max_tool_calls``
    once its own calls (this one among them) are counted."""
    limit = parent.config.max_tool_calls
    if limit is None:
        return None
    return max(limit - len(parent.state.tool_executions) - len(parent.state.started), 0)


async def _continued(
    runner: Runner,
    agent: AgentSpec,
    parent: RunWiring,
    suspended: SubagentSuspended,
    budget: float | None,
    calls_left: int | None,
) -> RunWiring:
    """The session that continues a suspended child with the answers routed to its ids."""
    from .engine._deliver import deferred_result
    from .governance.approval import Approval

    st = parent.state
    child_id = suspended.child_run_id
    kept = parent.children.get(suspended.call_id)
    if kept is not None and kept.state.run_id != child_id:
        kept = None
    if runner.store is None:
        if kept is None:
            raise UserError(
                f"the subagent run {child_id!r} that call {suspended.call_id!r} waits on cannot "
                "be continued: it was not stored (this Runner has no store) and is not in this "
                "process"
            )
        state = kept.state
    else:
        state = await runner.load_state(child_id)
    approvals: dict[str, Any] = {}
    inputs: dict[str, Any] = {}
    for asked, theirs in suspended.calls.items():
        decision = st.decisions.get(asked)
        pending = state.pending_approvals.get(theirs)
        if decision is not None and decidable(state, theirs):
            edited = st.decided_args.get(asked)  # the person's edit, when the args differ
            changed = pending is not None and edited is not None and edited != pending.args
            approvals[theirs] = Approval(
                approved=decision.approved,
                reason=None if decision.approved else (decision.reason or "rejected"),
                args=edited if changed else None,
                expires_at=decision.expires_at,
            )
        answers = st.inputs.get(asked)
        if answers and theirs in state.pending_inputs:
            inputs[theirs] = answers[-1]
    spent = suspended.usage.cost if suspended.usage is not None else 0.0
    # the limits are what is left of the parent's, on top of what the child used already
    config = RunConfig(
        max_cost=None if budget is None or spent is None else budget + spent,
        max_tool_calls=None if calls_left is None else calls_left + len(state.tool_executions),
    )
    session = await runner._resume_session(
        child_id,
        agent,
        approvals or None,
        parent.deps,
        config,
        inputs=inputs or None,
        state=state,
    )
    if kept is not None:  # its own waiting children, when they live in memory only
        session.children = kept.children
    delivered = []
    for asked, theirs in suspended.calls.items():
        result = st.delivered.get(asked)
        waiting = session.state.deferred.get(theirs)
        if result is not None and waiting is not None:
            again = deferred_result(waiting, result.output, session.config, session.hooks)
            if result.error is not None:  # a delivered failure stays one
                again = dataclasses.replace(
                    again, content=result.content, error=result.error, error_kind="failure"
                )
            delivered.append(session.emit(again))
    if delivered and runner.store is not None:
        await runner.store.append(child_id, delivered)
    return session


def recorded_child(
    store: Store | None,
    waits: dict[str, SubagentSuspended],
    live: Callable[[AgentSpec, str, RunWiring, str], Awaitable[Result[Any]]] | None,
) -> Callable[[AgentSpec, str, RunWiring, str], Awaitable[Result[Any]]]:
    """For a replay: a subagent call that still waits in the record is served as the record has
    it (the child's run as stored), not run again; any other runs as ``live`` does."""
    from .engine._wiring import RunWiring

    async def child(agent: AgentSpec, input: str, parent: RunWiring, call_id: str) -> Result[Any]:
        recorded = waits.get(call_id)
        stored = await store.load(recorded.child_run_id) if recorded and store else []
        if not stored:
            if live is None:
                raise UserError("subagent tools need a runner")
            return await live(agent, input, parent, call_id)
        state = RunState.from_events(stored[0].run_id, stored)
        served = RunWiring(state=state, agent=agent, config=parent.config)
        parent.children[call_id] = served
        return served.build_result()

    return child


async def call_subagent(
    s: RunWiring,
    call: ToolCallPart,
    agent: AgentSpec,
    args: dict[str, Any],
    started: float,
    extra: list[Event],
) -> str | list[Event]:
    """Run subagent ``agent`` for the parent's ``call``: its final text (its
    ``subagent_finished`` added to ``extra``, as when it fails), or the events that suspend the
    call while the child waits."""
    if s.run_child is None:
        raise UserError("subagent tools need a runner")
    try:
        child = await s.run_child(agent, str(args.get("input", "")), s, call.call_id)
    except TetherError as failed:
        if isinstance(failed.result, Result):  # what the child spent is the parent's
            extra.append(_finished(s, call, agent, failed.result, started))
        raise
    if child.state in _SUSPENDED or child.interrupted_calls:  # it waits: so must its parent
        return _suspended(s, call, agent, child)
    extra.append(_finished(s, call, agent, child, started))
    if child.state == "cancelled" and (s.control is None or s.control.stopped is None):
        # cancelled on its own (not by this run's stop): its work was not done, and an empty
        # answer would read as done; the call fails as the subagent failure policy says
        why = f": {child.error}" if child.error else ""
        raise RunCancelled(
            f"the subagent run {child.run_id} ({agent.name}) was cancelled{why}; "
            "it did not finish its work"
        )
    return child.final_text


def _suspended(
    s: RunWiring, call: ToolCallPart, agent: AgentSpec, child: Result[Any]
) -> list[Event]:
    """The parent's events for a child that stopped to wait: ``subagent_suspended``, then each
    thing it waits for asked under the parent's own id."""
    state = s.children[call.call_id].state
    asked: list[Event] = []
    calls: dict[str, str] = {}
    pending: list[tuple[str, Asked]] = [*state.pending_approvals.items()]
    pending += [*state.pending_inputs.items(), *state.deferred.items()]
    for theirs, waiting in pending:  # each asked again under the parent's id
        ours = f"{call.call_id}.{theirs}"
        calls[ours] = theirs
        asked.append(dataclasses.replace(waiting, call_id=ours, run_id="", seq=0, at=0.0))
    keys: dict[str, str] = {}
    for theirs in state.interrupted_calls:  # cut short by a crash: a person decides (resume)
        calls[f"{call.call_id}.{theirs}"] = theirs
        if theirs in child.interrupted_keys:
            keys[f"{call.call_id}.{theirs}"] = child.interrupted_keys[theirs]
    suspended = SubagentSuspended(
        call_id=call.call_id,
        agent=agent.name,
        child_run_id=child.run_id,
        state=child.state,
        usage=child.usage,
        calls=calls,
        keys=keys,
    )
    return [suspended, *asked]


def _finished(
    s: RunWiring, call: ToolCallPart, agent: AgentSpec, child: Result[Any], started: float
) -> SubagentFinished:
    """The event of a finished (or failed) nested run, with the child's own records."""
    s.children.pop(call.call_id, None)
    return SubagentFinished(
        call_id=call.call_id,
        agent=agent.name,
        child_run_id=child.run_id,
        state=child.state,
        final_text=child.final_text,
        usage=child.usage,
        latency_ms=(time.perf_counter() - started) * 1000,
        tool_executions=[dataclasses.asdict(r) for r in child.tool_executions],
        subagent_executions=[dataclasses.asdict(r) for r in child.subagent_executions],
        degraded_reasons=list(child.degraded_reasons),
    )


async def ask_for_children(s: RunWiring) -> AsyncGenerator[Event | Checkpoint, None]:
    """Ask for what suspended subagents wait for: a headless run stops (awaiting it); an
    interactive one waits for each answer on its handle and logs it."""
    from .engine._deliver import answer, decision

    st = s.state
    waiting = [asked for asked in st.surfaced if not _answered(st, asked)]
    if not waiting:
        return
    cut = [
        asked
        for asked in waiting
        if asked not in st.pending_approvals
        and asked not in st.pending_inputs
        and asked not in st.deferred
    ]
    if cut:
        raise Interrupted(
            f"subagent tool call(s) {', '.join(cut)} started but did not finish before the run "
            "stopped; they are not idempotent, so they were not run again: decide and resume",
            cut,
        )
    if s.control is None or (s.config.interaction_mode or "headless") == "headless":
        if any(asked in st.pending_approvals for asked in waiting):
            raise AwaitingApproval()
        if any(asked in st.pending_inputs for asked in waiting):
            raise AwaitingInput()
        raise AwaitingDeferred()
    for asked in waiting:
        if asked in st.pending_approvals:
            for event in (await decision(s, asked))[1]:
                yield s.emit(event)
        elif asked in st.pending_inputs or asked in st.deferred:
            yield s.emit(await answer(s, asked))
    yield CHECKPOINT
