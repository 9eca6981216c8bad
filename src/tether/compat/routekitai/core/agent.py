"""``routekitai.core.agent``: the routekitai :class:`~tether.compat.routekitai.Agent`."""

from __future__ import annotations

from .. import DEFAULT_TRACE_DIR, Agent, Message, RunResult

__all__ = ["DEFAULT_TRACE_DIR", "Agent", "Message", "RunResult"]
