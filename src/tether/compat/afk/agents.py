"""``afk.agents`` under tether: the :class:`~tether.Agent` afk's examples import from there."""

from __future__ import annotations

from . import Agent, AgentResult

__all__ = ["Agent", "AgentResult"]
