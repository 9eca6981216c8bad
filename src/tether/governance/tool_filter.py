"""Tool filter: which tools the model may see and call."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from ..context import Context

__all__ = ["ToolFilterHook"]

CallPredicate = Callable[[Context[Any], str, dict[str, Any]], bool]


@dataclass(frozen=True)
class ToolFilterHook:
    """Allow-list and deny-list of tool names, plus an optional per-call predicate.

    A tool left out is not shown to the model; a call to it anyway (or one the predicate
    refuses) is answered "not allowed by policy" instead of being run.
    """

    allow: Collection[str] | None = None
    deny: Collection[str] = ()
    allow_call: CallPredicate | None = None

    def shows(self, tool_name: str) -> bool:
        """Whether the tool is offered to the model at all."""
        if tool_name in self.deny:
            return False
        return self.allow is None or tool_name in self.allow

    def permits(self, ctx: Context[Any], tool_name: str, args: dict[str, Any]) -> bool:
        """Whether this call may run."""
        if not self.shows(tool_name):
            return False
        return self.allow_call is None or self.allow_call(ctx, tool_name, args)
