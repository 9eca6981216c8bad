"""Stable step (activity) names, derived from agent and tool names only.

An engine matches a recovered workflow's calls to its recorded steps by order and name; the
names carry nothing that changes between processes (no ids, no addresses), so a recovered run
asks for the same steps in the same order under the same names.
"""

from __future__ import annotations

__all__ = ["model_step_name", "tool_step_name"]


def model_step_name(agent: str) -> str:
    """The step name of ``agent``'s model calls: ``tether.<agent>.model``."""
    return f"tether.{agent}.model"


def tool_step_name(agent: str, tool: str) -> str:
    """The step name of calls of ``agent``'s tool ``tool``: ``tether.<agent>.tool.<tool>``."""
    return f"tether.{agent}.tool.{tool}"
