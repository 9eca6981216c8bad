"""``remember`` and ``recall`` as tools an agent can be given, backed by a VectorMemory.

::

    agent = Agent("assistant", tools=memory_tools(VectorMemory(...), scope="user"))

The tools' calls and results are tool calls in the run's event log like any other, so a resumed
run does not remember twice (``remember`` is keyed by run and call, so a re-run after a crash
replaces rather than duplicates) and a replay serves the recorded recall.
"""

from __future__ import annotations

from typing import Any, Literal

from ..context import Context
from ..errors import UserError
from ..tools import Tool
from .vector import VectorMemory

__all__ = ["memory_tools", "scope_filters"]

MemoryScope = Literal["agent", "thread", "user"]


def scope_filters(ctx: Context[Any], scope: str) -> dict[str, Any]:
    """The VectorMemory filters of a scope, for the agent running ``ctx``: ``"agent"``,
    ``"thread"``, ``"user"`` (``deps.user_id`` or ``deps["user_id"]``) or ``"all"``."""
    if scope == "all":
        return {}
    if scope == "thread":
        return {"agent": ctx.agent.name, "thread_id": ctx.thread_id}
    if scope == "user":
        deps = ctx.deps
        user = getattr(deps, "user_id", None)
        if user is None and isinstance(deps, dict):
            user = deps.get("user_id")
        if user is None:
            raise UserError("memory scope 'user' needs deps with a user_id (attribute or key)")
        return {"user_id": str(user)}
    return {"agent": ctx.agent.name}


def memory_tools(
    memory: VectorMemory, *, scope: MemoryScope = "agent", k: int = 5
) -> list[Tool[Any]]:
    """Two tools, ``remember(fact)`` and ``recall(query)``, scoped per agent, thread or user."""
    if scope not in ("agent", "thread", "user"):
        raise UserError(f"scope must be 'agent', 'thread' or 'user', not {scope!r}")

    async def remember(ctx: Context[Any], fact: str) -> str:
        """Remember a fact for later conversations.

        Args:
            fact: The fact, as one self-contained sentence.
        """
        ident = f"{ctx.run_id}:{ctx.tool_call_id}"
        await memory.add(fact, id=ident, **scope_filters(ctx, scope))
        return "remembered"

    async def recall(ctx: Context[Any], query: str) -> list[str]:
        """Recall remembered facts that match a question or topic.

        Args:
            query: What to look for.
        """
        hits = await memory.search(query, k=k, kind="fact", **scope_filters(ctx, scope))
        return [hit.text for hit in hits]

    return [Tool(remember, name="remember"), Tool(recall, name="recall")]
