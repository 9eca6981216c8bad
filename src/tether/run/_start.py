"""Building a run: :func:`agent_fingerprint` identifies the agent that started a run, and the
smaller steps of a new run's setup (its policy, its redacted input, the refusal of a blocking
call inside an event loop). What a run was started
with is recorded by :mod:`tether.config._record`."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import RunConfig
from ..config._record import name_of
from ..errors import UserError
from ..messages import Message, Part, TextPart, ToolResultPart

if TYPE_CHECKING:
    from .._spec import AgentSpec
    from ..policies.base import Policy

__all__ = ["agent_fingerprint", "policy_of", "redacted", "refuse_inside_loop"]


def agent_fingerprint(agent: AgentSpec) -> str:
    """A short hash of what defines ``agent``: instructions, tools and their schemas, model,
    output schema and handoffs (not the code inside functions).

    Computed once per agent and tool set: an Agent is frozen, and registering a tool makes a
    new tool-spec list, which the cached fingerprint is checked against."""
    specs = agent.tool_specs()
    private: dict[str, Any] | None = getattr(agent, "__pydantic_private__", None)  # an Agent's
    cached = private.get("_fingerprint") if private is not None else None
    if cached is not None and cached[0] is specs:
        return str(cached[1])
    made = _fingerprint(agent, specs)
    if private is not None:
        private["_fingerprint"] = (specs, made)
    return made


def _fingerprint(agent: AgentSpec, specs: list[Any]) -> str:
    instructions: Any = agent.instructions
    if isinstance(instructions, Path):
        instructions = f"file:{instructions}"
    elif instructions is not None and not isinstance(instructions, str):
        instructions = f"function:{name_of(instructions)}"
    model: Any = agent.model
    if model is not None and not isinstance(model, str):
        model = name_of(model)
    schema = agent.output_schema
    described = {
        "name": agent.name,
        "instructions": instructions,
        "model": model,
        "tools": [[t.name, t.description, t.parameters] for t in specs],
        "output": schema.spec.schema if schema is not None else None,
        "handoffs": [
            h if isinstance(h, str) else name_of(getattr(h, "agent", h)) for h in agent.handoffs
        ],
    }
    text = json.dumps(described, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def policy_of(agent: AgentSpec, config: RunConfig) -> Policy | None:
    policy = config.policy if config.policy is not None else agent.policy
    if policy is None:
        return None
    from ..policies.base import Policy as PolicyBase

    if not isinstance(policy, PolicyBase):
        raise UserError(
            f"policy must be a tether.policies.Policy (e.g. ReActPolicy()), got {policy!r}"
        )
    return policy


def redacted(message: Message, redact: Callable[[str], str]) -> Message:
    """An input message with its text, and the tool results it carries (an earlier
    conversation given as input items), under the PII hook's ``redact``."""
    parts: list[Part] = []
    for p in message.parts:
        if isinstance(p, TextPart):
            p = TextPart(redact(p.text))
        elif isinstance(p, ToolResultPart):
            p = ToolResultPart(p.call_id, p.name, redact(p.content), p.is_error)
        parts.append(p)
    return Message(message.role, parts, message.agent)


def refuse_inside_loop(name: str) -> None:
    """A UserError when the blocking ``name()`` is called inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise UserError(
        f"{name}() cannot be called from a running event loop; use `await run()` instead"
    )
