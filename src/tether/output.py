"""Structured output: the schema a run's final answer must match, and its validation."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, Literal

from ._lazy_model import validation_error
from ._schema import model_schema, wrap_schema
from ._typeddicts import portable
from .errors import ModelBehaviorError, Retry, UserError
from .guardrails import check_guardrails
from .messages import Message, RefusalPart
from .models.base import OutputSpec

if TYPE_CHECKING:
    from pydantic import TypeAdapter, ValidationError

    from .context import Context
    from .events import Event
    from .guardrails import OutputGuardrail

__all__ = [
    "OutputMode",
    "OutputSchema",
    "OutputValidationError",
    "TextRejected",
    "accept_output",
    "text_output",
]

OutputMode = Literal["auto", "tool", "native", "text"]
FINAL_RESULT_TOOL = "final_result"
_FENCE_RE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


class OutputValidationError(Retry):
    """The model's output did not match the schema; ``message`` is sent back to it (a
    :class:`~tether.Retry`: the model is asked to answer again)."""


class TextRejected(OutputValidationError):
    """A text answer that cannot be the final output; ``reason`` says why (for the log)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _is_object_type(output_type: Any) -> bool:
    from pydantic import BaseModel  # loaded by the TypeAdapter built before this runs

    # typing.is_typeddict misses typing_extensions.TypedDict (which pydantic needs before 3.12)
    from typing_extensions import is_typeddict

    return (
        (isinstance(output_type, type) and issubclass(output_type, BaseModel))
        or dataclasses.is_dataclass(output_type)
        or is_typeddict(output_type)
    )


class OutputSchema:
    """Turns an output type into an :class:`OutputSpec` and validates answers against it."""

    __slots__ = ("_adapter", "output_type", "spec")

    def __init__(self, output_type: Any, mode: OutputMode) -> None:
        # a typing.TypedDict before 3.12 is rebuilt as one pydantic takes (same keys and types)
        from pydantic import TypeAdapter  # built per agent, not at `from tether import Agent`

        output_type = self.output_type = portable(output_type)
        try:
            self._adapter: TypeAdapter[Any] = TypeAdapter(output_type)
            schema = self._adapter.json_schema()
        except Exception as exc:
            raise UserError(
                f"output={output_type!r} is not a type pydantic can validate: {exc}"
            ) from exc
        wrapped = not _is_object_type(output_type)
        # Self-contained either way: every $ref resolves inside the schema that is sent.
        schema = wrap_schema(schema) if wrapped else model_schema(schema)
        resolved: Literal["tool", "native", "text"] = "tool" if mode == "auto" else mode
        name = getattr(output_type, "__name__", "output")
        description = _own_doc(output_type) if not wrapped else ""
        if not description:
            description = f"Give the final answer as {name}."
        self.spec = OutputSpec(
            name=FINAL_RESULT_TOOL,
            schema=schema,
            mode=resolved,
            description=description,
            wrapped=wrapped,
        )

    @property
    def mode(self) -> Literal["tool", "native", "text"]:
        """The resolved mode."""
        return self.spec.mode

    def validate_object(self, data: Any) -> Any:
        """Validate a decoded JSON object (tool arguments, or parsed text)."""
        if self.spec.wrapped:
            if not isinstance(data, dict) or "response" not in data:
                raise OutputValidationError(
                    'The final answer must be a JSON object of the form {"response": ...}.'
                )
            data = data["response"]
        try:
            return self._adapter.validate_python(data)
        except validation_error() as exc:  # evaluated only when validation failed
            raise OutputValidationError(_describe(exc)) from None

    def validate_text(self, text: str) -> Any:
        """Parse JSON text (fenced or not) and validate it."""
        body = text.strip()
        fenced = _FENCE_RE.match(body)
        if fenced:
            body = fenced.group(1)
        import json  # not at `from tether import Agent`

        try:
            data = json.loads(body)
        except json.JSONDecodeError as exc:
            raise OutputValidationError(
                f"The final answer must be JSON matching the schema; it did not parse ({exc.msg} "
                f"at line {exc.lineno} column {exc.colno}). Answer with the JSON only."
            ) from None
        except RecursionError:
            raise OutputValidationError(
                "The final answer must be JSON matching the schema; it is nested too deeply to "
                "parse. Answer with the JSON only."
            ) from None
        return self.validate_object(data)

    def dump(self, value: Any) -> Any:
        """The value as JSON-ready data (for the event log)."""
        return self._adapter.dump_python(value, mode="json")

    def load(self, data: Any) -> Any:
        """Rebuild the value from :meth:`dump` output."""
        return self._adapter.validate_python(data)

    def as_arguments(self, value: Any) -> dict[str, Any]:
        """The value as the arguments of the final-result tool."""
        data = self._adapter.dump_python(value, mode="json")
        return {"response": data} if self.spec.wrapped else data


def _own_doc(output_type: Any) -> str:
    """The docstring the user wrote on an output class; not one inherited or generated."""
    doc = (output_type.__dict__.get("__doc__") or "").strip()
    if dataclasses.is_dataclass(output_type) and doc.startswith(f"{output_type.__name__}("):  # type: ignore[union-attr]
        return ""  # dataclasses generate "Name(field: type, ...)" when there is no docstring
    return doc


def _describe(exc: ValidationError) -> str:
    lines = []
    for item in exc.errors(include_url=False):
        where = ".".join(str(p) for p in item["loc"]) or "(root)"
        lines.append(f"- {where}: {item['msg']}")
    return (
        "The final answer does not match the schema:\n"
        + "\n".join(lines)
        + "\nFix it and answer again."
    )


def text_output(schema: OutputSchema | None, message: Message) -> Any:
    """The final output a text answer gives: its text (a refusal's when it has none), or the
    value ``schema`` parses from it. TextRejected or OutputValidationError say what to tell the
    model; a refusal where a structured output was due is a ModelBehaviorError."""
    refusal = None
    for part in message.parts:  # (a loop, not a generator: every text answer comes here)
        if isinstance(part, RefusalPart):
            refusal = part.refusal
            break
    text = message.text
    if schema is None:
        if not text and refusal is None:
            raise TextRejected("empty response", "Your answer was empty. Give your final answer.")
        return text or refusal
    if refusal is not None:
        raise ModelBehaviorError(f"the model refused to give the output: {refusal}")
    if schema.mode == "tool":
        raise TextRejected(
            "text instead of the final_result tool",
            f"Give your final answer by calling the {schema.spec.name} tool.",
        )
    return schema.validate_text(text)


async def accept_output(
    ctx: Context[Any],
    value: Any,
    validators: Sequence[Callable[[Context[Any], Any], Any]],
    guardrails: Sequence[OutputGuardrail],
    record: Callable[[Event], object] | None = None,
) -> Any:
    """``value`` through the output validators (each returns it, maybe changed, or raises
    Retry), then checked by the output guardrails (OutputGuardrailTripwireTriggered on a trip;
    each check's event goes to ``record``, as a run logs them)."""
    for validator in validators:
        value = validator(ctx, value)
        if isinstance(value, Coroutine):  # what asyncio.iscoroutine tests, without asyncio
            value = await value
    await check_guardrails(ctx, value, guardrails, "output", record)
    return value
