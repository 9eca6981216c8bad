"""Handoffs: an agent passes the conversation to another agent, which answers from there on."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .messages import Message
from .models.base import ToolSpec

if TYPE_CHECKING:
    from ._spec import AgentSpec

__all__ = ["Handoff", "handoff"]

InputFilter = Callable[[list[Message]], list[Message]]


def _default_tool_name(agent_name: str) -> str:
    return "transfer_to_" + (re.sub(r"[^a-zA-Z0-9_-]", "_", agent_name).lower() or "agent")


@dataclass(frozen=True, slots=True)
class Handoff:
    """A way for the current agent to pass control to ``agent`` by calling a tool."""

    agent: AgentSpec
    tool_name: str
    tool_description: str
    #: Edits the transcript the next agent sees (applied to the messages sent to its model).
    input_filter: InputFilter | None = None

    def spec(self) -> ToolSpec:
        """The tool the model calls to hand off."""
        return ToolSpec(self.tool_name, self.tool_description, {"type": "object", "properties": {}})


def handoff(
    agent: AgentSpec,
    *,
    tool_name: str | None = None,
    tool_description: str | None = None,
    input_filter: InputFilter | None = None,
) -> Handoff:
    """Describe a handoff to ``agent``, optionally naming its tool and filtering its input."""
    description = tool_description or (
        f"Hand the conversation to the {agent.name} agent."
        + (f" {agent.description}" if agent.description else "")
    )
    return Handoff(agent, tool_name or _default_tool_name(agent.name), description, input_filter)


def as_handoff(value: Any) -> Handoff:
    """A Handoff as it is, or an Agent wrapped with default naming."""
    return value if isinstance(value, Handoff) else handoff(value)
