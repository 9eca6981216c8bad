"""Automatic recall: before each model request, the memories that match the conversation.

::

    agent = Agent("assistant", history=MemoryRecall(memory, scope="user", k=3, max_tokens=300))

``MemoryRecall`` is a history policy: before every model request it searches a
:class:`~tether.memory.VectorMemory` with the newest user message and puts the best matches, cut
to ``max_tokens``, in a system message right after the instructions. A memory read is part of the
run's event log (a ``history_summarized`` event keyed by the query, with the text the model was
shown), so a resumed run and a replay are shown the same memories, even if the memory changed
since. ``then=`` chains another history policy (a sliding window, a token budget) after it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from .._summaries import SUMMARY_LOG, SummaryLog, summary_key
from ..errors import UserError
from ..events import HistorySummarized
from ..messages import Message
from ._units import estimate_tokens
from .recall_tools import embedding_usage, scope_filters
from .vector import VectorMemory

if TYPE_CHECKING:
    from ..context import Context
    from .history import History

__all__ = ["MemoryRecall"]

RecallScope = Literal["agent", "thread", "user", "all"]
_HEADER = "Relevant memories (recalled for this conversation; may be out of date):"


class MemoryRecall:
    """A history policy that recalls memories into the request (see the module docstring)."""

    def __init__(
        self,
        memory: VectorMemory,
        *,
        scope: RecallScope = "agent",
        k: int = 3,
        max_tokens: int = 300,
        min_score: float | None = None,
        kind: str | None = "fact",
        then: History | None = None,
    ) -> None:
        if scope not in ("agent", "thread", "user", "all"):
            raise UserError(f"scope must be 'agent', 'thread', 'user' or 'all', not {scope!r}")
        if not isinstance(k, int) or k < 1:
            raise UserError(f"k must be a positive integer, not {k!r}")
        if not isinstance(max_tokens, int) or max_tokens < 1:
            raise UserError(f"max_tokens must be a positive integer, not {max_tokens!r}")
        self.memory = memory
        self.scope = scope
        self.k = k
        self.max_tokens = max_tokens
        self.min_score = min_score
        self.kind = kind
        self.then = then

    def _render(self, texts: list[str]) -> str:
        lines, used = [_HEADER], estimate_tokens(Message.system(_HEADER))
        for text in texts:
            line = f"- {text}"
            cost = estimate_tokens(Message.system(line))
            if used + cost > self.max_tokens:
                break
            lines.append(line)
            used += cost
        return "\n".join(lines) if len(lines) > 1 else ""

    async def _recall(self, query: str, ctx: Context[Any]) -> str:
        filters = scope_filters(ctx, self.scope)
        key = summary_key(f"memory-recall\n{sorted(filters.items())}\n{query}")
        log: SummaryLog | None = ctx.state.get(SUMMARY_LOG)
        known = log.find(key) if log is not None else None
        if known is not None:  # resumed or replayed: the memories this turn was shown
            return str(known.summary)
        hits, batch = await self.memory._search(
            query, k=self.k, kind=self.kind, min_score=self.min_score, **filters
        )
        text = self._render([hit.text for hit in hits])
        if log is not None:
            text = log.redact(text)  # under the run's PII redaction, as a tool's result is
            # recorded with what embedding the query cost: counted in the run's usage
            log.record(
                HistorySummarized(
                    key=key,
                    summary=text,
                    usage=embedding_usage(batch),
                    model=self.memory.embedder.name,
                    agent=ctx.agent.name,
                    messages=len(hits),
                )
            )
        return text

    async def apply(self, messages: list[Message], ctx: Context[Any]) -> list[Message]:
        """The messages with the recalled memories after the system messages."""
        query = next((m.text for m in reversed(messages) if m.role == "user" and m.text), "")
        text = await self._recall(query, ctx) if query else ""
        if text:
            systems = [m for m in messages if m.role == "system"]
            rest = [m for m in messages if m.role != "system"]
            messages = [*systems, Message.system(text), *rest]
        if self.then is not None:
            return await self.then.apply(messages, ctx)
        return messages
