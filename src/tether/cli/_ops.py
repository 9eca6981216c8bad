"""Operations on stored runs, shared by ``tether runs ...`` and the dashboard.

Every function works from the store alone, so it acts on runs started by any process: list
them, fold one into its state, decide a pending approval (and continue the run when its agent
can be loaded), resume, cancel. Two processes deciding the same call race on the store's
``(run_id, seq)`` key: one wins, the other gets a :class:`~tether.errors.UserError`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import UserError
from ._common import AGENT_SPEC_KEY

if TYPE_CHECKING:
    from ..agent import Agent
    from ..events import Event
    from ..results import Result, RunState
    from ..run.runner import Runner
    from ..store import Store

__all__ = [
    "Decision",
    "RunRow",
    "agent_spec_of",
    "answer_input",
    "apply_decision",
    "cancel_run",
    "check_decision",
    "cut_short",
    "deliver_result",
    "list_rows",
    "load_run",
    "pending_of",
    "refuse_waited_on",
    "resume_run",
    "waiting_parent",
]


@dataclass(slots=True)
class RunRow:
    """One stored run, as ``tether runs ls`` and the dashboard list it."""

    run_id: str
    agent: str
    state: str
    started_at: float
    updated_at: float
    thread_id: str | None
    parent_run_id: str | None
    cost: float | None
    tokens: int
    turns: int
    pending: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "run_id": self.run_id,
            "agent": self.agent,
            "state": self.state,
            "started_at": self.started_at,
            "updated_at": self.updated_at,
            "thread_id": self.thread_id,
            "parent_run_id": self.parent_run_id,
            "cost": self.cost,
            "tokens": self.tokens,
            "turns": self.turns,
            "pending_approvals": self.pending,
        }


@dataclass(slots=True)
class Decision:
    """What deciding an approval did: ``resumed`` with the run's Result, or only ``recorded``."""

    run_id: str
    call_id: str
    approved: bool
    result: Result[Any] | None = None
    #: The ``module:attribute`` that loads the run's agent (given, or recorded by ``tether
    #: run``), or None when the run does not say.
    agent_spec: str | None = None

    @property
    def resumed(self) -> bool:
        """True when the run was continued after the decision."""
        return self.result is not None


def _fold(run_id: str, events: list[Event]) -> RunState:
    from ..results import RunState

    return RunState.from_events(run_id, events)


async def load_run(store: Store, run_id: str) -> tuple[list[Event], RunState]:
    """A stored run's events and the state they fold into (UserError when unknown)."""
    events = await store.load(run_id)
    if not events:
        raise UserError(f"no run {run_id!r} in the store (list them with `tether runs ls`)")
    return events, _fold(run_id, events)


def pending_of(state: RunState) -> list[dict[str, Any]]:
    """The run's pending approvals as JSON-ready dicts (call_id, tool_name, args, agent and
    args_digest, the digest ``tether runs approve --args-digest`` takes)."""
    from ..governance.approval import args_digest

    return [
        {
            "call_id": p.call_id,
            "tool_name": p.tool_name,
            "args": p.args,
            "agent": p.agent,
            "args_digest": args_digest(p.args),
        }
        for p in state.pending_approvals.values()
    ]


async def list_rows(
    store: Store,
    *,
    state: str | None = None,
    agent: str | None = None,
    limit: int = 50,
    progress: Callable[[int, int], None] | None = None,
) -> list[RunRow]:
    """The most recently updated runs (``limit`` at most), with cost, tokens and pending calls.

    ``progress(done, total)`` is called as each run's log is folded.
    """
    if limit < 1:
        raise UserError(f"--limit must be at least 1, got {limit}")
    infos = await store.list_runs(limit=limit, status=state, agent=agent)
    rows: list[RunRow] = []
    for index, info in enumerate(infos):
        events = await store.load(info.run_id)
        folded = _fold(info.run_id, events)
        rows.append(
            RunRow(
                run_id=info.run_id,
                agent=info.agent,
                state=info.status,
                started_at=info.started_at,
                updated_at=info.updated_at,
                thread_id=info.thread_id,
                parent_run_id=info.parent_run_id,
                cost=folded.usage.cost,
                tokens=folded.usage.total_tokens,
                turns=folded.turn,
                # a run that ended (cancelled, say) asks for nothing any more
                pending=list(folded.pending_approvals)
                if not folded.finished or info.status == "awaiting_approval"
                else [],
            )
        )
        if progress is not None:
            progress(index + 1, len(infos))
    return rows


def agent_spec_of(state: RunState) -> str | None:
    """The ``module:attribute`` that ``tether run`` recorded for the run's agent, if any."""
    started = state.started_event
    metadata = started.metadata if started is not None else None
    spec = (metadata or {}).get(AGENT_SPEC_KEY)
    return spec if isinstance(spec, str) else None


def _agent_for(state: RunState, spec: str | None) -> Agent | None:
    from ._common import load_agent

    chosen = spec or agent_spec_of(state)
    return load_agent(chosen) if chosen else None


def check_decision(state: RunState, call_id: str) -> None:
    """Refuse a decision for a call that is not pending (naming the ones that are), and one
    for a run a durable engine runs (the engine takes its decisions)."""
    from .._subagents import CANCELLABLE
    from ..durable._setting import refuse_engine_run

    refuse_engine_run(state, "decide")
    if call_id in state.decisions:
        verdict = "approved" if state.decisions[call_id].approved else "rejected"
        raise UserError(f"call {call_id!r} of run {state.run_id!r} was already {verdict}")
    if state.finished and state.status not in CANCELLABLE:
        raise UserError(
            f"run {state.run_id!r} has ended ({state.status}); there is nothing to approve"
        )
    if call_id in state.pending_approvals:
        return
    pending = ", ".join(state.pending_approvals) or "none"
    raise UserError(
        f"run {state.run_id!r} has no pending approval {call_id!r} "
        f"(state {state.status}; pending: {pending})"
    )


async def apply_decision(
    runner: Runner,
    run_id: str,
    call_id: str,
    *,
    approved: bool,
    reason: str | None = None,
    agent_spec: str | None = None,
    resume: bool = True,
    on_recorded: Callable[[], object] | None = None,
    args: dict[str, Any] | None = None,
    expires_at: float | None = None,
    expires_in: float | None = None,
    args_digest: str | None = None,
) -> Decision:
    """Approve or reject a pending call of a stored run, then continue the run.

    ``args`` approves the call with edited arguments (checked against the tool when its agent
    can be loaded; recorded as an edit), ``expires_at``/``expires_in`` give the approval an
    expiry (a resume after it asks again), ``args_digest`` (the pending call's, as ``runs show
    --json`` lists it) refuses the approval when the call now has other arguments.

    The run continues in this process when its agent can be loaded (``agent_spec``, or the one
    ``tether run`` recorded); otherwise the decision is only recorded in the log, and the next
    ``resume`` acts on it. ``resume=False`` only records it. ``on_recorded()`` is called once
    the decision is in the log (before the run goes on).
    """
    from ..governance._decisions import decision_events
    from ..governance.approval import Approval

    store = runner.store
    if store is None:
        raise UserError("deciding approvals needs a store")
    _events, state = await load_run(store, run_id)
    verdict = Approval(
        approved=approved,
        reason=None if approved else (reason or "rejected"),
        args=args,
        expires_at=expires_at,
        expires_in=expires_in,
        args_digest=args_digest,
    )
    if cut_short(state, call_id):
        return await _decide_cut_short(runner, state, call_id, verdict, agent_spec, resume)
    check_decision(state, call_id)
    from .._subagents import refuse_decided_below

    await refuse_decided_below(store, state, [call_id])
    # importing the agent's module reads files: off the event loop; a bad spec fails here,
    # before anything is written
    agent = await asyncio.to_thread(_agent_for, state, agent_spec) if resume else None
    decided = decision_events(
        state, call_id, verdict, lambda _agent, tool: agent.get_tool(tool) if agent else None
    )
    now = time.time()
    for offset, event in enumerate(decided, start=1):
        event.run_id, event.seq, event.at = run_id, state.seq + offset, now
    # The decision is written first, at the next seq: of two processes deciding at once, the
    # store keeps exactly one; the other fails here, and only the winner continues the run.
    await store.append(run_id, decided)
    if on_recorded is not None:
        on_recorded()
    spec = agent_spec or agent_spec_of(state)
    if agent is None:
        return Decision(run_id, call_id, approved, None, spec)
    result = await runner.resume(run_id, agent)
    return Decision(run_id, call_id, approved, result, spec)


def cut_short(state: RunState, call_id: str) -> bool:
    """Whether ``call_id`` is a call a crash cut short (started, never finished; not idempotent,
    so a resume does not run it again by itself) rather than a pending approval."""
    if call_id in state.pending_approvals or state.status not in ("running", "interrupted"):
        return False
    return call_id in state.started or call_id in state.surfaced_keys


async def _decide_cut_short(
    runner: Runner,
    state: RunState,
    call_id: str,
    verdict: Any,
    agent_spec: str | None,
    resume: bool,
) -> Decision:
    """Run a cut-short call again (approved) or tell the model what happened (rejected): the
    decision is taken by the resume that acts on it (``runner.resume(approvals=...)``)."""
    if not resume:
        raise UserError(
            f"call {call_id!r} of run {state.run_id!r} was cut short by a crash: its decision "
            "is taken by the resume that acts on it (drop --no-resume)"
        )
    _state, agent = await _with_agent(runner, state.run_id, agent_spec)
    result = await runner.resume(state.run_id, agent, {call_id: verdict})
    spec = agent_spec or agent_spec_of(state)
    return Decision(state.run_id, call_id, verdict.approved, result, spec)


async def _with_agent(
    runner: Runner, run_id: str, agent_spec: str | None
) -> tuple[RunState, Agent]:
    """The stored run's state and its agent (loaded from ``agent_spec`` or its recorded spec)."""
    store = runner.store
    if store is None:
        raise UserError("continuing a stored run needs a store")
    _events, state = await load_run(store, run_id)
    agent = await asyncio.to_thread(_agent_for, state, agent_spec)
    if agent is None:
        raise UserError(
            f"run {run_id!r} does not say where its agent {state.agent_name!r} lives: "
            "pass --agent package.module:variable"
        )
    return state, agent


async def resume_run(runner: Runner, run_id: str, agent_spec: str | None = None) -> Result[Any]:
    """Continue a stored run from its last checkpoint with its agent (loaded from its spec); a
    subagent's run a parent waits on is refused (resume the parent)."""
    store = runner.store
    if store is not None:
        _events, state = await load_run(store, run_id)
        await refuse_waited_on(store, state, "resume")
    _state, agent = await _with_agent(runner, run_id, agent_spec)
    return await runner.resume(run_id, agent)


async def answer_input(
    runner: Runner, run_id: str, call_id: str, answer: str, agent_spec: str | None = None
) -> Result[Any]:
    """Answer a tool's question (``ctx.request_input``) of a stored run, and continue it."""
    state, agent = await _with_agent(runner, run_id, agent_spec)
    if call_id not in state.pending_inputs:
        pending = ", ".join(state.pending_inputs) or "none"
        raise UserError(
            f"run {run_id!r} has no question pending for call {call_id!r} "
            f"(state {state.status}; questions pending: {pending})"
        )
    return await runner.resume(run_id, agent, inputs={call_id: answer})


async def deliver_result(
    runner: Runner, run_id: str, call_id: str, output: Any, agent_spec: str | None = None
) -> Result[Any]:
    """Deliver a deferred call's result (an Exception: its failure); the last one delivered
    continues the run."""
    _state, agent = await _with_agent(runner, run_id, agent_spec)
    return await runner.resolve_deferred(run_id, call_id, output, agent=agent)


async def waiting_parent(store: Store, state: RunState) -> str | None:
    """The top run that waits on ``state``'s run (a subagent's run, suspended with it), or None:
    such a run is continued, decided and cancelled through that top run only."""
    from .._subagents import stored_state

    top = None
    child = state
    while child.parent_run_id is not None:
        parent = await stored_state(store, child.parent_run_id)
        if parent is None or not any(
            w.child_run_id == child.run_id for w in parent.suspended.values()
        ):
            break
        top, child = parent.run_id, parent
    return top


async def refuse_waited_on(store: Store, state: RunState, doing: str) -> None:
    """A UserError naming the top run, when a parent run waits on this subagent's run."""
    top = await waiting_parent(store, state)
    if top is not None:
        raise UserError(
            f"run {state.run_id!r} is a subagent's run that run {top!r} waits on: {doing} that "
            f"run instead (tether runs show {top})"
        )


async def cancel_run(
    store: Store, run_id: str, reason: str | None = None, *, timeout: float | None = None
) -> RunState:
    """End a stored run that has not finished as ``cancelled`` (recorded in its log), and the
    subagents' runs it waits on with it. An ``interrupted`` run (calls a crash cut short wait
    for a decision) is given up so: those calls' effect ledger rows end ``rejected``.

    The end is written under the run's lease, as a server's cancel does: a run another process
    executes right now (a ``tether serve`` replica) is asked to stop through a mark on its lease
    and this waits for it (up to ``timeout`` seconds, by default about twice the default lease
    time; then :class:`~tether.store.lease.CancelPending`, the mark left for the holder). The
    end comes after every position that process may have streamed. A subagent's run a parent
    waits on is refused: cancel the parent (the top run).
    """
    from ..durable._setting import refuse_engine_run
    from ..store.base import LeaseStore
    from ..store.lease import past_streamed, take_for_cancel

    reason = reason or "cancelled with tether runs cancel"
    _events, state = await load_run(store, run_id)
    _refuse_ended(state)
    refuse_engine_run(state, "cancel")
    await refuse_waited_on(store, state, "cancel")
    if not isinstance(store, LeaseStore):
        await _end_cancelled(store, state, reason)
        return state
    keeper = await take_for_cancel(store, run_id, reason, timeout=timeout)
    _events, state = await load_run(store, run_id)
    if keeper is None:  # the process executing it stopped it and recorded its end
        return state
    try:
        _refuse_ended(state)  # it ended meanwhile, in the process that executed it
        await past_streamed(store, state)
        await _end_cancelled(store, state, reason)
    finally:
        await keeper.release()
    return state


def _refuse_ended(state: RunState) -> None:
    from .._subagents import CANCELLABLE

    # an interrupted run waits for a person's decision; cancelling it is one (to give it up)
    if state.status not in CANCELLABLE and state.status != "interrupted":
        raise UserError(
            f"run {state.run_id!r} has already ended ({state.status}); nothing to cancel"
        )


async def _end_cancelled(store: Store, state: RunState, reason: str) -> None:
    from .._subagents import record_cancelled

    state.apply(await record_cancelled(store, state, reason))
