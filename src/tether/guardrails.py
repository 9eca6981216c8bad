"""Guardrails: checks that run on a run's input or final output and can stop the run."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .context import Context

__all__ = [
    "GuardrailResult",
    "InputGuardrail",
    "OutputGuardrail",
    "input_guardrail",
    "output_guardrail",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class GuardrailResult:
    """What a guardrail decided. ``tripwire_triggered=True`` stops the run."""

    tripwire_triggered: bool
    info: Any = None


GuardrailFunction = Callable[
    [Context[Any], T], GuardrailResult | bool | Awaitable[GuardrailResult | bool]
]


class _Guardrail(Generic[T]):
    kind = "guardrail"

    def __init__(self, fn: GuardrailFunction[T], name: str | None = None) -> None:
        self.fn = fn
        self.name: str = name or str(getattr(fn, "__name__", self.kind))

    async def check(self, ctx: Context[Any], value: T) -> GuardrailResult:
        """Run the guardrail; a bare bool return means "tripped" when True."""
        verdict = self.fn(ctx, value)
        if inspect.isawaitable(verdict):
            verdict = await verdict
        if isinstance(verdict, bool):
            return GuardrailResult(verdict)
        return verdict

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class InputGuardrail(_Guardrail[str]):
    """Checks the run's input text (the new user input) before the first model call."""

    kind = "input"


class OutputGuardrail(_Guardrail[Any]):
    """Checks the run's final output before it is accepted."""

    kind = "output"


def input_guardrail(fn: GuardrailFunction[str]) -> InputGuardrail:
    """Decorator: make an :class:`InputGuardrail` from ``fn(ctx, input_text)``."""
    return InputGuardrail(fn)


def output_guardrail(fn: GuardrailFunction[Any]) -> OutputGuardrail:
    """Decorator: make an :class:`OutputGuardrail` from ``fn(ctx, output)``."""
    return OutputGuardrail(fn)
