"""The SDK's ``RunContextWrapper``, and tools whose first parameter takes it."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, get_origin, get_type_hints

from ...context import Context

__all__ = ["RunContextWrapper", "with_context_wrapper"]

TContext = TypeVar("TContext")


@dataclass
class RunContextWrapper(Generic[TContext]):
    """What an SDK tool or guardrail receives: ``context`` (the run's ``context=``, tether's
    ``ctx.deps``) and ``usage``."""

    context: TContext
    usage: Any = None


def _wants_wrapper(fn: Callable[..., Any]) -> str | None:
    """The name of ``fn``'s first parameter when it is annotated ``RunContextWrapper``."""
    try:
        params = list(inspect.signature(fn).parameters.values())
        hints = get_type_hints(fn)
    except (TypeError, ValueError, NameError):
        return None  # the tool's own checks report what is wrong with it
    if not params:
        return None
    first = hints.get(params[0].name)
    if first is RunContextWrapper or get_origin(first) is RunContextWrapper:
        return params[0].name
    return None


def with_context_wrapper(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` itself, or, when its first parameter takes a ``RunContextWrapper``, a function
    taking tether's :class:`~tether.Context` there instead (injected, hidden from the model)
    that calls ``fn`` with the wrapper."""
    name = _wants_wrapper(fn)
    if name is None:
        return fn
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def adapted(ctx: Context[Any], *args: Any, **kwargs: Any) -> Any:
            return await fn(RunContextWrapper(ctx.deps, ctx.usage), *args, **kwargs)

    else:

        @functools.wraps(fn)
        def adapted(ctx: Context[Any], *args: Any, **kwargs: Any) -> Any:
            return fn(RunContextWrapper(ctx.deps, ctx.usage), *args, **kwargs)

    signature = inspect.signature(fn)
    first, *rest = signature.parameters.values()
    adapted.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[first.replace(annotation=Context), *rest]
    )
    adapted.__annotations__ = {**get_type_hints(fn), name: Context}
    del adapted.__wrapped__  # the schema is read from the adapted signature, not fn's
    return adapted
