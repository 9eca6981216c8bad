"""How an agent reaches a worker: by import path (``"package.module:attribute"``) or pickled."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from ..errors import UserError

__all__ = ["AgentRef", "Progress", "load_agent"]

#: An Agent, or the import path of one ("package.module:attribute").
AgentRef = Any
#: Called as each run ends: (index of the input, the run's Result, how many are done).
Progress = Callable[[int, Any, int], None]


def load_agent(ref: Any) -> Any:
    """The Agent named by ``ref`` (an import path), or ``ref`` itself when it is an Agent.

    An import path is the portable way: each worker imports the agent from its own copy of the
    code, so tools, closures and models are the worker's own. An Agent object travels pickled
    (Ray uses cloudpickle), which works when its tools and model can be pickled; module-level
    functions are pickled by reference and must be importable on the workers too.
    """
    from ..agent import Agent

    if isinstance(ref, Agent):
        return ref
    if not isinstance(ref, str) or ":" not in ref:
        raise UserError(
            f"an agent is an Agent or an import path 'package.module:attribute', not {ref!r}"
        )
    module_name, _, attribute = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UserError(f"cannot import {module_name!r} for agent {ref!r}: {exc}") from exc
    value: Any = module
    for part in attribute.split("."):
        value = getattr(value, part, None)
        if value is None:
            raise UserError(f"{module_name!r} has no attribute {attribute!r} (agent {ref!r})")
    if not isinstance(value, Agent):
        raise UserError(f"{ref!r} is a {type(value).__name__}, not a tether Agent")
    return value
