"""Every agent a run can reach: handoff targets, agents run as tools, a policy's workers.

A durable engine names each model call and tool call after its agent, and a Temporal worker
registers the activities of every agent a workflow's run may call, so both walk the same graph.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, cast

from ._errors import DurableEngineError

if TYPE_CHECKING:
    from .._spec import AgentSpec
    from ..agent import Agent
    from ..tools import Tool

__all__ = ["reachable_agents", "tools_of"]


def tools_of(agent: AgentSpec) -> list[Tool[Any]]:
    """``agent``'s own tools, then the ones its policy adds."""
    tools = list(agent.tools_map.values())
    policy = agent.policy
    if policy is not None:
        tools.extend(policy.tools(agent))
    return tools


def _neighbours(agent: Agent) -> Iterator[Agent]:
    # the engine types them by its AgentSpec; an Agent's handoffs and subagents are Agents
    for spec in agent.handoff_list():
        yield cast("Agent", spec.agent)
    for found in tools_of(agent):
        if found.subagent is not None:
            yield cast("Agent", found.subagent)


def reachable_agents(roots: Iterable[Agent]) -> dict[str, Agent]:
    """The agents reachable from ``roots``, by name; two different agents of one name are a
    DurableEngineError (their steps would share names)."""
    found: dict[str, Agent] = {}
    stack = list(roots)
    while stack:
        agent = stack.pop()
        known = found.get(agent.name)
        if known is agent:
            continue
        if known is not None:
            raise DurableEngineError(
                f"two different agents are named {agent.name!r}: step and activity names come "
                "from agent names, so the agents a run can reach must have names of their own"
            )
        found[agent.name] = agent
        stack.extend(_neighbours(agent))
    return found
