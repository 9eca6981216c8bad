"""The run's event log: every run is a sequence of these typed, JSON-serializable events.

The loop only emits events; results, streams, handles, checkpoints, traces and replays are all
consumers of this one log. Every event has ``type`` (a snake_case name), ``run_id``, ``seq`` (its
position in the log) and ``at`` (a UNIX timestamp). Events round-trip through
:meth:`Event.to_dict` and :func:`event_from_dict`; the persisted format carries
:data:`LOG_FORMAT_VERSION` in ``run_started``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from ._describe import _DESCRIBE as _DESCRIBE  # (tests read the table)
from ._describe import describe
from ._log_format import LOG_FORMAT_VERSION, decode_event, encode_event
from .messages import Message, Part
from .usage import Usage

__all__ = [
    "LOG_FORMAT_VERSION",
    "ApprovalDecided",
    "ApprovalExpired",
    "ApprovalRequested",
    "BreakpointHit",
    "Event",
    "GuardrailPassed",
    "GuardrailTripped",
    "Handoff",
    "HandoffInput",
    "HistorySummarized",
    "InputProvided",
    "InputRequested",
    "ModelCacheHit",
    "ModelCircuitChanged",
    "ModelCoalesced",
    "ModelFallback",
    "ModelHedged",
    "ModelResponseEvent",
    "ModelRetry",
    "ModelThrottled",
    "OutputRetry",
    "PolicyDecision",
    "PolicyMessage",
    "Progress",
    "ReasoningDeltaEvent",
    "RunFinished",
    "RunPaused",
    "RunResumed",
    "RunStarted",
    "SubagentFinished",
    "SubagentSuspended",
    "TextDeltaEvent",
    "ToolArgsEdited",
    "ToolCallDeferred",
    "ToolCallDeltaEvent",
    "ToolCallFinished",
    "ToolCallStarted",
    "TurnStarted",
    "describe",
    "event_from_dict",
]


@dataclass(slots=True, kw_only=True)
class Event:
    """Base of every event."""

    type: ClassVar[str] = "event"
    #: Field name -> codec for fields that are not plain JSON (see tether._log_format.CODECS).
    codecs: ClassVar[dict[str, str]] = {}
    #: Fields never persisted (large or derived); they are rebuilt on load.
    transient: ClassVar[frozenset[str]] = frozenset()
    #: False for events a store may drop: they are rebuilt from others (stream deltas).
    durable: ClassVar[bool] = True

    run_id: str = ""
    seq: int = 0
    at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The event as a JSON-ready dict (``type`` first), as the persisted log holds it."""
        return encode_event(self)

    @property
    def message(self) -> str | None:
        """A one-line, human-readable account of the event (afk's ``event.message``).

        Events that carry a ``message`` field of their own (``policy_message``, ``output_retry``,
        ``tool_call_deferred``) keep that field instead.
        """
        return describe(self)


@dataclass(slots=True, kw_only=True)
class RunStarted(Event):
    """A run began. Holds everything needed to rebuild it: input, loaded history, limits."""

    type: ClassVar[str] = "run_started"
    codecs: ClassVar[dict[str, str]] = {
        "input": "messages",
        "history": "messages",
        "metadata": "json",
        "settings": "json",
    }

    agent: str
    input: list[Message]
    history: list[Message] = field(default_factory=list)
    thread_id: str | None = None
    trace_id: str | None = None
    parent_run_id: str | None = None
    max_turns: int = 10
    max_cost: float | None = None
    workflow_name: str | None = None
    group_id: str | None = None
    metadata: dict[str, Any] | None = None
    format_version: int = LOG_FORMAT_VERSION
    #: What the run was started with (RunConfig): settings by value, callables and model
    #: objects by name; a resumed run uses them or refuses (docs/log-format.md).
    settings: dict[str, Any] | None = None
    #: Identifies the agent that started the run (instructions, tools, model, output, handoffs).
    agent_fingerprint: str | None = None


@dataclass(slots=True, kw_only=True)
class TurnStarted(Event):
    """A model turn began (turns count from 1)."""

    type: ClassVar[str] = "turn_started"
    turn: int
    agent: str
    model: str = ""


@dataclass(slots=True, kw_only=True)
class TextDeltaEvent(Event):
    """A piece of the model's text as it streams."""

    type: ClassVar[str] = "text_delta"
    durable: ClassVar[bool] = False
    delta: str
    turn: int = 0


@dataclass(slots=True, kw_only=True)
class ReasoningDeltaEvent(Event):
    """A piece of the model's reasoning as it streams."""

    type: ClassVar[str] = "reasoning_delta"
    durable: ClassVar[bool] = False
    delta: str
    turn: int = 0


@dataclass(slots=True, kw_only=True)
class ToolCallDeltaEvent(Event):
    """A piece of a tool call as it streams (name first, then argument text)."""

    type: ClassVar[str] = "tool_call_delta"
    durable: ClassVar[bool] = False
    index: int
    call_id: str | None = None
    tool_name: str | None = None
    delta: str = ""
    turn: int = 0


@dataclass(slots=True, kw_only=True)
class ModelResponseEvent(Event):
    """The model answered: its parts become the assistant message of this turn."""

    type: ClassVar[str] = "model_response"
    codecs: ClassVar[dict[str, str]] = {"parts": "parts", "usage": "usage"}

    turn: int
    agent: str
    model: str
    parts: list[Part]
    usage: Usage
    finish_reason: str | None = None
    response_id: str | None = None
    latency_ms: float = 0.0
    #: Digests of what was sent (instructions, tools, output, settings, and the messages when
    #: a history policy shaped them): what a replay compares.
    request_digest: dict[str, str] | None = None


@dataclass(slots=True, kw_only=True)
class ModelRetry(Event):
    """The model runtime is retrying a failed call."""

    type: ClassVar[str] = "model_retry"
    model: str
    attempt: int
    error: str
    delay: float
    status: int | None = None


@dataclass(slots=True, kw_only=True)
class ModelFallback(Event):
    """A model failed after its retries and the next one of a FallbackModel takes over."""

    type: ClassVar[str] = "model_fallback"
    from_model: str
    to_model: str
    error: str


@dataclass(slots=True, kw_only=True)
class ModelCacheHit(Event):
    """A model response was served from the response cache."""

    type: ClassVar[str] = "model_cache_hit"
    model: str
    key: str


@dataclass(slots=True, kw_only=True)
class ModelCircuitChanged(Event):
    """The circuit breaker of a model endpoint changed state (open, half_open, closed)."""

    type: ClassVar[str] = "model_circuit_changed"
    endpoint: str
    state: str
    failures: int = 0


@dataclass(slots=True, kw_only=True)
class ModelThrottled(Event):
    """The rate limiter held a model call back for ``waited`` seconds."""

    type: ClassVar[str] = "model_throttled"
    model: str
    waited: float


@dataclass(slots=True, kw_only=True)
class ModelHedged(Event):
    """A model call was slow, so a second identical request was sent; the first answer wins."""

    type: ClassVar[str] = "model_hedged"
    model: str
    after: float
    winner: str = ""


@dataclass(slots=True, kw_only=True)
class ModelCoalesced(Event):
    """An identical request was already in flight: this call shares its answer."""

    type: ClassVar[str] = "model_coalesced"
    model: str
    key: str


@dataclass(slots=True, kw_only=True)
class ToolCallStarted(Event):
    """A tool call is about to run (persisted before the tool runs)."""

    type: ClassVar[str] = "tool_call_started"
    codecs: ClassVar[dict[str, str]] = {"args": "json"}
    call_id: str
    tool_name: str
    args: Any
    agent: str = ""


@dataclass(slots=True, kw_only=True)
class ToolCallFinished(Event):
    """A tool call ended. ``content`` is what the model is sent; ``output`` the tool's value."""

    type: ClassVar[str] = "tool_call_finished"
    codecs: ClassVar[dict[str, str]] = {"args": "json", "output": "json"}
    call_id: str
    tool_name: str
    args: Any
    content: str
    output: Any = None
    error: str | None = None
    #: "retry" (counted against retries), "failure" (the tool broke), "rejected" (approval),
    #: "skipped" (not run), or None for success.
    error_kind: str | None = None
    latency_ms: float = 0.0
    agent: str = ""


@dataclass(slots=True, kw_only=True)
class ToolCallDeferred(Event):
    """A tool answered with a ticket: its result will be delivered later."""

    type: ClassVar[str] = "tool_call_deferred"
    codecs: ClassVar[dict[str, str]] = {"args": "json"}
    call_id: str
    tool_name: str
    ticket: str
    args: Any = None
    message: str | None = None
    agent: str = ""


@dataclass(slots=True, kw_only=True)
class ApprovalRequested(Event):
    """A tool call waits for a person's decision."""

    type: ClassVar[str] = "approval_requested"
    codecs: ClassVar[dict[str, str]] = {"args": "json"}
    call_id: str
    tool_name: str
    args: Any
    agent: str = ""


@dataclass(slots=True, kw_only=True)
class ToolArgsEdited(Event):
    """A person changed a tool call's arguments before it ran (at a debugger breakpoint)."""

    type: ClassVar[str] = "tool_args_edited"
    codecs: ClassVar[dict[str, str]] = {"args": "json", "previous": "json"}
    call_id: str
    tool_name: str
    args: Any
    previous: Any = None
    agent: str = ""


@dataclass(slots=True, kw_only=True)
class BreakpointHit(Event):
    """The run paused at a breakpoint (not persisted: the pause itself is not history)."""

    type: ClassVar[str] = "breakpoint_hit"
    codecs: ClassVar[dict[str, str]] = {"args": "json"}
    durable: ClassVar[bool] = False
    breakpoint: str
    trigger: str
    call_id: str | None = None
    tool_name: str | None = None
    args: Any = None
    turn: int = 0


@dataclass(slots=True, kw_only=True)
class ApprovalDecided(Event):
    """A person (or policy) approved or rejected a pending tool call."""

    type: ClassVar[str] = "approval_decided"
    call_id: str
    approved: bool
    reason: str | None = None
    #: The SHA-256 of the arguments approved (those shown, or the edit): the approval holds for
    #: a call with exactly these (tether.governance.approval.args_digest). None in older logs.
    args_digest: str | None = None
    #: The Unix time the approval lapses at, unused (None: never).
    expires_at: float | None = None


@dataclass(slots=True, kw_only=True)
class ApprovalExpired(Event):
    """An approval lapsed before its call ran: the call asks for approval again."""

    type: ClassVar[str] = "approval_expired"
    call_id: str
    tool_name: str
    expires_at: float
    message: str = ""
    agent: str = ""


@dataclass(slots=True, kw_only=True)
class InputRequested(Event):
    """A tool asked a person for a value (``ctx.request_input``) and stopped until answered."""

    type: ClassVar[str] = "input_requested"
    call_id: str
    tool_name: str
    prompt: str
    index: int = 0
    agent: str = ""


@dataclass(slots=True, kw_only=True)
class InputProvided(Event):
    """A person answered a tool's question; the tool runs again with the answer."""

    type: ClassVar[str] = "input_provided"
    codecs: ClassVar[dict[str, str]] = {"value": "json"}
    call_id: str
    value: Any


@dataclass(slots=True, kw_only=True)
class Handoff(Event):
    """Control passed from one agent to another."""

    type: ClassVar[str] = "handoff"
    from_agent: str
    to_agent: str
    call_id: str | None = None


@dataclass(slots=True, kw_only=True)
class HandoffInput(Event):
    """What a handoff's input filter made of the history, applied once when the new agent is
    first asked: from here on that agent's requests start from ``messages`` (then what follows)."""

    type: ClassVar[str] = "handoff_input"
    codecs: ClassVar[dict[str, str]] = {"messages": "messages"}
    agent: str
    messages: list[Message]


@dataclass(slots=True, kw_only=True)
class HistorySummarized(Event):
    """A model call made outside the loop summarized older messages (a history policy, thread
    compaction): the summary and its cost, counted in the run's usage, served on replay/resume."""

    type: ClassVar[str] = "history_summarized"
    codecs: ClassVar[dict[str, str]] = {"usage": "usage"}
    #: Identifies the summarized span (what a history policy looks the summary up by).
    key: str
    summary: str
    usage: Usage | None = None
    model: str = ""
    agent: str = ""
    #: How many messages the summary stands for.
    messages: int = 0
    #: A history policy's: the run's messages it covers, from the first (since format 6).
    covers: int | None = None


@dataclass(slots=True, kw_only=True)
class GuardrailTripped(Event):
    """A guardrail's tripwire fired."""

    type: ClassVar[str] = "guardrail_tripped"
    codecs: ClassVar[dict[str, str]] = {"info": "json"}
    guardrail: str
    kind: str
    info: Any = None
    #: How long the check took (since format 6; 0.0 in older logs).
    latency_ms: float = 0.0


@dataclass(slots=True, kw_only=True)
class GuardrailPassed(Event):
    """A guardrail checked the input or the final output and let it through (since format 5)."""

    type: ClassVar[str] = "guardrail_passed"
    codecs: ClassVar[dict[str, str]] = {"info": "json"}
    guardrail: str
    kind: str
    info: Any = None
    #: How long the check took (its span in a trace ends at ``at``).
    latency_ms: float = 0.0


@dataclass(slots=True, kw_only=True)
class OutputRetry(Event):
    """The final output was not accepted; ``message`` (if any) is sent to the model as a hint."""

    type: ClassVar[str] = "output_retry"
    codecs: ClassVar[dict[str, str]] = {"candidate": "json"}
    reason: str
    message: str | None = None
    #: The rejected output (JSON), which lenient mode may still accept after the last retry.
    candidate: Any = None


@dataclass(slots=True, kw_only=True)
class PolicyMessage(Event):
    """The run's policy continues the conversation with a message (e.g. "now execute the plan")."""

    type: ClassVar[str] = "policy_message"
    policy: str
    message: str


@dataclass(slots=True, kw_only=True)
class SubagentFinished(Event):
    """A subagent (an agent used as a tool) finished its nested run."""

    type: ClassVar[str] = "subagent_finished"
    codecs: ClassVar[dict[str, str]] = {
        "usage": "usage",
        "tool_executions": "json",
        "subagent_executions": "json",
    }
    call_id: str
    agent: str
    child_run_id: str
    state: str
    final_text: str
    usage: Usage | None = None
    latency_ms: float = 0.0
    #: The child's own tool executions and subagent executions (records as dicts), and why it
    #: was degraded: the parent's Result lists them with their lineage.
    tool_executions: list[dict[str, Any]] | None = None
    subagent_executions: list[dict[str, Any]] | None = None
    degraded_reasons: list[str] | None = None


@dataclass(slots=True, kw_only=True)
class SubagentSuspended(Event):
    """A subagent's run stopped to wait (approval, input, deferred result); the parent's call
    ``call_id`` waits on it, asking for the same under its own ids (``calls``: parent id ->
    the child's id). ``usage`` is what the child spent so far (see tether._subagents)."""

    type: ClassVar[str] = "subagent_suspended"
    codecs: ClassVar[dict[str, str]] = {"usage": "usage", "calls": "json"}
    call_id: str
    agent: str
    child_run_id: str
    state: str
    usage: Usage | None = None
    calls: dict[str, str] = field(default_factory=dict)
    #: The idempotency key of each call a crash cut short in the child (parent id -> key): what
    #: ``ctx.idempotency_key`` was inside it, reported by the top run's ``interrupted_keys``.
    keys: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True, kw_only=True)
class PolicyDecision(Event):
    """A :class:`~tether.governance.PolicyEngine` decided on a tool call.

    ``action`` is ``allow``, ``deny`` or ``require_approval``; ``rule`` names the rule that
    matched (None: the engine's default action); ``reason`` is what a denied call tells the model.
    """

    type: ClassVar[str] = "policy_decision"
    call_id: str
    tool_name: str
    action: str
    rule: str | None = None
    reason: str | None = None
    agent: str = ""


@dataclass(slots=True, kw_only=True)
class Progress(Event):
    """How far the run is: turns used of the limit, and cost so far."""

    type: ClassVar[str] = "progress"
    progress_percent: float
    turn: int
    max_turns: int
    cost: float | None


@dataclass(slots=True, kw_only=True)
class RunPaused(Event):
    """The run paused at a step boundary."""

    type: ClassVar[str] = "run_paused"


@dataclass(slots=True, kw_only=True)
class RunResumed(Event):
    """The run continued after a pause, or was resumed from its checkpoint."""

    type: ClassVar[str] = "run_resumed"
    from_checkpoint: bool = False


@dataclass(slots=True, kw_only=True)
class RunFinished(Event):
    """The run ended. ``result`` is the folded Result (rebuilt, not stored, when loaded)."""

    type: ClassVar[str] = "run_finished"
    codecs: ClassVar[dict[str, str]] = {"output": "json"}
    transient: ClassVar[frozenset[str]] = frozenset({"result"})

    state: str
    output: Any = None
    final_text: str = ""
    error: str | None = None
    error_type: str | None = None
    degraded_reasons: list[str] = field(default_factory=list)
    interrupted_calls: list[str] = field(default_factory=list)
    result: Any = None


#: Every event class of this module, by its ``type`` (the classes above, in definition order).
EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in list(globals().values())
    if isinstance(cls, type) and issubclass(cls, Event) and cls is not Event
}


def event_from_dict(data: dict[str, Any], *, version: int | None = None) -> Event:
    """Rebuild an event from :meth:`Event.to_dict` output.

    Anything else (an unknown type, field, format version, or a value of the wrong shape) is a
    :class:`~tether.errors.LogFormatError` (a ValueError) naming the version; see
    docs/log-format.md. ``version`` is the format the log was written in, when known.
    """
    event: Event = decode_event(data, EVENT_TYPES, version=version)
    return event
