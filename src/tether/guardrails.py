"""Guardrails: checks that run on a run's input or final output and can stop the run."""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .context import Context
from .errors import InputGuardrailTripwireTriggered, OutputGuardrailTripwireTriggered

if TYPE_CHECKING:
    from .events import Event

__all__ = [
    "GuardrailResult",
    "InputGuardrail",
    "OutputGuardrail",
    "check_guardrails",
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


async def check_guardrails(
    ctx: Context[Any],
    value: Any,
    guardrails: Sequence[_Guardrail[Any]],
    kind: str,
    record: Callable[[Event], object] | None = None,
) -> None:
    """Check ``value`` with each guardrail in turn; each check is an event handed to ``record``
    (``guardrail_passed`` or ``guardrail_tripped``: the log shows every guardrail that ran), and
    the first trip raises the ``kind`` tripwire error (the later guardrails do not run)."""
    from .events import GuardrailPassed, GuardrailTripped  # (the log format: loaded on use)

    record = record or _ignore
    for guardrail in guardrails:
        started = time.perf_counter()
        verdict = await guardrail.check(ctx, value)
        ms = (time.perf_counter() - started) * 1000
        name, info = guardrail.name, verdict.info
        if verdict.tripwire_triggered:
            record(GuardrailTripped(guardrail=name, kind=kind, info=info, latency_ms=ms))
            if kind == "input":
                raise InputGuardrailTripwireTriggered(name, info)
            raise OutputGuardrailTripwireTriggered(name, info)
        record(GuardrailPassed(guardrail=name, kind=kind, info=info, latency_ms=ms))


def _ignore(event: Event) -> None:
    pass
