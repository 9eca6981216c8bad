"""The OpenAI Agents SDK's run items, model responses and ``RunResult`` over tether's Result.

Both the streamed (:mod:`._openai_stream`) and the plain runs of the facade build their items
here, so ``result.new_items`` is the same list either way.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from .. import errors
from ..events import Event
from ..messages import Message, Part, ReasoningPart, RefusalPart, TextPart, ToolCallPart

__all__ = [
    "HandoffCallItem",
    "HandoffOutputItem",
    "ItemHelpers",
    "MessageOutputItem",
    "ModelResponse",
    "ReasoningItem",
    "RunItem",
    "RunResult",
    "ToolApprovalItem",
    "ToolCallItem",
    "ToolCallOutputItem",
]

T = TypeVar("T")


@functools.cache
def responses() -> Any:
    """``openai.types.responses``, imported on the first use (not with the module: routekitai's
    facade imports the stream module and needs no openai types); cached, as it is read for
    every streamed delta."""
    from openai.types import responses as module

    return module


@dataclass(slots=True)
class RunItem:
    """A run item, as the SDK's: ``type`` is ``message_output_item``, ``tool_call_item``,
    ``tool_call_output_item``, ``reasoning_item``, ``tool_approval_item``,
    ``handoff_call_item`` or ``handoff_output_item`` (each has its SDK class:
    :class:`MessageOutputItem`, ...); ``agent`` is the Agent that made it (its name when
    neither the handoffs nor the runner know it); ``raw_item`` is the Responses API item it
    stands for (a ``ResponseOutputMessage``, ``ResponseFunctionToolCall``,
    ``ResponseReasoningItem``, or a ``function_call_output`` dict); ``event`` is tether's event
    (None in the items of a run that was not streamed). A tool output item has ``output`` (what
    the tool returned), a handoff's output item ``source_agent`` and ``target_agent``."""

    type: str
    agent: Any
    raw_item: Any
    event: Event | None = None
    output: Any = None
    source_agent: Any = None
    target_agent: Any = None

    def to_input_item(self) -> dict[str, Any]:
        """The item as an input item for a next run (the SDK's ``to_input_item``)."""
        return as_input_item(self.raw_item)


def as_input_item(raw: Any) -> dict[str, Any]:
    """A Responses API item (a pydantic model or an input item dict) as an input item."""
    if isinstance(raw, dict):
        return raw
    return cast("dict[str, Any]", raw.model_dump(exclude_unset=True))


class MessageOutputItem(RunItem):
    """A message of the model (``raw_item``: a ``ResponseOutputMessage``)."""

    __slots__ = ()


class ToolCallItem(RunItem):
    """A tool call (``raw_item``: a ``ResponseFunctionToolCall``)."""

    __slots__ = ()


class ToolCallOutputItem(RunItem):
    """A tool's output (``raw_item``: a ``function_call_output`` dict; ``output``)."""

    __slots__ = ()


class ReasoningItem(RunItem):
    """The model's reasoning (``raw_item``: a ``ResponseReasoningItem``)."""

    __slots__ = ()


class ToolApprovalItem(RunItem):
    """A tool call waiting for approval (``raw_item``: a ``ResponseFunctionToolCall``)."""

    __slots__ = ()


class HandoffCallItem(RunItem):
    """The call that hands off to another agent (``raw_item``: a ``ResponseFunctionToolCall``)."""

    __slots__ = ()


class HandoffOutputItem(RunItem):
    """A handoff that took place (``source_agent``, ``target_agent``)."""

    __slots__ = ()


_KINDS: dict[str, type[RunItem]] = {
    "message_output_item": MessageOutputItem,
    "tool_call_item": ToolCallItem,
    "tool_call_output_item": ToolCallOutputItem,
    "reasoning_item": ReasoningItem,
    "tool_approval_item": ToolApprovalItem,
    "handoff_call_item": HandoffCallItem,
    "handoff_output_item": HandoffOutputItem,
}


def run_item(kind: str, agent: Any, raw: Any, event: Event | None = None) -> RunItem:
    """The SDK's item of type ``kind``."""
    return _KINDS[kind](kind, agent, raw, event)


@dataclass(slots=True)
class ModelResponse:
    """One answer of the model (the SDK's ``ModelResponse``): ``output`` holds its Responses API
    output items; ``usage`` and ``response_id`` are the provider's (None in a run that was not
    streamed: its Result's ``usage`` totals the run)."""

    output: list[Any]
    usage: Any = None
    response_id: str | None = None

    def to_input_items(self) -> list[dict[str, Any]]:
        """The output items as input items."""
        return [as_input_item(raw) for raw in self.output]


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

    @staticmethod
    def input_to_new_input_list(input: str | list[Any]) -> list[Any]:
        """A run's input as a new list of input items (a string is one user message)."""
        if isinstance(input, str):
            return [{"content": input, "role": "user"}]
        return copy.deepcopy(list(input))


def function_call(call_id: str, name: str, arguments: str, status: str = "completed") -> Any:
    """A ``ResponseFunctionToolCall``."""
    return responses().ResponseFunctionToolCall(
        type="function_call", call_id=call_id, name=name, arguments=arguments, status=status
    )


def call_output(call_id: str, output: str) -> dict[str, Any]:
    """A ``function_call_output`` input item."""
    return {"call_id": call_id, "output": output, "type": "function_call_output"}


def handoff_output(call_id: str, target: str) -> dict[str, Any]:
    """The ``function_call_output`` the SDK records for a handoff to ``target``."""
    return call_output(call_id, json.dumps({"assistant": target}))


def output_items(parts: Iterable[Part], message_id: str) -> list[Any]:
    """The Responses API output items of one model answer, in the SDK's order: its reasoning,
    its message (text and refusals), its function calls."""
    module = responses()
    reasoning: list[Any] = []
    content: list[Any] = []
    calls: list[Any] = []
    for part in parts:
        if isinstance(part, TextPart):
            content.append(
                module.ResponseOutputText(annotations=[], text=part.text, type="output_text")
            )
        elif isinstance(part, RefusalPart):
            content.append(module.ResponseOutputRefusal(refusal=part.refusal, type="refusal"))
        elif isinstance(part, ToolCallPart):
            calls.append(function_call(part.call_id, part.name, part.arguments))
        elif isinstance(part, ReasoningPart):
            summary = module.response_reasoning_item.Summary(text=part.text, type="summary_text")
            made = module.ResponseReasoningItem(
                id=f"rs_{message_id}_{len(reasoning)}", summary=[summary], type="reasoning"
            )
            reasoning.append(made)
    if content:
        message = module.ResponseOutputMessage(
            id=message_id, content=content, role="assistant", status="completed", type="message"
        )
        reasoning.append(message)
    return reasoning + calls


def _handoffs_of(agent: Any) -> dict[str, Any]:
    """The handoff tools of ``agent`` (an Agent; a name has none), by tool name."""
    listed = getattr(agent, "handoff_list", None)
    return {h.tool_name: h.agent for h in listed()} if listed is not None else {}


def items_of_result(
    messages: list[Message],
    outputs: dict[str, Any],
    agent_of: Callable[[str], Any],
    last_agent: str,
) -> tuple[list[RunItem], list[ModelResponse]]:
    """``new_items`` and ``raw_responses`` of a run that was not streamed, from its new
    messages (``outputs``: what each tool call returned, by call id)."""
    items: list[RunItem] = []
    responses_made: list[ModelResponse] = []
    calls: dict[str, tuple[Any, Any]] = {}  # call id -> (agent, handoff target or None)
    for index, message in enumerate(messages):
        if message.role == "assistant":
            agent = agent_of(message.agent or last_agent)
            handoffs = _handoffs_of(agent)
            raws = output_items(message.parts, f"msg_{index}")
            responses_made.append(ModelResponse(raws))
            for raw in raws:
                kind = {"message": "message_output_item", "reasoning": "reasoning_item"}.get(
                    raw.type, "tool_call_item"
                )
                if raw.type == "function_call":
                    target = handoffs.get(raw.name)
                    calls[raw.call_id] = (agent, target)
                    kind = "handoff_call_item" if target is not None else kind
                items.append(run_item(kind, agent, raw))
        elif message.role == "tool":
            for part in message.parts:
                call_id = getattr(part, "call_id", "")
                agent, target = calls.get(call_id, (agent_of(last_agent), None))
                if target is not None:
                    made = run_item(
                        "handoff_output_item", agent, handoff_output(call_id, target.name)
                    )
                    made.source_agent, made.target_agent = agent, target
                else:
                    raw = call_output(call_id, str(getattr(part, "content", "")))
                    made = run_item("tool_call_output_item", agent, raw)
                    made.output = outputs.get(call_id, raw["output"])
                items.append(made)
    return items, responses_made


class SDKResultMethods:
    """What the SDK's ``RunResult`` and ``RunResultStreaming`` share."""

    final_output: Any
    raw_responses: list[ModelResponse]

    def final_output_as(self, cls: type[T], raise_if_incorrect_type: bool = False) -> T:
        """The final output, typed as ``cls`` (checked with ``raise_if_incorrect_type``: a
        TypeError when it is not one, a UserError for a generic type isinstance cannot
        check)."""
        output = self.final_output
        if raise_if_incorrect_type:
            name = getattr(cls, "__name__", repr(cls))
            try:
                correct = isinstance(output, cls)
            except TypeError:
                raise errors.UserError(
                    f"final_output_as cannot check the generic type {name}: pass "
                    "raise_if_incorrect_type=False"
                ) from None
            if not correct:
                raise TypeError(f"Final output is not of type {name}")
        return cast("T", output)

    @property
    def last_response_id(self) -> str | None:
        """The id of the model's last response (None when the provider gave none)."""
        return self.raw_responses[-1].response_id if self.raw_responses else None


class RunResult(SDKResultMethods):
    """What ``Runner.run`` returns, as the SDK's: ``final_output``, ``last_agent`` (the Agent
    that answered), ``new_items``, ``raw_responses``, ``input``, ``context_wrapper``,
    ``to_input_list()``, ``final_output_as(cls)``, ``last_response_id``. Every other attribute
    is the tether :class:`~tether.Result`'s (``usage``, ``state``, ``run_id``, ...), and
    ``result.result`` is that Result itself. The items are built when first read."""

    def __init__(
        self, result: Any, input: Any, agent_of: Callable[[str], Any], context_wrapper: Any
    ) -> None:
        self.result = result
        #: The run's input, as given.
        self.input = input
        #: The run's context (``context=``) and usage.
        self.context_wrapper = context_wrapper
        self._agent_of = agent_of
        self._items: tuple[list[RunItem], list[ModelResponse]] | None = None

    @property
    def last_agent(self) -> Any:
        """The agent that answered last."""
        return self._agent_of(self.result.last_agent)

    @property
    def final_output(self) -> Any:
        """The output of the last agent."""
        return self.result.output

    def _built(self) -> tuple[list[RunItem], list[ModelResponse]]:
        if self._items is None:
            result = self.result
            outputs = {t.tool_call_id or "": t.output for t in result.tool_executions}
            self._items = items_of_result(
                result.new_messages, outputs, self._agent_of, result.last_agent
            )
        return self._items

    @property
    def new_items(self) -> list[RunItem]:
        """The items the run made: messages, reasoning, tool calls and outputs, handoffs."""
        return self._built()[0]

    @property
    def raw_responses(self) -> list[ModelResponse]:  # type: ignore[override]
        """The model's answers, one per model call."""
        return self._built()[1]

    def to_input_list(self) -> list[dict[str, Any]]:
        """The input and the new items as input items, to continue in a next run."""
        return cast("list[dict[str, Any]]", self.result.to_input_list())

    def __getattr__(self, name: str) -> Any:
        if name == "result":  # not set yet (copy, pickle): no recursion
            raise AttributeError(name)
        return getattr(self.result, name)

    def __repr__(self) -> str:
        return (
            f"RunResult(final_output={self.final_output!r}, last_agent={self.result.last_agent!r})"
        )

    def __str__(self) -> str:
        return str(self.result)
