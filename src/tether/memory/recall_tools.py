"""``remember`` and ``recall`` as tools an agent can be given, backed by a VectorMemory.

::

    agent = Agent("assistant", tools=memory_tools(VectorMemory(...), scope="user"))

The tools' calls and results are tool calls in the run's event log like any other, so a resumed
run does not remember twice (``remember`` is keyed by run and call, so a re-run after a crash
replaces rather than duplicates) and a replay serves the recorded recall. What embedding the fact
or the query cost (a priced embeddings endpoint) is a ``history_summarized`` event of the run,
counted in its usage and against ``max_cost``.
"""

from __future__ import annotations

from typing import Any, Literal

from .._summaries import SUMMARY_LOG, SummaryLog, summary_key
from ..context import Context
from ..errors import UserError
from ..events import HistorySummarized
from ..tools import Tool
from ..usage import Usage
from .embedders import Embeddings
from .vector import VectorMemory

__all__ = ["embedding_usage", "memory_tools", "record_embedding_spend", "scope_filters"]


def embedding_usage(batch: Embeddings | None) -> Usage:
    """What an embedding batch cost, as run usage: its tokens and cost, no model request."""
    if batch is None:
        return Usage(requests=0, cost=0.0)
    return Usage(requests=0, input_tokens=batch.input_tokens, cost=batch.cost)


def record_embedding_spend(
    ctx: Context[Any], what: str, batch: Embeddings, summary: str, count: int
) -> None:
    """Put what a memory tool's embedding cost in the run's log (so its usage counts it, and
    resume and replay see it); nothing when it was free (a local embedder, a cached text)."""
    log: SummaryLog | None = ctx.state.get(SUMMARY_LOG)
    if log is None or (batch.input_tokens == 0 and batch.cost == 0.0):
        return
    key = summary_key(f"memory-{what}\n{ctx.run_id}\n{ctx.tool_call_id}")
    if log.find(key) is None:
        log.record(
            HistorySummarized(
                key=key, summary=summary, usage=embedding_usage(batch), model=batch.model,
                agent=ctx.agent.name, messages=count,
            )
        )  # fmt: skip


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
        _, batch = await memory._add_many([fact], ids=[ident], **scope_filters(ctx, scope))
        record_embedding_spend(ctx, "remember", batch, fact, 1)
        return "remembered"

    async def recall(ctx: Context[Any], query: str) -> list[str]:
        """Recall remembered facts that match a question or topic.

        Args:
            query: What to look for.
        """
        hits, batch = await memory._search(query, k=k, kind="fact", **scope_filters(ctx, scope))
        texts = [hit.text for hit in hits]
        if batch is not None:
            record_embedding_spend(ctx, "recall", batch, "\n".join(texts), len(texts))
        return texts

    return [Tool(remember, name="remember"), Tool(recall, name="recall")]
