"""RunWiring: everything one run needs besides its state (agents, model, config, deps, control)."""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from .._toolset import Toolset, shared_toolset
from ..config import RunConfig
from ..context import Context
from ..errors import UserError
from ..events import Event, RunStarted
from ..governance.approval import args_digest
from ..governance.effects import interrupted_keys
from ..models.base import Model
from ..results import PendingApproval, PendingInput, Result, RunState
from ..tools import Tool
from .control import Control

if TYPE_CHECKING:
    from .._spec import AgentSpec
    from ..governance.hooks import PolicyHooks
    from ..policies.base import Policy
    from ..store._effects import EffectLedger


T = TypeVar("T")


class CallSeam(Protocol):
    """Wraps the model and each tool a run calls (a durable engine makes each call a step)."""

    def model(self, agent: AgentSpec, model: Model) -> Model:
        """The model ``agent``'s turn calls instead of ``model``."""
        ...

    def tool(self, agent: AgentSpec, tool: Tool[Any]) -> Tool[Any]:
        """The tool ``agent``'s call runs instead of ``tool``."""
        ...


@dataclass(slots=True)
class RunWiring:
    """Everything one run needs besides its state: agents, model, config, deps, control."""

    state: RunState
    agent: AgentSpec
    config: RunConfig
    start_event: RunStarted | None = None
    deps: Any = None
    stream: bool = False
    control: Control | None = None
    memory: Any = None
    #: Finds an agent by name (registered agents, handoff targets) for handoffs and resume.
    find_agent: Callable[[str], AgentSpec | None] | None = None
    #: Replaces the agent's model (replay serves recorded responses this way).
    model_override: Model | None = None
    #: Tool calls served from a recording instead of running the tools (replay): by call id,
    #: the call's recorded events in order (policy decision, approval, start, a subagent's
    #: end, ...), its ``tool_call_finished`` last.
    recorded_tools: dict[str, list[Event]] | None = None
    #: Summaries served from a recording instead of asking the summarizer (replay), by key.
    recorded_summaries: dict[str, Any] | None = None
    #: Save the thread when the run ends (a replay runs in its thread but leaves it as it is).
    saves_thread: bool = True
    #: Runs a subagent: (agent, input, parent session, call id) -> Result (tether._subagents).
    run_child: Callable[[AgentSpec, str, RunWiring, str], Awaitable[Result[Any]]] | None = None
    #: The runs of this run's subagents that are waiting, by the call that waits on them.
    children: dict[str, RunWiring] = field(default_factory=dict)
    #: Folds a stored run (a subagent's, after a crash) from the store; None without one.
    load_run: Callable[[str], Awaitable[RunState | None]] | None = None
    resolve_model: Callable[[AgentSpec, RunConfig], Model] | None = None
    #: Governance applied to this run (PII redaction, tool filter, approval gate).
    hooks: PolicyHooks | None = None
    #: How the agent proceeds (extra tools, per-turn settings, follow-ups); None is ReAct.
    policy: Policy | None = None
    error: BaseException | None = None
    #: The latest output a validator rejected (accepted as degraded in lenient mode).
    candidate: Any = None
    has_candidate: bool = False
    final_value: Any = None
    has_final: bool = False
    ctx: Context[Any] | None = None
    seq: int = 0
    #: How deep this run is nested in subagent calls (0 for a top-level run).
    depth: int = 0
    runtime_events: list[Event] = field(default_factory=list)
    partial_text: str = ""  # what a model stream cut short had shown (the Result's text)
    #: What the loop emitted and drive() has not handed to the consumers yet (see steps.put).
    out: list[Any] = field(default_factory=list)
    #: Hand the queue out at every checkpoint (a store, exporters or a debugger is attached).
    eager: bool = False
    #: Wraps every model and tool call of the run and its subagents (tether.durable sets it).
    calls: CallSeam | None = None
    #: The store's effect ledger (``effect="external"`` tools are recorded in it), or None.
    effects: EffectLedger | None = None
    #: Breakpoints of a debugged run (``runner.start(..., breakpoints=...)``); see tether.debug.
    debugger: Any = None
    #: Each agent's tools in this run, by agent name (see toolset).
    _toolsets: dict[str, Toolset] = field(default_factory=dict)

    def emit(self, event: Event) -> Event:
        """Stamp the event with run id, position and time, and apply it to the state."""
        self.seq += 1
        event.run_id = self.state.run_id
        event.seq = self.seq
        if not event.at:
            event.at = time.time()
        self.state.apply(event)
        return event

    async def guard(self, awaitable: Awaitable[T]) -> T:
        """Await ``awaitable``, ended early when the run is stopped."""
        control = self.control
        if control is None:
            return await awaitable
        return await control.guard(awaitable)

    def toolset(self, agent: AgentSpec) -> Toolset:
        """``agent``'s tools in this run, composed on first use (a UserError for a handoff to
        an agent nobody registered)."""
        found = self._toolsets.get(agent.name)
        if found is None or found.agent is not agent:
            calls = self.calls
            hidden = self.hooks.tool_filter if self.hooks is not None else None
            if calls is None and hidden is None and self.policy is None:  # as every run has it
                found = shared_toolset(agent, self.find_agent)
            else:
                wrap = None if calls is None else functools.partial(calls.tool, agent)
                shows = hidden.shows if hidden is not None else None
                found = Toolset.of(agent, self.policy, self.find_agent, wrap, shows)
            self._toolsets[agent.name] = found
        return found

    def tool_named(self, agent_name: str, name: str) -> Tool[Any] | None:
        """The tool ``name`` of the agent called ``agent_name`` (None when either is unknown)."""
        try:
            agent = self.agent_named(agent_name) if agent_name else self.agent
        except UserError:
            return None
        return self.toolset(agent).get(name)

    def build_result(self) -> Result[Any]:
        """Fold the current state into a Result."""
        st = self.state
        output: Any
        if self.has_final:
            output = self.final_value
        elif st.finished and st.output_data is not None:
            schema = self.toolset(self.agent_named(st.agent_name)).schema
            output = schema.load(st.output_data) if schema is not None else st.output_data
        else:
            output = st.final_text or None
        # positional, in the order of Result's fields (keywords cost a dict per call)
        return Result(
            output,
            st.final_text,
            st.status,  # state
            st.run_id,
            st.thread_id,
            st.trace_id,
            list(st.messages),
            st.messages[st.new_from :],  # new_messages
            st.usage.copy(),
            list(st.tool_executions),
            list(st.subagent_executions),
            st.agent_name,  # last_agent
            list(st.degraded_reasons),
            # (each of these is empty on most runs: no comprehension then)
            [  # pending_approvals
                PendingApproval(a.call_id, a.tool_name, a.args, a.agent, args_digest(a.args))
                for a in st.pending_approvals.values()
            ]
            if st.pending_approvals
            else [],
            [  # pending_inputs
                PendingInput(i.call_id, i.tool_name, i.prompt, i.agent)
                for i in st.pending_inputs.values()
            ]
            if st.pending_inputs
            else [],
            {c: d.ticket for c, d in st.deferred.items()} if st.deferred else {},  # deferred
            list(st.interrupted_calls),
            interrupted_keys(st) if st.interrupted_calls else {},
            st.error,
            st.error_type,
            st.turn,  # turns
            st.session_id,
        )

    def agent_named(self, name: str) -> AgentSpec:
        """The agent called ``name`` among the start agent, its handoffs and the registry."""
        if name == self.agent.name:
            return self.agent
        seen: set[str] = set()
        stack = [self.agent]
        while stack:
            current = stack.pop()
            if current.name == name:
                return current
            seen.add(current.name)
            stack.extend(
                h.agent for h in self.toolset(current).handoffs if h.agent.name not in seen
            )
        found = self.find_agent(name) if self.find_agent is not None else None
        if found is None:
            raise UserError(
                f"agent {name!r} is not known to this run: register it with runner.register_agent()"
            )
        return found

    def drain(self) -> list[Event]:
        """Emit the events queued by the model runtime and guardrails."""
        if not self.runtime_events:
            return []
        events = [self.emit(ev) for ev in self.runtime_events]
        self.runtime_events.clear()
        return events


def memory_for(s: RunWiring, agent: AgentSpec) -> Any:
    """The memory tools see: the agent's (or the run's), scoped to this agent and thread."""
    memory = s.memory if s.memory is not None else agent.memory
    scoped = getattr(memory, "scoped", None)
    return scoped(agent.name, s.state.thread_id) if scoped is not None else memory
