"""The OpenAI Agents SDK's streaming surface over tether's event log (``run_streamed``)."""

from __future__ import annotations

import functools
import inspect
import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, cast

from .. import errors
from ..events import Event, Handoff, ModelResponseEvent
from ..messages import TextPart, ToolCallPart

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
    """A run item, as the SDK's: ``type`` is ``message_output_item``, ``tool_call_item``,
    ``tool_call_output_item``, ``tool_approval_item``, ``handoff_call_item`` or
    ``handoff_output_item``; ``agent`` is the Agent that made it (its name when neither the
    handoffs nor the runner know it); ``raw_item`` is the Responses API item it stands for (a
    ``ResponseOutputMessage``, a ``ResponseFunctionToolCall``, or a ``function_call_output``
    dict); ``event`` is tether's event. A handoff's output item has ``source_agent`` and
    ``target_agent``."""

    type: str
    agent: Any
    raw_item: Any
    event: Event
    output: Any = None
    source_agent: Any = None
    target_agent: Any = None


@dataclass(slots=True)
class RunItemStreamEvent:
    """A run item was created: ``name`` is ``tool_called``, ``tool_output``,
    ``message_output_created``, ``handoff_requested``, ``handoff_occured`` or
    ``tool_approval_requested``."""

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
        content = getattr(item.raw_item, "content", ())
        return "".join(c.text for c in content if getattr(c, "type", "") == "output_text")

    @staticmethod
    def text_message_outputs(items: list[RunItem]) -> str:
        """The text of all the ``message_output_item`` among ``items``."""
        return "".join(
            ItemHelpers.text_message_output(i) for i in items if i.type == "message_output_item"
        )


@functools.cache
def _responses() -> Any:
    """``openai.types.responses``, imported on the first streamed run (not with the module:
    routekitai's facade imports this one and needs no openai types); cached, as it is read
    for every text delta."""
    from openai.types import responses

    return responses


def _text_delta(event: Any) -> Any:
    return _responses().ResponseTextDeltaEvent.model_construct(
        type="response.output_text.delta",
        delta=event.delta,
        item_id="",
        output_index=0,
        content_index=0,
        sequence_number=event.seq,
        logprobs=[],
    )


def _function_call(call_id: str, name: str, arguments: str) -> Any:
    return _responses().ResponseFunctionToolCall(
        type="function_call", call_id=call_id, name=name, arguments=arguments, status="completed"
    )


def _call_output(call_id: str, output: str) -> dict[str, Any]:
    return {"call_id": call_id, "output": output, "type": "function_call_output"}


class _Items:
    """Turns tether's events into the SDK's stream events, one run's worth (it remembers the
    model's tool calls, for their arguments, and which of them are handoffs)."""

    def __init__(self, find_agent: Callable[[str], Any]) -> None:
        self._find = find_agent
        self._agents: dict[str, Any] = {}
        self._calls: dict[str, ToolCallPart] = {}
        self._handoffs: set[str] = set()

    def agent(self, name: str) -> Any:
        """The agent called ``name`` (its name when it cannot be found)."""
        if name not in self._agents:
            self._agents[name] = self._find(name) or name
        return self._agents[name]

    def _item(self, name: str, kind: str, agent: str, raw: Any, event: Event) -> RunItemStreamEvent:
        return RunItemStreamEvent(name, RunItem(kind, self.agent(agent), raw, event))

    def translate(self, event: Event) -> list[StreamEvent]:
        """The SDK's stream events for one tether event (none for most bookkeeping events)."""
        kind = event.type
        agent = str(getattr(event, "agent", ""))
        call_id = str(getattr(event, "call_id", "") or "")
        if kind == "text_delta":
            return [RawResponsesStreamEvent(_text_delta(event))]
        if kind in ("reasoning_delta", "tool_call_delta"):
            return [RawResponsesStreamEvent(event)]
        if kind == "model_response":
            return self._response(cast("ModelResponseEvent", event))
        if call_id in self._handoffs and kind in ("tool_call_started", "tool_call_finished"):
            return []  # the SDK shows a handoff's call as the handoff items only
        if kind in ("tool_call_started", "approval_requested"):
            raw = _function_call(call_id, str(event.tool_name), self._arguments(event))  # type: ignore[attr-defined]
            if kind == "approval_requested":
                return [
                    self._item("tool_approval_requested", "tool_approval_item", agent, raw, event)
                ]
            return [self._item("tool_called", "tool_call_item", agent, raw, event)]
        if kind == "tool_call_finished":
            raw = _call_output(call_id, str(event.content))  # type: ignore[attr-defined]
            made = self._item("tool_output", "tool_call_output_item", agent, raw, event)
            made.item.output = getattr(event, "output", None)
            return [made]
        if kind == "handoff":
            return self._handoff(cast("Handoff", event))
        return []

    def _arguments(self, event: Any) -> str:
        part = self._calls.get(event.call_id)
        return part.arguments if part is not None else json.dumps(event.args)

    def _response(self, event: ModelResponseEvent) -> list[StreamEvent]:
        texts: list[Any] = []
        for part in event.parts:
            if isinstance(part, ToolCallPart):
                self._calls[part.call_id] = part
            elif isinstance(part, TextPart):
                made = _responses().ResponseOutputText
                texts.append(made(annotations=[], text=part.text, type="output_text"))
        if not texts:
            return []
        raw = _responses().ResponseOutputMessage(
            id=event.response_id or f"msg_{event.turn}",
            content=texts,
            role="assistant",
            status="completed",
            type="message",
        )
        return [
            self._item("message_output_created", "message_output_item", event.agent, raw, event)
        ]

    def _handoff(self, event: Handoff) -> list[StreamEvent]:
        call_id = event.call_id or ""
        self._handoffs.add(call_id)
        part = self._calls.get(call_id)
        name = part.name if part is not None else f"transfer_to_{event.to_agent}"
        call = _function_call(call_id, name, part.arguments if part is not None else "{}")
        requested = self._item(
            "handoff_requested", "handoff_call_item", event.from_agent, call, event
        )
        output = _call_output(call_id, json.dumps({"assistant": event.to_agent}))
        occured = self._item(
            "handoff_occured", "handoff_output_item", event.from_agent, output, event
        )
        occured.item.source_agent = self.agent(event.from_agent)
        occured.item.target_agent = self.agent(event.to_agent)
        return [requested, occured, AgentUpdatedStreamEvent(occured.item.target_agent)]


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
        max_turns: int | None = None,
    ) -> None:
        self._events = events
        self._find_agent = find_agent
        self._on_error = on_error
        self._result: Any = None
        self._started = False
        self._cancelled = False
        self.is_complete = False
        #: The agent running now: the starting agent, then each agent handed off to.
        self.current_agent = starting_agent
        #: The turn the run is on (0 before the first model call).
        self.current_turn = 0
        #: The run's turn limit.
        self.max_turns = max_turns

    @property
    def final_output(self) -> Any:
        """The final output (None until the stream is complete)."""
        return None if self._result is None else self._result.final_output

    def cancel(self) -> None:
        """Stop the run, as the SDK's ``cancel()``: :meth:`stream_events` ends after the event
        it is on (at once, when it has not started) and the run ends ``interrupted`` there
        (resumable with a store). ``final_output`` stays None."""
        self._cancelled = True

    async def stream_events(self) -> AsyncIterator[StreamEvent]:
        """The run's stream events; raises the run's error (e.g. MaxTurnsExceeded) at the end
        of a run that failed."""
        if self._started:
            raise errors.UserError("stream_events() of a streamed run can be iterated only once")
        self._started = True
        if self._cancelled:
            self.is_complete = True
            return
        if self.current_agent is not None:  # as the SDK does, the starting agent comes first
            yield AgentUpdatedStreamEvent(self.current_agent)
        items = _Items(self._find_agent)
        tripped: Any = None
        stream = self._events()
        try:
            async for event in stream:
                for item in items.translate(event):
                    if isinstance(item, AgentUpdatedStreamEvent):
                        self.current_agent = item.new_agent
                    yield item
                if event.type == "turn_started":
                    self.current_turn += 1
                elif event.type == "guardrail_tripped":
                    tripped = event
                elif event.type == "run_finished":
                    self._result = getattr(event, "result", None)
                if self._cancelled:
                    break
        finally:
            self.is_complete = True
            closing = getattr(stream, "aclose", None)
            if closing is not None:
                await closing()  # a stream left early stops its run (it ends interrupted)
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
