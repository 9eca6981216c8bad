"""Result, and RunState: the fold of a run's event log.

:class:`RunState` is the only place run state changes: the loop applies each event it emits to
it, and resume applies the persisted events to a fresh one. Live and resumed runs therefore
cannot disagree about where a run stands.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Generic, Literal, TypeAlias, TypeVar

from pydantic_core import to_jsonable_python

from .events import (
    ApprovalDecided,
    ApprovalExpired,
    ApprovalRequested,
    Event,
    Handoff,
    HandoffInput,
    HistorySummarized,
    InputProvided,
    InputRequested,
    ModelFallback,
    ModelResponseEvent,
    OutputRetry,
    PolicyMessage,
    RunFinished,
    RunResumed,
    RunStarted,
    SubagentFinished,
    SubagentSuspended,
    ToolArgsEdited,
    ToolCallDeferred,
    ToolCallFinished,
    ToolCallStarted,
    TurnStarted,
)
from .messages import Message, TextPart, ToolCallPart, ToolResultPart, messages_to_input_list
from .usage import Usage

__all__ = [
    "PendingApproval",
    "PendingInput",
    "Result",
    "RunState",
    "RunStatus",
    "SubagentExecutionRecord",
    "ToolExecutionRecord",
    "Usage",
]

OutputT = TypeVar("OutputT")
RunStatus: TypeAlias = Literal[
    "running",
    "completed",
    "failed",
    "degraded",
    "cancelled",
    "interrupted",
    "awaiting_approval",
    "awaiting_input",
    "awaiting_deferred",
]
TERMINAL_STATES = frozenset({"completed", "failed", "degraded", "cancelled", "interrupted"})


@dataclass(slots=True)
class ToolExecutionRecord:
    """One tool call as it happened."""

    tool_name: str
    tool_call_id: str | None
    success: bool
    output: Any
    error: str | None
    latency_ms: float | None
    agent_name: str | None = None
    agent_depth: int | None = 0
    agent_path: str | None = None
    args: Any = None


@dataclass(slots=True)
class SubagentExecutionRecord:
    """One subagent (agent-as-tool) invocation."""

    agent_name: str
    call_id: str
    run_id: str
    state: str
    final_text: str
    latency_ms: float


@dataclass(slots=True)
class PendingApproval:
    """A tool call waiting for a decision (listed on a run that ended ``awaiting_approval``)."""

    call_id: str
    tool_name: str
    args: Any
    agent_name: str
    #: The digest of ``args`` (tether.governance.approval.args_digest): pass it back as
    #: ``Approval(args_digest=...)`` to approve only these arguments.
    args_digest: str = ""


@dataclass(slots=True)
class PendingInput:
    """A tool's question waiting for a person's answer (on a run that ended ``awaiting_input``)."""

    call_id: str
    tool_name: str
    prompt: str
    agent_name: str


@dataclass(slots=True)
class RunState:
    """Where a run stands; changed only by :meth:`apply`."""

    run_id: str
    agent_name: str = ""
    status: RunStatus = "running"
    thread_id: str | None = None
    trace_id: str | None = None
    parent_run_id: str | None = None
    max_turns: int = 10
    messages: list[Message] = field(default_factory=list)
    new_from: int = 0
    turn: int = 0
    usage: Usage = field(default_factory=Usage)
    tool_executions: list[ToolExecutionRecord] = field(default_factory=list)
    subagent_executions: list[SubagentExecutionRecord] = field(default_factory=list)
    #: Tool calls of the latest assistant message that have no result yet, in call order.
    open_calls: list[ToolCallPart] = field(default_factory=list)
    #: Results gathered for the open calls, by call id.
    call_results: dict[str, ToolResultPart] = field(default_factory=dict)
    #: Calls started but not finished (what a crash can cut short).
    started: dict[str, ToolCallStarted] = field(default_factory=dict)
    pending_approvals: dict[str, ApprovalRequested] = field(default_factory=dict)
    decisions: dict[str, ApprovalDecided] = field(default_factory=dict)
    #: The arguments each decision was asked for: an approval holds for those exactly.
    decided_args: dict[str, Any] = field(default_factory=dict)
    #: The digest each decision recorded (of the arguments shown, or of the edit): it wins over
    #: ``decided_args`` where present (logs before version 3 have none).
    decided_digests: dict[str, str] = field(default_factory=dict)
    #: Calls whose decision was used up by the call's result: one approval, one execution (a
    #: later call under the same id is asked about anew).
    spent_decisions: set[str] = field(default_factory=set)
    pending_inputs: dict[str, InputRequested] = field(default_factory=dict)
    #: Calls whose tools answered with a ticket, waiting for their result.
    deferred: dict[str, ToolCallDeferred] = field(default_factory=dict)
    #: Answers given to each call's questions, in order.
    inputs: dict[str, list[Any]] = field(default_factory=dict)
    #: Calls waiting on a subagent's suspended run, by call id; what those runs wait for is
    #: asked under ids of this run (``surfaced``: id -> the waiting call), a deferred result
    #: delivered for one is kept in ``delivered`` for the child (see tether._subagents).
    suspended: dict[str, SubagentSuspended] = field(default_factory=dict)
    surfaced: dict[str, str] = field(default_factory=dict)
    #: The idempotency keys of surfaced calls a crash cut short in a child, by surfaced id.
    surfaced_keys: dict[str, str] = field(default_factory=dict)
    delivered: dict[str, ToolCallFinished] = field(default_factory=dict)
    retries: dict[str, int] = field(default_factory=dict)
    degraded_reasons: list[str] = field(default_factory=list)
    output_data: Any = None
    final_text: str = ""
    error: str | None = None
    error_type: str | None = None
    interrupted_calls: list[str] = field(default_factory=list)
    seq: int = 0
    started_event: RunStarted | None = None
    finished_event: RunFinished | None = None
    #: The latest handoff, until its input filter (if any) has been applied.
    handed_off: Handoff | None = None
    #: What a handoff's input filter made of the history, and where that history ended in
    #: ``messages``: the model is sent ``view + messages[view_from:]`` (see model_messages()).
    view: list[Message] | None = None
    view_from: int = 0
    #: Summaries made by model calls outside the loop, by key (``history_summarized``).
    summaries: dict[str, HistorySummarized] = field(default_factory=dict)
    #: The latest output rejected by a validator (JSON), for lenient mode; see has_candidate.
    candidate: Any = None
    has_candidate: bool = False

    @property
    def finished(self) -> bool:
        """True once a ``run_finished`` event was applied."""
        return self.finished_event is not None

    @property
    def session_id(self) -> str | None:
        """The run's session (its ``group_id``), which links the traces of several runs."""
        start = self.started_event
        return start.group_id if start is not None else None

    def model_messages(self) -> list[Message]:
        """The history the model is sent: the transcript, or what a handoff's input filter made
        of it followed by everything since."""
        if self.view is None:
            return list(self.messages)
        return [*self.view, *self.messages[self.view_from :]]

    @classmethod
    def from_events(cls, run_id: str, events: Iterable[Event]) -> RunState:
        """The state ``events`` (a run's log, in order) fold into."""
        state = cls(run_id)
        for event in events:
            state.apply(event)
        return state

    def apply(self, event: Event) -> None:
        """Fold one event into the state."""
        self.seq = event.seq
        handler = _HANDLERS.get(event.type)
        if handler is not None:
            handler(self, event)

    def _on_run_started(self, ev: RunStarted) -> None:
        self.started_event = ev
        self.agent_name = ev.agent
        self.thread_id = ev.thread_id
        self.trace_id = ev.trace_id or ev.run_id
        self.parent_run_id = ev.parent_run_id
        self.max_turns = ev.max_turns
        self.messages = [*ev.history, *ev.input]
        self.new_from = len(ev.history)
        last = self.messages[-1] if self.messages else None
        if last is not None and last.role == "assistant":
            # Input that ends with tool calls and no results (a conversation cut mid-turn):
            # those calls are open, and the run starts by running them.
            self.open_calls = last.tool_calls

    def _on_turn_started(self, ev: TurnStarted) -> None:
        self.turn = ev.turn
        self.agent_name = ev.agent

    def _on_model_response(self, ev: ModelResponseEvent) -> None:
        self.handed_off = None  # the new agent was asked: a filter applies only before that
        self.usage.add(ev.usage)
        self.messages.append(Message("assistant", list(ev.parts), ev.agent))
        self.open_calls = [p for p in ev.parts if isinstance(p, ToolCallPart)]
        self.call_results = {}

    def _on_tool_args_edited(self, ev: ToolArgsEdited) -> None:
        asked = self.pending_approvals.get(ev.call_id)
        if asked is not None and ev.call_id in self.surfaced:  # edits a subagent's call
            self.pending_approvals[ev.call_id] = replace(asked, args=ev.args)
            return
        # the call runs with the edited arguments, and the conversation shows them; the
        # model_response event keeps what the model sent (new part objects, not mutated ones)
        for index, call in enumerate(self.open_calls):
            if call.call_id != ev.call_id:
                continue
            edited = ToolCallPart(call.call_id, call.name, _json_text(ev.args))
            self.open_calls[index] = edited
            for message in reversed(self.messages):
                found = next((i for i, p in enumerate(message.parts) if p is call), None)
                if found is not None:
                    message.parts[found] = edited
                    break

    def _on_tool_call_started(self, ev: ToolCallStarted) -> None:
        self.started[ev.call_id] = ev

    def _on_tool_call_deferred(self, ev: ToolCallDeferred) -> None:
        self.started.pop(ev.call_id, None)
        self.deferred[ev.call_id] = ev

    def _on_tool_call_finished(self, ev: ToolCallFinished) -> None:
        if self.surfaced and ev.call_id in self.surfaced:  # a subagent's deferred result
            self.deferred.pop(ev.call_id, None)
            self.delivered[ev.call_id] = ev
            return
        cut_short = self.started.pop(ev.call_id, None) is not None
        self.deferred.pop(ev.call_id, None)
        kind = ev.error_kind
        if kind == "retry":
            self.retries[ev.tool_name] = self.retries.get(ev.tool_name, 0) + 1
            if ev.output is not None:  # a final result the validators rejected
                self.candidate = ev.output
                self.has_candidate = True
        elif kind is None:
            self.retries.pop(ev.tool_name, None)
        elif kind == "failure":
            self.degraded_reasons.append(f"tool {ev.tool_name!r} failed: {ev.error}")
        elif kind == "rejected" and not cut_short:  # not: "do not run a cut-short call again"
            decision = self.decisions.get(ev.call_id)
            if decision is not None and not decision.approved:  # a person said no
                why = decision.reason or "no reason given"
                self.degraded_reasons.append(f"tool {ev.tool_name!r} was not approved: {why}")
        if kind != "skipped":
            ok = ev.error is None
            # positional, in the order of its fields: tool_name, tool_call_id, success, output,
            # error, latency_ms, agent_name, agent_depth, agent_path, args
            record = ToolExecutionRecord(
                ev.tool_name, ev.call_id, ok, ev.output if ok else None, ev.error,
                ev.latency_ms, ev.agent, 0, ev.agent or None, ev.args,
            )  # fmt: skip
            self.tool_executions.append(record)
        if ev.call_id in self.decisions:
            self.spent_decisions.add(ev.call_id)
        self.call_results[ev.call_id] = ToolResultPart(
            ev.call_id, ev.tool_name, ev.content, ev.error is not None
        )
        results = self.call_results
        for open_call in self.open_calls:
            if open_call.call_id not in results:
                break
        else:  # every open call has its result: they go into the conversation
            self.messages.append(Message("tool", [results[c.call_id] for c in self.open_calls]))
            self.open_calls = []
            self.call_results = {}

    def _on_approval_requested(self, ev: ApprovalRequested) -> None:
        self.pending_approvals[ev.call_id] = ev

    def _on_approval_decided(self, ev: ApprovalDecided) -> None:
        requested = self.pending_approvals.pop(ev.call_id, None)
        self.decisions[ev.call_id] = ev
        self.spent_decisions.discard(ev.call_id)
        if requested is not None:
            self.decided_args[ev.call_id] = requested.args
        if ev.args_digest is not None:
            self.decided_digests[ev.call_id] = ev.args_digest

    def _on_approval_expired(self, ev: ApprovalExpired) -> None:
        # the lapsed approval is spent: the call is judged and asked about again
        self.decisions.pop(ev.call_id, None)
        self.decided_args.pop(ev.call_id, None)
        self.decided_digests.pop(ev.call_id, None)

    def _on_input_requested(self, ev: InputRequested) -> None:
        self.started.pop(ev.call_id, None)  # the tool stopped cleanly: it will run again
        self.pending_inputs[ev.call_id] = ev

    def _on_input_provided(self, ev: InputProvided) -> None:
        self.pending_inputs.pop(ev.call_id, None)
        self.inputs.setdefault(ev.call_id, []).append(ev.value)

    def _on_handoff(self, ev: Handoff) -> None:
        self.agent_name = ev.to_agent
        self.handed_off = ev

    def _on_handoff_input(self, ev: HandoffInput) -> None:
        self.view = list(ev.messages)
        self.view_from = len(self.messages)
        self.handed_off = None

    def _on_history_summarized(self, ev: HistorySummarized) -> None:
        self.summaries[ev.key] = ev
        if ev.usage is not None:
            self.usage.add(ev.usage)

    def _on_output_retry(self, ev: OutputRetry) -> None:
        self.retries["__output__"] = self.retries.get("__output__", 0) + 1
        if ev.candidate is not None:
            self.candidate = ev.candidate
            self.has_candidate = True
        if ev.message is not None:
            self.messages.append(Message("user", [TextPart(ev.message)]))

    def _on_policy_message(self, ev: PolicyMessage) -> None:
        self.messages.append(Message("user", [TextPart(ev.message)]))

    def _child_spent(self, call_id: str, usage: Usage | None) -> None:
        """Count what a child spent since its last suspension; forget what it asked for."""
        before = self.suspended.pop(call_id, None)
        if before is not None:
            for asked in before.calls:
                kinds = (self.surfaced, self.surfaced_keys, self.delivered, self.decisions)
                for kept in (*kinds, self.inputs):
                    kept.pop(asked, None)
                for pending in (self.pending_approvals, self.pending_inputs, self.deferred):
                    pending.pop(asked, None)
        if usage is None:
            return
        if before is not None and before.usage is not None:
            usage = usage.minus(before.usage)
        self.usage.add(usage)

    def _on_subagent_suspended(self, ev: SubagentSuspended) -> None:
        self.started.pop(ev.call_id, None)  # it stopped cleanly: it runs on when answered
        self._child_spent(ev.call_id, ev.usage)
        self._waiting_record(ev.child_run_id)
        self.subagent_executions.append(  # listed as it waits, replaced once it ends
            SubagentExecutionRecord(ev.agent, ev.call_id, ev.child_run_id, ev.state, "", 0.0)
        )
        self.suspended[ev.call_id] = ev
        for asked in ev.calls:
            self.surfaced[asked] = ev.call_id
        self.surfaced_keys.update(ev.keys)

    def _waiting_record(self, child_run_id: str) -> None:
        """Drop the record listing a child run while it waited (its run id is its own)."""
        self.subagent_executions = [r for r in self.subagent_executions if r.run_id != child_run_id]

    def _on_subagent_finished(self, ev: SubagentFinished) -> None:
        if ev.call_id in self.suspended:
            self._waiting_record(ev.child_run_id)
        self._child_spent(ev.call_id, ev.usage)
        self.subagent_executions.append(
            SubagentExecutionRecord(
                ev.agent, ev.call_id, ev.child_run_id, ev.state, ev.final_text, ev.latency_ms
            )
        )
        # lineage: the child's records, one level deeper, under this agent's path
        parent = self.agent_name
        try:
            records = [ToolExecutionRecord(**data) for data in ev.tool_executions or ()]
            nested = [SubagentExecutionRecord(**data) for data in ev.subagent_executions or ()]
        except TypeError:  # records of another shape: the lineage is lost, not the run
            records, nested = [], []
        for record in records:
            record.agent_depth = (record.agent_depth or 0) + 1
            record.agent_path = f"{parent}/{record.agent_path or record.agent_name}"
            self.tool_executions.append(record)
        self.subagent_executions.extend(nested)
        if ev.state == "degraded":
            why = "; ".join(ev.degraded_reasons or ()) or "no reason given"
            self.degraded_reasons.append(f"subagent {ev.agent!r} was degraded: {why}")

    def _on_model_fallback(self, ev: ModelFallback) -> None:
        self.degraded_reasons.append(
            f"model {ev.from_model} failed, {ev.to_model} answered: {ev.error}"
        )

    def _on_run_resumed(self, ev: RunResumed) -> None:
        if ev.from_checkpoint and self.finished_event is not None:
            # A stopped run (awaiting approval, interrupted, failed) continues: it is open again.
            self.finished_event = None
            self.status = "running"
            self.error = self.error_type = None

    def _on_run_finished(self, ev: RunFinished) -> None:
        self.finished_event = ev
        self.status = ev.state  # type: ignore[assignment]
        self.output_data = ev.output
        self.final_text = ev.final_text
        self.error = ev.error
        self.error_type = ev.error_type
        self.interrupted_calls = list(ev.interrupted_calls)
        for reason in ev.degraded_reasons:
            if reason not in self.degraded_reasons:
                self.degraded_reasons.append(reason)

    def last_assistant_text(self) -> str:
        """The text of the latest assistant message that has any."""
        for message in reversed(self.messages):
            if message.role == "assistant" and message.text:
                return message.text
        return ""


def _json_text(value: Any) -> str:
    import json

    return json.dumps(to_jsonable_python(value, fallback=repr), ensure_ascii=False)


#: Each event type's handler: ``RunState._on_<type>``.
_HANDLERS: dict[str, Any] = {
    name[4:]: handler for name, handler in vars(RunState).items() if name.startswith("_on_")
}


@dataclass(slots=True)
class Result(Generic[OutputT]):
    """The outcome of a run, folded from its event log. ``str(result)`` is the final text."""

    output: OutputT
    final_text: str
    state: RunStatus
    run_id: str
    thread_id: str | None
    trace_id: str | None
    messages: list[Message]
    new_messages: list[Message]
    usage: Usage
    tool_executions: list[ToolExecutionRecord]
    subagent_executions: list[SubagentExecutionRecord]
    last_agent: str
    degraded_reasons: list[str] = field(default_factory=list)
    pending_approvals: list[PendingApproval] = field(default_factory=list)
    pending_inputs: list[PendingInput] = field(default_factory=list)
    #: Tickets of deferred tool calls still waiting for their result, by call id.
    deferred: dict[str, str] = field(default_factory=dict)
    interrupted_calls: list[str] = field(default_factory=list)
    #: The idempotency key of each interrupted call (``ctx.idempotency_key`` inside it), by
    #: call id: what to ask the external system about before deciding to run it again.
    interrupted_keys: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    error_type: str | None = None
    turns: int = 0
    #: The session the run belongs to (``RunConfig(group_id=...)``): one id for the runs of a
    #: conversation, recorded in each run's ``run_started`` and trace, so their traces link up.
    session_id: str | None = None

    @property
    def final_output(self) -> OutputT:
        """Alias of :attr:`output` (the OpenAI Agents SDK's name)."""
        return self.output

    @property
    def usage_aggregate(self) -> Usage:
        """Alias of :attr:`usage`."""
        return self.usage

    @property
    def state_snapshot(self) -> dict[str, Any]:
        """The run's final counters as a JSON-ready dict (afk's ``state_snapshot``).

        Keys: ``state``, ``turns``, ``model_calls``, ``tool_calls``, ``tool_failures``,
        ``subagent_calls``, ``input_tokens``, ``output_tokens``, ``cached_tokens``, ``cost_usd``
        (None when a price is unknown), ``pending_approvals``, ``pending_inputs``,
        ``deferred_calls``, ``interrupted_calls``, ``degraded_reasons``.
        """
        usage = self.usage
        return {
            "state": self.state,
            "turns": self.turns,
            "model_calls": usage.requests,
            "tool_calls": len(self.tool_executions),
            "tool_failures": sum(1 for t in self.tool_executions if not t.success),
            "subagent_calls": len(self.subagent_executions),
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cached_tokens": usage.cached_tokens,
            "cost_usd": usage.cost,
            "pending_approvals": len(self.pending_approvals),
            "pending_inputs": len(self.pending_inputs),
            "deferred_calls": len(self.deferred),
            "interrupted_calls": len(self.interrupted_calls),
            "degraded_reasons": list(self.degraded_reasons),
        }

    @property
    def final_state(self) -> dict[str, Any]:
        """Where the run ended, as a JSON-ready dict (routekitai's ``final_state``).

        Keys: ``state``, ``agent`` (the agent that answered last), ``turns``, ``output`` (as
        JSON), ``final_text``, ``messages`` (how many), ``error``.
        """
        return {
            "state": self.state,
            "agent": self.last_agent,
            "turns": self.turns,
            "output": to_jsonable_python(self.output, fallback=repr),
            "final_text": self.final_text,
            "messages": len(self.messages),
            "error": self.error,
        }

    def to_input_list(self) -> list[dict[str, Any]]:
        """The whole conversation as input items, to continue it in a next run."""
        return messages_to_input_list(m for m in self.messages if m.role != "system")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (no messages)."""
        return {
            "output": to_jsonable_python(self.output, fallback=repr),
            "final_text": self.final_text,
            "state": self.state,
            "run_id": self.run_id,
            "thread_id": self.thread_id,
            "trace_id": self.trace_id,
            "usage": self.usage.to_dict(),
            "last_agent": self.last_agent,
            "turns": self.turns,
            "tool_calls": len(self.tool_executions),
            "degraded_reasons": self.degraded_reasons,
            "pending_approvals": [p.call_id for p in self.pending_approvals],
            "interrupted_calls": self.interrupted_calls,
            "interrupted_keys": self.interrupted_keys,
            "error": self.error,
            "error_type": self.error_type,
        }

    def __str__(self) -> str:
        return self.final_text
