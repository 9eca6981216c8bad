"""Models for tests: scripted (FakeModel), programmable (FunctionModel) and automatic (TestModel).

None of them touches the network. All three stream too: text arrives word by word and tool-call
arguments in two pieces, so streaming code is exercised exactly as with a real provider.
"""

from __future__ import annotations

import inspect
import json
import math
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from ..errors import UserError
from ..messages import Message, Part, TextPart, ToolCallPart, ToolResultPart
from ..usage import Usage
from ._memory_stream import MemoryStream
from .base import (
    ModelRequest,
    ModelResponse,
    ModelSettings,
    ModelStreamEvent,
    OutputSpec,
    ToolSpec,
)

__all__ = ["AgentInfo", "FakeModel", "FunctionModel", "TestModel"]

ToolCallScript: TypeAlias = tuple[str, dict[str, Any] | str]


def _prompt_chars(part: Part) -> int:
    kind = type(part)  # the common parts first: this runs for every part of every request
    if kind is TextPart:
        return len(part.text)  # type: ignore[union-attr]
    if kind is ToolResultPart:
        return len(part.content)  # type: ignore[union-attr]
    if kind is ToolCallPart:
        return len(part.arguments)  # type: ignore[union-attr]
    return len(
        getattr(part, "text", "") or getattr(part, "content", "") or getattr(part, "arguments", "")
    )


def _answer_chars(part: Part) -> int:
    kind = type(part)
    if kind is TextPart:
        return len(part.text)  # type: ignore[union-attr]
    if kind is ToolCallPart:
        return len(part.arguments)  # type: ignore[union-attr]
    return len(getattr(part, "text", "") or getattr(part, "arguments", ""))


def _usage_for(request: ModelRequest, parts: Sequence[Part], cost: float | None) -> Usage:
    prompt = 0
    for message in request.messages:
        for part in message.parts:
            prompt += _prompt_chars(part)
    answer = 0
    for part in parts:
        answer += _answer_chars(part)
    return Usage(requests=1, input_tokens=prompt // 4 + 1, output_tokens=answer // 4 + 1, cost=cost)


def _next_call_prefix(request: ModelRequest) -> str:
    turn = 1
    for m in request.messages:
        if m.role == "assistant":
            turn += 1
    return f"call_{turn}_"


def _tool_call(prefix: str, index: int, name: str, args: dict[str, Any] | str) -> ToolCallPart:
    arguments = args if isinstance(args, str) else json.dumps(args)
    return ToolCallPart(f"{prefix}{index}", name, arguments)


def _scripted_text(text: Any, where: str) -> str:
    if not isinstance(text, str):
        raise UserError(f"{where} takes the answer's text (a str), got {type(text).__name__}")
    return text


def _scripted_calls(calls: Any, where: str) -> list[Part]:
    """Scripted (name, args) pairs as tool-call parts (ids numbered per turn later)."""
    if isinstance(calls, str | bytes) or not isinstance(calls, Sequence) or not calls:
        raise UserError(f"{where} needs a list of at least one (name, args) pair, got {calls!r}")
    parts: list[Part] = []
    for pair in calls:
        if not isinstance(pair, tuple | list) or len(pair) != 2 or not isinstance(pair[0], str):
            raise UserError(f"{where}: each call is a (name, args) pair, got {pair!r}")
        name, args = pair
        if not isinstance(args, dict | str):
            raise UserError(
                f"{where}: the arguments of {name!r} are a dict or raw JSON text, got {args!r}"
            )
        parts.append(ToolCallPart("", name, args if isinstance(args, str) else json.dumps(args)))
    return parts


@dataclass(slots=True)
class _Output:
    value: Any


class FakeModel:
    """A scripted model: each call answers with the next scripted response.

    ``cost_per_call`` (USD) is reported as the cost of each response so budgets can be tested.
    Every request received is kept in :attr:`requests`. Running out of script is an error that
    names the turn; :meth:`assert_exhausted` checks nothing was left unused.
    """

    def __init__(self, name: str = "fake", cost_per_call: float = 0.0) -> None:
        self._name = name
        self.cost_per_call = cost_per_call
        self._script: deque[list[Part] | _Output | BaseException] = deque()
        self.requests: list[ModelRequest] = []

    @property
    def name(self) -> str:
        """The model's name."""
        return self._name

    def add_response(self, text: str) -> FakeModel:
        """Script a final text answer."""
        self._script.append([TextPart(_scripted_text(text, "add_response"))])
        return self

    def add_tool_call(self, name: str, args: dict[str, Any] | str | None = None) -> FakeModel:
        """Script one tool call (``args`` may be a raw string, e.g. to test malformed JSON)."""
        return self.add_tool_calls([(name, {} if args is None else args)])

    def add_tool_calls(self, calls: Sequence[ToolCallScript]) -> FakeModel:
        """Script one turn with several (parallel) tool calls."""
        self._script.append(_scripted_calls(calls, "add_tool_calls"))
        return self

    def add_output(self, value: Any) -> FakeModel:
        """Script a final structured answer, shaped for whatever output mode the run uses."""
        self._script.append(_Output(value))
        return self

    def add_error(self, error: BaseException) -> FakeModel:
        """Script a failing call (the error is raised from the model call)."""
        self._script.append(error)
        return self

    @property
    def remaining(self) -> int:
        """How many scripted responses are left."""
        return len(self._script)

    def assert_exhausted(self) -> None:
        """Fail when scripted responses were left unused."""
        if self._script:
            raise AssertionError(
                f"FakeModel {self._name!r} has {len(self._script)} unused responses"
            )

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Answer with the next scripted response."""
        self.requests.append(request)
        if not self._script:
            turn = sum(1 for m in request.messages if m.role == "assistant") + 1
            raise UserError(
                f"FakeModel {self._name!r} has no scripted response left for turn {turn} "
                f"(it answered {len(self.requests) - 1} requests); add one with add_response()"
            )
        step = self._script.popleft()
        if isinstance(step, BaseException):
            raise step
        prefix = _next_call_prefix(request)
        if isinstance(step, _Output):
            parts = _output_parts(request.output, step.value, prefix)
        else:
            parts = [
                ToolCallPart(f"{prefix}{i}", p.name, p.arguments)
                if isinstance(p, ToolCallPart)
                else p
                for i, p in enumerate(step)
            ]
        return ModelResponse(
            parts,
            _usage_for(request, parts, self.cost_per_call),
            self._name,
            "tool_calls" if any(isinstance(p, ToolCallPart) for p in parts) else "stop",
        )

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        """Stream the next scripted response."""
        return MemoryStream(self.request(request))


def _output_parts(output: OutputSpec | None, value: Any, prefix: str) -> list[Part]:
    from pydantic_core import to_jsonable_python

    data = to_jsonable_python(value)
    if output is None:
        return [TextPart(data if isinstance(data, str) else json.dumps(data))]
    if output.wrapped:
        data = {"response": data}
    if output.mode == "tool":
        return [ToolCallPart(f"{prefix}0", output.name, json.dumps(data))]
    return [TextPart(json.dumps(data))]


@dataclass(frozen=True, slots=True)
class AgentInfo:
    """What a FunctionModel's function is told besides the messages."""

    tools: list[ToolSpec]
    output: OutputSpec | None
    settings: ModelSettings
    instructions: str | None


FunctionResult: TypeAlias = str | ModelResponse
ModelFunction: TypeAlias = Callable[
    [list[Message], AgentInfo], FunctionResult | Awaitable[FunctionResult]
]


class FunctionModel:
    """A model whose answers come from a Python function ``fn(messages, info)``.

    The function returns a ``str`` (a final text) or a response built with
    :meth:`text`, :meth:`tool_call` or :meth:`tool_calls`. It may be sync or async.
    """

    def __init__(
        self, fn: ModelFunction, *, name: str = "function", cost_per_call: float = 0.0
    ) -> None:
        self.fn = fn
        self._name = name
        self.cost_per_call = cost_per_call

    @property
    def name(self) -> str:
        """The model's name."""
        return self._name

    @staticmethod
    def text(text: str) -> ModelResponse:
        """A final text answer."""
        return ModelResponse([TextPart(_scripted_text(text, "FunctionModel.text"))])

    @staticmethod
    def tool_call(name: str, args: dict[str, Any] | str | None = None) -> ModelResponse:
        """One tool call."""
        return FunctionModel.tool_calls([(name, {} if args is None else args)])

    @staticmethod
    def tool_calls(calls: Sequence[ToolCallScript]) -> ModelResponse:
        """Several tool calls in one turn."""
        # Ids are left empty here and numbered per turn in request(), so each call has its own.
        return ModelResponse(_scripted_calls(calls, "FunctionModel.tool_calls"))

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Ask the function."""
        info = AgentInfo(request.tools, request.output, request.settings, request.instructions)
        answer = self.fn(request.messages, info)
        kind = type(answer)
        if kind is not str and kind is not ModelResponse and inspect.isawaitable(answer):
            answer = await answer
        if isinstance(answer, str):
            parts: list[Part] = [TextPart(answer)]
        elif isinstance(answer, ModelResponse):
            parts = list(answer.parts)
        else:
            raise UserError(
                "FunctionModel function must return a str or a ModelResponse, "
                f"got {type(answer).__name__}"
            )
        prefix: str | None = None  # counted only when a call has no id of its own
        calls = False
        for i, p in enumerate(parts):
            if isinstance(p, ToolCallPart):
                calls = True
                call_id = p.call_id
                if not call_id:
                    prefix = prefix if prefix is not None else _next_call_prefix(request)
                    call_id = f"{prefix}{i}"
                parts[i] = ToolCallPart(call_id, p.name, p.arguments)
        return ModelResponse(
            parts,
            _usage_for(request, parts, self.cost_per_call),
            self._name,
            "tool_calls" if calls else "stop",
        )

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        """Ask the function, and stream its answer."""
        return MemoryStream(self.request(request))


class TestModel:
    """Calls every tool once with arguments valid for its schema, then answers.

    The answer is a summary of the tool results as text, or, when the run wants structured
    output, a value generated to match the output schema.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, *, name: str = "test", custom_output_text: str | None = None) -> None:
        self._name = name
        self.custom_output_text = custom_output_text
        self.requests: list[ModelRequest] = []

    @property
    def name(self) -> str:
        """The model's name."""
        return self._name

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Call the tools (first turn), then answer."""
        self.requests.append(request)
        prefix = _next_call_prefix(request)
        # Tools are called once per user request: count tool results after the latest user message.
        last_user = max((i for i, m in enumerate(request.messages) if m.role == "user"), default=-1)
        called = any(m.role == "tool" for m in request.messages[last_user + 1 :])
        parts: list[Part]
        output_tool = request.output.name if request.output is not None else None
        tools = [spec for spec in request.tools if spec.name != output_tool]
        if tools and not called:
            parts = [
                _tool_call(prefix, i, spec.name, schema_example(spec.parameters))
                for i, spec in enumerate(tools)
            ]
        elif request.output is not None:
            value = schema_example(request.output.schema)
            if request.output.mode == "tool":
                parts = [_tool_call(prefix, 0, request.output.name, value)]
            else:
                parts = [TextPart(json.dumps(value))]
        else:
            results = [
                f"{r.name}: {r.content}"
                for m in request.messages[last_user + 1 :]
                if m.role == "tool"
                for r in m.tool_results
            ]
            text = self.custom_output_text or (
                "tool results: " + "; ".join(results) if results else "success (no tool calls)"
            )
            parts = [TextPart(text)]
        return ModelResponse(
            parts,
            _usage_for(request, parts, 0.0),
            self._name,
            "tool_calls" if any(isinstance(p, ToolCallPart) for p in parts) else "stop",
        )

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        """Stream what :meth:`request` answers."""
        return MemoryStream(self.request(request))


def schema_example(
    schema: dict[str, Any], defs: dict[str, Any] | None = None, _depth: int = 0
) -> Any:
    """A value that satisfies a (simple) JSON schema, for TestModel.

    References resolve against the root's ``$defs``; a reference that resolves nowhere is a
    UserError naming it. Recursive schemas end: past a few levels an optional branch is None.
    """
    defs = defs if defs is not None else schema.get("$defs", {})
    deep = _depth > _MAX_DEPTH
    if "$ref" in schema:
        ref = schema["$ref"]
        target = defs.get(ref.rsplit("/", 1)[-1]) if isinstance(ref, str) else None
        if target is None:
            raise UserError(
                f"schema reference {ref!r} resolves nowhere in the schema (its $defs: "
                f"{sorted(defs) or 'none'}): the schema is not self-contained"
            )
        return schema_example(target, defs, _depth + 1)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            nulls = [s for s in schema[key] if s.get("type") == "null"]
            if deep and nulls:
                return None
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return schema_example(options[0], defs, _depth + 1)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties", {})
        required = schema.get("required", list(props))
        return {
            name: schema_example(props[name], defs, _depth + 1)
            for name in required
            if name in props
        }
    if kind == "array":
        if "prefixItems" in schema:  # a tuple
            return [schema_example(item, defs, _depth + 1) for item in schema["prefixItems"]]
        minimum = schema.get("minItems", 0)
        return [schema_example(schema.get("items", {}), defs, _depth + 1) for _ in range(minimum)]
    if kind == "string":
        example = _STRING_FORMATS.get(schema.get("format", ""))
        if example is None and isinstance(schema.get("pattern"), str):
            from ._pattern import pattern_example

            example = pattern_example(
                schema["pattern"], schema.get("minLength", 0), schema.get("maxLength")
            )
        return example if example is not None else "a" * max(1, schema.get("minLength", 1))
    if kind in ("integer", "number"):
        return _number_example(schema, integer=kind == "integer")
    if kind == "boolean":
        return False
    return None


_MAX_DEPTH = 8
_STRING_FORMATS = {
    "date": "2024-01-01",
    "date-time": "2024-01-01T00:00:00Z",
    "time": "00:00:00",
    "duration": "PT1S",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "email": "user@example.com",
    "uri": "https://example.com/",
    "ipv4": "127.0.0.1",
    "ipv6": "::1",
}


def _number_example(schema: dict[str, Any], *, integer: bool) -> int | float:
    """A number within the schema's bounds (inclusive and exclusive) and a multiple of its step."""
    low, high = schema.get("minimum"), schema.get("maximum")
    above, below = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if integer:  # exclusive integer bounds are inclusive ones one step in
        above = None if above is None else math.floor(above) + 1
        below = None if below is None else math.ceil(below) - 1
        low = above if low is None else (low if above is None else max(low, above))
        high = below if high is None else (high if below is None else min(high, below))
        value: float = low if low is not None else (min(0, high) if high is not None else 0)
    else:
        floors = [b for b in (low, above) if b is not None]
        ceilings = [b for b in (high, below) if b is not None]
        floor = max(floors) if floors else None
        ceiling = min(ceilings) if ceilings else None
        if floor is not None and ceiling is not None:
            value = (floor + ceiling) / 2  # strictly inside, whichever bounds are exclusive
        elif floor is not None:
            value = floor + (1 if above is not None and floor == above else 0)
        elif ceiling is not None:
            value = min(0.0, ceiling - 1)
        else:
            value = 0.0
    step = schema.get("multipleOf")
    if step:
        value = math.ceil(value / step) * step
    return math.ceil(value) if integer else float(value)
