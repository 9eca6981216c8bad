"""The OpenAI Agents SDK's streaming surface over tether's event log (``run_streamed``)."""

from __future__ import annotations

import asyncio
import inspect
import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Literal, cast

from .. import errors
from .._cut_short import CANCEL_MESSAGE
from ..events import Event, Handoff, ModelResponseEvent
from ..messages import ToolCallPart
from ._openai_items import (
    ItemHelpers,
    ModelResponse,
    RunItem,
    SDKResultMethods,
    call_output,
    function_call,
    handoff_output,
    output_items,
    responses,
    run_item,
)

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
    """A raw event from the model's stream, an ``openai.types.responses`` event as the SDK
    passes on: ``ResponseTextDeltaEvent`` (``response.output_text.delta``) for text,
    ``ResponseReasoningSummaryTextDeltaEvent`` (``response.reasoning_summary_text.delta``) for
    reasoning, ``ResponseOutputItemAddedEvent`` (``response.output_item.added``, its ``item`` a
    ``ResponseFunctionToolCall``) when a tool call opens, then
    ``ResponseFunctionCallArgumentsDeltaEvent`` (``response.function_call_arguments.delta``)
    for each piece of its arguments (``item_id`` is the call id, ``output_index`` the call's
    index in the answer); once the model has answered, a ``ResponseOutputItemDoneEvent``
    (``response.output_item.done``) for each item of the answer (reasoning, message, calls)."""

    data: Any
    type: str = "raw_response_event"


@dataclass(slots=True)
class RunItemStreamEvent:
    """A run item was created: ``name`` is ``tool_called``, ``tool_output``,
    ``message_output_created``, ``reasoning_item_created``, ``handoff_requested``,
    ``handoff_occured`` or ``tool_approval_requested``."""

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


def _delta(kind: str, name: str, event: Any, **fields: Any) -> Any:
    """The ``openai.types.responses`` delta event class ``kind`` for tether's ``event``."""
    made = getattr(responses(), kind)
    return made(type=name, delta=event.delta, item_id="", sequence_number=event.seq, **fields)


class _Items:
    """Turns tether's events into the SDK's stream events, one run's worth (it remembers the
    model's tool calls, for their arguments, and which of them are handoffs)."""

    def __init__(self, find_agent: Callable[[str], Any]) -> None:
        self._find = find_agent
        self._agents: dict[str, Any] = {}
        self._calls: dict[str, ToolCallPart] = {}
        self._handoffs: set[str] = set()
        self._streaming: dict[int, str] = {}  # index of a tool call streaming -> its call id
        #: The model's answers so far (``raw_responses``).
        self.responses: list[ModelResponse] = []

    def agent(self, name: str) -> Any:
        """The agent called ``name`` (its name when it cannot be found)."""
        if name not in self._agents:
            self._agents[name] = self._find(name) or name
        return self._agents[name]

    def _item(self, name: str, kind: str, agent: str, raw: Any, event: Event) -> RunItemStreamEvent:
        return RunItemStreamEvent(name, run_item(kind, self.agent(agent), raw, event))

    def translate(self, event: Event) -> list[StreamEvent]:
        """The SDK's stream events for one tether event (none for most bookkeeping events)."""
        kind = event.type
        agent = str(getattr(event, "agent", ""))
        call_id = str(getattr(event, "call_id", "") or "")
        if kind == "text_delta":
            text = _delta(
                "ResponseTextDeltaEvent",
                "response.output_text.delta",
                event,
                output_index=0,
                content_index=0,
                logprobs=[],
            )
            return [RawResponsesStreamEvent(text)]
        if kind == "tool_call_delta":
            return self._call_delta(event)
        if kind == "reasoning_delta":
            reasoning = _delta(
                "ResponseReasoningSummaryTextDeltaEvent",
                "response.reasoning_summary_text.delta",
                event,
                output_index=0,
                summary_index=0,
            )
            return [RawResponsesStreamEvent(reasoning)]
        if kind == "model_response":
            return self._response(cast("ModelResponseEvent", event))
        if call_id in self._handoffs and kind in ("tool_call_started", "tool_call_finished"):
            return []  # the SDK shows a handoff's call as the handoff items only
        if kind in ("tool_call_started", "approval_requested"):
            raw = function_call(call_id, str(event.tool_name), self._arguments(event))  # type: ignore[attr-defined]
            if kind == "approval_requested":
                return [
                    self._item("tool_approval_requested", "tool_approval_item", agent, raw, event)
                ]
            return [self._item("tool_called", "tool_call_item", agent, raw, event)]
        if kind == "tool_call_finished":
            raw = call_output(call_id, str(event.content))  # type: ignore[attr-defined]
            made = self._item("tool_output", "tool_call_output_item", agent, raw, event)
            made.item.output = getattr(event, "output", None)
            return [made]
        if kind == "handoff":
            return self._handoff(cast("Handoff", event))
        return []

    def _call_delta(self, event: Any) -> list[StreamEvent]:
        """A tool call opening (``response.output_item.added``) and the pieces of its
        arguments (``response.function_call_arguments.delta``)."""
        made: list[StreamEvent] = []
        module = responses()
        if event.tool_name is not None:  # the first piece: the call opens
            call_id = self._streaming[event.index] = event.call_id or ""
            item = function_call(call_id, event.tool_name, "", "in_progress")
            added = module.ResponseOutputItemAddedEvent(
                type="response.output_item.added",
                item=item,
                output_index=event.index,
                sequence_number=event.seq,
            )
            made.append(RawResponsesStreamEvent(added))
        if event.delta:
            delta = module.ResponseFunctionCallArgumentsDeltaEvent(
                type="response.function_call_arguments.delta",
                delta=event.delta,
                item_id=self._streaming.get(event.index, ""),
                output_index=event.index,
                sequence_number=event.seq,
            )
            made.append(RawResponsesStreamEvent(delta))
        return made

    def _arguments(self, event: Any) -> str:
        part = self._calls.get(event.call_id)
        return part.arguments if part is not None else json.dumps(event.args)

    def _response(self, event: ModelResponseEvent) -> list[StreamEvent]:
        self._streaming.clear()
        for part in event.parts:
            if isinstance(part, ToolCallPart):
                self._calls[part.call_id] = part
        raws = output_items(event.parts, event.response_id or f"msg_{event.turn}")
        self.responses.append(ModelResponse(raws, event.usage, event.response_id))
        done = responses().ResponseOutputItemDoneEvent
        made: list[StreamEvent] = [
            RawResponsesStreamEvent(
                done(
                    type="response.output_item.done",
                    item=raw,
                    output_index=index,
                    sequence_number=event.seq,
                )
            )
            for index, raw in enumerate(raws)
        ]
        for raw in raws:  # the calls are streamed as their tools start
            if raw.type == "reasoning":
                made.append(
                    self._item("reasoning_item_created", "reasoning_item", event.agent, raw, event)
                )
            elif raw.type == "message":
                made.append(
                    self._item(
                        "message_output_created", "message_output_item", event.agent, raw, event
                    )
                )
        return made

    def _handoff(self, event: Handoff) -> list[StreamEvent]:
        call_id = event.call_id or ""
        self._handoffs.add(call_id)
        part = self._calls.get(call_id)
        name = part.name if part is not None else f"transfer_to_{event.to_agent}"
        call = function_call(call_id, name, part.arguments if part is not None else "{}")
        requested = self._item(
            "handoff_requested", "handoff_call_item", event.from_agent, call, event
        )
        output = handoff_output(call_id, event.to_agent)
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


class RunResultStreaming(SDKResultMethods):
    """What ``Runner.run_streamed`` returns: iterate :meth:`stream_events`. As the stream goes,
    ``current_agent`` (also ``last_agent``), ``current_turn``, ``new_items`` and
    ``raw_responses`` grow; once it is done, the result's fields (``final_output``,
    ``to_input_list()``, ``final_output_as(cls)``, tether's ``usage``, ``state``, ...) are read
    from here too."""

    def __init__(
        self,
        events: Callable[[], AsyncIterator[Event]],
        find_agent: Callable[[str], Any],
        starting_agent: Any = None,
        on_error: Callable[[BaseException], BaseException] | None = None,
        max_turns: int | None = None,
        input: Any = None,
    ) -> None:
        self._events = events
        self._find_agent = find_agent
        self._on_error = on_error
        self._result: Any = None
        self._started = False
        self._cancel: Literal["none", "immediate", "after_turn"] = "none"
        self._stop_after = 0  # cancel(mode="after_turn"): the last turn to finish
        self._consumer: asyncio.Task[Any] | None = None
        self._waiting = False  # the consumer awaits the run's next event
        self._cut_in = False  # cancel() cancelled the consumer's wait
        self._ended = False
        self.is_complete = False
        #: The run's input, as given.
        self.input = input
        #: The agent running now: the starting agent, then each agent handed off to.
        self.current_agent = starting_agent
        #: The turn the run is on (0 before the first model call).
        self.current_turn = 0
        #: The run's turn limit.
        self.max_turns = max_turns
        #: The items streamed so far (each ``run_item_stream_event``'s item).
        self.new_items: list[RunItem] = []
        #: The model's answers so far.
        self.raw_responses: list[ModelResponse] = []

    @property
    def final_output(self) -> Any:
        """The final output (None until the stream is complete)."""
        return None if self._result is None else self._result.final_output

    @property
    def last_agent(self) -> Any:
        """The agent that ran last (``current_agent``): the one that answered, once done."""
        return self.current_agent

    def cancel(self, mode: Literal["immediate", "after_turn"] = "immediate") -> None:
        """Stop the run, as the SDK's ``cancel()``. ``"immediate"``: at once, a model call or
        tool in flight included (it is cancelled); :meth:`stream_events` yields nothing more
        and ends. ``"after_turn"``: the turn under way finishes (its model answer and tool
        calls), the next one does not start. The run ends ``cancelled``; ``final_output`` stays
        None."""
        if mode not in ("immediate", "after_turn"):
            raise errors.UserError(f"mode must be 'immediate' or 'after_turn', got {mode!r}")
        if mode == "after_turn":
            if self._cancel == "none":
                self._cancel, self._stop_after = "after_turn", max(self.current_turn, 1)
            return
        self._cancel = "immediate"
        consumer = self._consumer
        if self._waiting and consumer is not None and not consumer.done():
            try:
                here = asyncio.current_task()
            except RuntimeError:  # called outside the event loop
                here = None
            if here is not consumer:
                # the consumer waits on the run (a model call, a tool): stop the wait, which
                # stops the run where it stands (the run records its cancelled end)
                self._cut_in = True
                consumer.cancel(CANCEL_MESSAGE)

    def _cancelled_now(self) -> bool:
        return self._cancel == "immediate"

    def _stops_at(self, event: Event) -> bool:
        """Whether a cancel stops the stream before ``event``."""
        if self._cancel == "immediate":
            return True
        return (
            self._cancel == "after_turn"
            and event.type == "turn_started"
            and getattr(event, "turn", 0) > self._stop_after
        )

    async def _next(self, stream: AsyncIterator[Event]) -> Event | None:
        """The run's next event; None once the run's stream has ended (``_ended``), or when
        :meth:`cancel` cut the wait short (the run stopped there)."""
        self._waiting = True
        try:
            return await stream.__anext__()
        except StopAsyncIteration:
            self._ended = True
            return None
        except asyncio.CancelledError:
            self._ended = True
            task = self._consumer
            if not self._cut_in or task is None:
                raise
            self._cut_in = False
            if task.uncancel() > 0:  # cancelled by someone else too: that one goes on
                raise
            return None
        except BaseException:
            self._ended = True
            raise
        finally:
            self._waiting = False

    async def stream_events(self) -> AsyncIterator[StreamEvent]:
        """The run's stream events; raises the run's error (e.g. MaxTurnsExceeded) at the end
        of a run that failed."""
        if self._started:
            raise errors.UserError("stream_events() of a streamed run can be iterated only once")
        self._started = True
        if self._cancel == "immediate":
            self.is_complete = True
            return
        self._consumer = asyncio.current_task()
        if self.current_agent is not None:  # as the SDK does, the starting agent comes first
            yield AgentUpdatedStreamEvent(self.current_agent)
        items = _Items(self._find_agent)
        self.raw_responses = items.responses
        tripped: Any = None
        stream = self._events()
        self._ended = False  # the run's stream ended (or raised): nothing to close
        try:
            while not self._cancelled_now():
                event = await self._next(stream)
                if event is None:
                    break
                if self._stops_at(event):
                    break
                for item in items.translate(event):
                    if isinstance(item, AgentUpdatedStreamEvent):
                        self.current_agent = item.new_agent
                    elif isinstance(item, RunItemStreamEvent):
                        self.new_items.append(item.item)
                    yield item
                if event.type == "turn_started":
                    self.current_turn += 1
                elif event.type == "guardrail_tripped":
                    tripped = event
                elif event.type == "run_finished":
                    self._result = getattr(event, "result", None)
        finally:
            self.is_complete = True
            self._consumer = None
            if not self._ended:
                await self._close(stream)
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

    async def _close(self, stream: AsyncIterator[Event]) -> None:
        """Stop the run's stream where it stands: cancelled after :meth:`cancel`, else (the
        consumer left the loop) interrupted."""
        if self._cancel == "none":
            closing = getattr(stream, "aclose", None)
            if closing is not None:
                await closing()
            return
        throw = getattr(stream, "athrow", None)
        if throw is None:
            return
        try:
            await throw(asyncio.CancelledError(CANCEL_MESSAGE))
        except StopAsyncIteration:
            pass
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():  # this task is cancelled too
                raise
            # else: the run recorded its cancelled end and stopped

    def to_input_list(self) -> list[Any]:
        """The input and the new items as input items, to continue in a next run: the whole
        conversation once the run is complete; the input and the items streamed so far of a
        run stopped early (cancelled, or left)."""
        result = self._result
        if result is not None:
            return cast("list[Any]", result.to_input_list())
        items = [item.to_input_item() for item in self.new_items]
        return ItemHelpers.input_to_new_input_list(self.input) + items

    def __getattr__(self, name: str) -> Any:
        result = self.__dict__.get("_result")
        if result is None:
            raise AttributeError(f"{name!r}: the streamed run is not complete yet")
        return getattr(result, name)
