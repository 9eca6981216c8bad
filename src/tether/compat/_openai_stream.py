"""The OpenAI Agents SDK's streaming surface over tether's event log (``run_streamed``)."""

from __future__ import annotations

import inspect
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from .. import errors
from ..events import Event

__all__ = [
    "AgentUpdatedStreamEvent",
    "ItemHelpers",
    "RawResponsesStreamEvent",
    "RunItem",
    "RunItemStreamEvent",
    "RunResultStreaming",
    "StreamEvent",
]


@dataclass(slots=True)
class RawResponsesStreamEvent:
    """A raw event from the model's stream. ``data`` is an ``openai.types.responses``
    ``ResponseTextDeltaEvent`` for text, tether's own event for reasoning and tool-call deltas."""

    data: Any
    type: str = "raw_response_event"


@dataclass(slots=True)
class RunItem:
    """A run item: ``type`` is ``tool_call_item``, ``tool_call_output_item``,
    ``message_output_item`` or ``handoff_output_item``; ``raw_item`` is tether's event."""

    type: str
    agent: str
    raw_item: Event
    output: Any = None


@dataclass(slots=True)
class RunItemStreamEvent:
    """A run item was created: ``name`` is ``tool_called``, ``tool_output``,
    ``message_output_created``, ``handoff_occured`` or ``tool_approval_requested``."""

    name: str
    item: RunItem
    type: str = "run_item_stream_event"


@dataclass(slots=True)
class AgentUpdatedStreamEvent:
    """The current agent: first the starting agent, then each agent handed off to.
    ``new_agent`` is the agent (found among the handoffs and the runner's registered agents),
    or its name when neither knows it."""

    new_agent: Any
    type: str = "agent_updated_stream_event"


StreamEvent = RawResponsesStreamEvent | RunItemStreamEvent | AgentUpdatedStreamEvent


class ItemHelpers:
    """Helpers for run items (the SDK's ``ItemHelpers``)."""

    @staticmethod
    def text_message_output(item: RunItem) -> str:
        """The text of a ``message_output_item``."""
        raw = item.raw_item
        parts = getattr(raw, "parts", ())
        return "".join(getattr(p, "text", "") for p in parts if getattr(p, "kind", "") == "text")


def _text_delta(event: Any) -> Any:
    try:
        from openai.types.responses import ResponseTextDeltaEvent
    except ImportError:  # pragma: no cover - the openai SDK is a core dependency
        return event
    return ResponseTextDeltaEvent.model_construct(
        type="response.output_text.delta",
        delta=event.delta,
        item_id="",
        output_index=0,
        content_index=0,
        sequence_number=event.seq,
        logprobs=[],
    )


def translate(event: Event, find_agent: Callable[[str], Any]) -> list[StreamEvent]:
    """The SDK's stream events for one tether event (none for most bookkeeping events)."""
    kind = event.type
    agent = str(getattr(event, "agent", ""))
    if kind == "text_delta":
        return [RawResponsesStreamEvent(_text_delta(event))]
    if kind in ("reasoning_delta", "tool_call_delta"):
        return [RawResponsesStreamEvent(event)]
    if kind == "tool_call_started":
        return [RunItemStreamEvent("tool_called", RunItem("tool_call_item", agent, event))]
    if kind == "tool_call_finished":
        item = RunItem("tool_call_output_item", agent, event, getattr(event, "output", None))
        return [RunItemStreamEvent("tool_output", item)]
    if kind == "approval_requested":
        item = RunItem("tool_approval_item", agent, event)
        return [RunItemStreamEvent("tool_approval_requested", item)]
    if kind == "model_response" and any(
        getattr(p, "kind", "") == "text" for p in getattr(event, "parts", ())
    ):
        item = RunItem("message_output_item", agent, event)
        return [RunItemStreamEvent("message_output_created", item)]
    if kind == "handoff":
        target = str(getattr(event, "to_agent", ""))
        item = RunItem("handoff_output_item", str(getattr(event, "from_agent", "")), event)
        return [
            RunItemStreamEvent("handoff_occured", item),
            AgentUpdatedStreamEvent(find_agent(target) or target),
        ]
    return []


#: The fields of the limit errors, read back from their messages (errors.py writes them).
_FIELDS: dict[str, tuple[str, tuple[tuple[str, type], ...]]] = {
    "MaxTurnsExceeded": (
        r"turn (\d+) would pass the limit of (\d+)",
        (("turn", int), ("limit", int)),
    ),
    "BudgetExceeded": (
        r"spent \$([0-9.]+) > limit \$([0-9.]+)",
        (("spent", float), ("limit", float)),
    ),
    "RunLimitExceeded": (
        r"^(\w+) exceeded: (\d+) > (\d+)",
        (("limit", str), ("value", int), ("maximum", int)),
    ),
}


def error_of(result: Any) -> BaseException:
    """The exception a failed streamed run raises: tether's own class, with its message and
    the fields that class has (those of the limit errors read back from the message; None for
    any other the Result does not tell)."""
    cls = getattr(errors, result.error_type or "", None)
    if not (isinstance(cls, type) and issubclass(cls, errors.TetherError)):
        cls = errors.TetherError
    exc: errors.TetherError = cls.__new__(cls)
    message = result.error or result.state
    Exception.__init__(exc, message)
    for name in list(inspect.signature(cls.__init__).parameters)[1:]:
        if name not in ("args", "kwargs", "message"):
            setattr(exc, name, None)
    pattern, fields = _FIELDS.get(cls.__name__, ("", ()))
    found = re.search(pattern, message) if pattern else None
    if found is not None:
        for (name, kind), text in zip(fields, found.groups(), strict=True):
            setattr(exc, name, kind(text))
    exc.run_id = result.run_id
    exc.result = result
    return exc


class RunResultStreaming:
    """What ``Runner.run_streamed`` returns: iterate :meth:`stream_events`; once done, the
    result's fields (``final_output``, ``to_input_list()``, ...) are read from here too."""

    def __init__(
        self,
        events: Callable[[], AsyncIterator[Event]],
        find_agent: Callable[[str], Any],
        starting_agent: Any = None,
        on_error: Callable[[BaseException], BaseException] | None = None,
    ) -> None:
        self._events = events
        self._find_agent = find_agent
        self._on_error = on_error
        self._result: Any = None
        self._started = False
        self.is_complete = False
        #: The agent running now: the starting agent, then each agent handed off to.
        self.current_agent = starting_agent

    @property
    def final_output(self) -> Any:
        """The final output (None until the stream is complete)."""
        return None if self._result is None else self._result.final_output

    async def stream_events(self) -> AsyncIterator[StreamEvent]:
        """The run's stream events; raises the run's error (e.g. MaxTurnsExceeded) at the end
        of a run that failed."""
        if self._started:
            raise errors.UserError("stream_events() of a streamed run can be iterated only once")
        self._started = True
        if self.current_agent is not None:  # as the SDK does, the starting agent comes first
            yield AgentUpdatedStreamEvent(self.current_agent)
        tripped: Any = None
        async for event in self._events():
            for item in translate(event, self._find_agent):
                if isinstance(item, AgentUpdatedStreamEvent):
                    self.current_agent = item.new_agent
                yield item
            if event.type == "guardrail_tripped":
                tripped = event
            elif event.type == "run_finished":
                self._result = getattr(event, "result", None)
        self.is_complete = True
        result = self._result
        if result is not None and result.state == "failed":
            exc = error_of(result)
            tripwires = (
                errors.InputGuardrailTripwireTriggered,
                errors.OutputGuardrailTripwireTriggered,
            )
            if tripped is not None and isinstance(exc, tripwires):
                # what the raised error of a run that is not streamed holds
                exc.guardrail, exc.info = tripped.guardrail, tripped.info
            raise self._on_error(exc) if self._on_error is not None else exc

    def __getattr__(self, name: str) -> Any:
        result = self.__dict__.get("_result")
        if result is None:
            raise AttributeError(f"{name!r}: the streamed run is not complete yet")
        return getattr(result, name)
