"""The error raised when a run cannot be durable under the chosen engine."""

from __future__ import annotations

from ..errors import UserError

__all__ = ["DurableEngineError"]


class DurableEngineError(UserError):
    """A run cannot be made durable under the chosen engine (raised at start, never silently
    running without durability): e.g. not inside a workflow, or a feature not supported yet."""
