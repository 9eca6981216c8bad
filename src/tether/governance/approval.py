"""Approval gate: make calls need a person's approval by policy, whatever the tool declares."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from ..context import Context

__all__ = ["ApprovalGateHook", "args_digest"]


def args_digest(args: Any) -> str:
    """The SHA-256 of a call's arguments in canonical JSON (sorted keys, no spaces): what an
    approval is bound to. Equal arguments give equal digests whatever their key order."""
    text = json.dumps(args, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


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
