"""The Model protocol and the neutral request/response types every provider maps to its wire."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeAlias, runtime_checkable

from ..messages import Message, Part, TextPart, ToolCallPart
from ..usage import Usage

if TYPE_CHECKING:
    from ..events import Event

__all__ = [
    "Model",
    "ModelRequest",
    "ModelResponse",
    "ModelSettings",
    "ModelStreamEvent",
    "OutputSpec",
    "ReasoningDelta",
    "TextDelta",
    "ToolCallDelta",
    "ToolSpec",
    "stream_items",
    "stream_response",
]


@dataclass(frozen=True, slots=True)
class ModelSettings:
    """Sampling and request settings. ``None`` means "the provider's default".

    Settings merge field by field: ``base.merge(override)`` keeps every field of ``override``
    that is set. The agent's settings are merged first, then the run config's.
    """

    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] | None = None
    seed: int | None = None
    parallel_tool_calls: bool | None = None
    tool_choice: Literal["auto", "required", "none"] | str | None = None
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None
    #: Seconds one model call may take before it is abandoned (and retried when allowed).
    timeout: float | None = None
    #: Provider fields passed through as they are (merged into the request body).
    extra: dict[str, Any] | None = None

    def merge(self, override: ModelSettings | None) -> ModelSettings:
        """These settings with every field that ``override`` sets taken from it."""
        if override is None:
            return self
        changes: dict[str, Any] = {}
        for f in fields(override):
            value = getattr(override, f.name)
            if value is None:
                continue
            if f.name == "extra" and self.extra:
                value = {**self.extra, **value}
            changes[f.name] = value
        return replace(self, **changes) if changes else self


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """What the model is told about one tool."""

    name: str
    description: str
    parameters: dict[str, Any]
    strict: bool = False


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """The structured output the run expects.

    ``mode`` is ``"tool"`` (the model calls the tool named ``name`` with the output as
    arguments), ``"native"`` (the provider's JSON-schema response format) or ``"text"`` (JSON in
    plain text, parsed by tether).
    """

    name: str
    schema: dict[str, Any]
    mode: Literal["tool", "native", "text"]
    description: str = "Give the final answer."
    #: True when the output type is not an object and was wrapped as ``{"response": value}``.
    wrapped: bool = False


@dataclass(slots=True)
class ModelRequest:
    """Everything a model needs for one call."""

    messages: list[Message]
    instructions: str | None = None
    tools: list[ToolSpec] = field(default_factory=list)
    output: OutputSpec | None = None
    settings: ModelSettings = field(default_factory=ModelSettings)
    #: Where the model runtime reports what it did (retries, fallbacks, cache hits).
    observer: Callable[[Event], None] | None = None

    def notify(self, event: Event) -> None:
        """Report a runtime event into the run's log (no-op outside a run)."""
        if self.observer is not None:
            self.observer(event)


@dataclass(slots=True)
class ModelResponse:
    """What the model answered: parts (text, tool calls, reasoning, refusal) plus accounting."""

    parts: list[Part]
    usage: Usage = field(default_factory=lambda: Usage(requests=1))
    model_name: str | None = None
    finish_reason: str | None = None
    response_id: str | None = None

    @property
    def text(self) -> str:
        """The concatenated text parts."""
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))

    @property
    def tool_calls(self) -> list[ToolCallPart]:
        """The tool-call parts, in order."""
        return [p for p in self.parts if isinstance(p, ToolCallPart)]


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the answer's text, as the provider streamed it."""

    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """A piece of reasoning text."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A piece of a tool call: the first carries id and name, later ones argument text."""

    index: int
    call_id: str | None = None
    name: str | None = None
    arguments: str = ""


ModelStreamEvent: TypeAlias = TextDelta | ReasoningDelta | ToolCallDelta | ModelResponse

# Deltas made for every piece of a stream: a frozen dataclass's __init__ sets each field through
# object.__setattr__, a call each; these fill the slots of a new instance directly (equal
# objects, tests/run/test_memory_stream.py).
_new = object.__new__
_set_text: Any = TextDelta.__dict__["text"].__set__
_set_index: Any = ToolCallDelta.__dict__["index"].__set__
_set_call_id: Any = ToolCallDelta.__dict__["call_id"].__set__
_set_name: Any = ToolCallDelta.__dict__["name"].__set__
_set_arguments: Any = ToolCallDelta.__dict__["arguments"].__set__


def _text_delta(text: str) -> TextDelta:
    """``TextDelta(text)``, made faster."""
    delta: TextDelta = _new(TextDelta)
    _set_text(delta, text)
    return delta


def _call_delta(
    index: int, call_id: str | None = None, name: str | None = None, arguments: str = ""
) -> ToolCallDelta:
    """``ToolCallDelta(index, call_id, name, arguments)``, made faster."""
    delta: ToolCallDelta = _new(ToolCallDelta)
    _set_index(delta, index)
    _set_call_id(delta, call_id)
    _set_name(delta, name)
    _set_arguments(delta, arguments)
    return delta


@runtime_checkable
class Model(Protocol):
    """A model tether can drive. ``stream`` yields deltas and ends with the ModelResponse."""

    @property
    def name(self) -> str:
        """``provider:model``, used in traces and prices."""
        ...

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Answer one request."""
        ...

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        """Answer one request as a stream; the last item is the complete ModelResponse."""
        ...


def stream_items(response: ModelResponse) -> Iterator[ModelStreamEvent]:
    """A complete response as the items a provider streams: words, then tool calls in two
    pieces, then the response itself."""
    return iter(_stream_list(response))


def _stream_list(response: ModelResponse) -> list[ModelStreamEvent]:
    """The items of :func:`stream_items`, made in one call (no frame per item)."""
    items: list[ModelStreamEvent] = []
    calls: list[ToolCallPart] | None = None
    for part in response.parts:
        if isinstance(part, TextPart):
            words = part.text.split(" ")
            last = words.pop()
            for word in words:
                text = _new(TextDelta)
                _set_text(text, word + " ")
                items.append(text)
            text = _new(TextDelta)
            _set_text(text, last)
            items.append(text)
        elif isinstance(part, ToolCallPart):
            if calls is None:
                calls = []
            calls.append(part)
    if calls is not None:  # after all the text, as a provider streams them
        for index, call in enumerate(calls):
            arguments = call.arguments
            half = len(arguments) // 2
            items.append(_call_delta(index, call.call_id, call.name, arguments[:half]))
            items.append(_call_delta(index, None, None, arguments[half:]))
    items.append(response)
    return items


async def stream_response(response: ModelResponse) -> AsyncIterator[ModelStreamEvent]:
    """Stream a complete response as a provider would: words, then tool calls in pieces."""
    for item in stream_items(response):
        yield item
