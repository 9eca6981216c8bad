"""Approval gate: make calls need a person's approval by policy, whatever the tool declares."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from ..context import Context

__all__ = ["ApprovalGateHook"]


@dataclass(frozen=True)
class ApprovalGateHook:
    """Calls to the named ``tools`` (or all tools, when None and no predicate), or those the
    ``predicate`` picks, wait for approval exactly like ``needs_approval=True`` tools."""

    tools: Collection[str] | None = None
    predicate: Callable[[Context[Any], str, dict[str, Any]], bool] | None = None

    def requires(self, ctx: Context[Any], tool_name: str, args: dict[str, Any]) -> bool:
        """Whether this call needs approval."""
        if self.predicate is not None and self.predicate(ctx, tool_name, args):
            return True
        if self.tools is None:
            return self.predicate is None
        return tool_name in self.tools
