"""History policies: what part of a long conversation the model is sent on each turn.

Pass one as ``Agent(history=...)``; before every model request the loop calls
``await policy.apply(messages, ctx)`` and sends what it returns. The run's own record (its event
log, ``result.messages``, the thread) always keeps every message: a policy only shapes the
request. No policy splits a tool call from its result or drops a system message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .._summaries import SUMMARY_LOG, SummaryLog, summary_key
from ..errors import UserError
from ..events import HistorySummarized
from ..messages import Message
from ..usage import Usage
from ._units import estimate_tokens, keep_tail, non_system, render_transcript, resolve, summarize

if TYPE_CHECKING:
    from ..context import Context
    from ..models.base import Model

__all__ = [
    "History",
    "HistorySlidingWindow",
    "HistorySummarize",
    "HistoryTokenBudget",
    "estimate_tokens",
]

TokenCounter = Callable[[Message], int]


@runtime_checkable
class History(Protocol):
    """A history policy: the messages to send, from all the messages of the run."""

    async def apply(self, messages: list[Message], ctx: Context[Any]) -> list[Message]:
        """The messages the model is sent this turn."""
        ...


class HistorySlidingWindow:
    """Send the newest messages only: at most ``max_messages`` (system messages and, with
    ``keep_first_user``, the task that opened the conversation count and are always kept).

    The window moves by whole units (a tool call and its results), so it may hold fewer
    messages than allowed, or, when the newest unit alone is larger, more.
    """

    def __init__(self, max_messages: int, *, keep_first_user: bool = True) -> None:
        if not isinstance(max_messages, int) or max_messages < 1:
            raise UserError(f"max_messages must be a positive integer, not {max_messages!r}")
        self.max_messages = max_messages
        self.keep_first_user = keep_first_user

    async def apply(self, messages: list[Message], ctx: Context[Any]) -> list[Message]:
        """The newest messages that fit."""
        if len(messages) <= self.max_messages:
            return messages
        _, kept = keep_tail(
            messages, self.max_messages, lambda m: 1, keep_first_user=self.keep_first_user
        )
        return kept

    def __repr__(self) -> str:
        return f"HistorySlidingWindow(max_messages={self.max_messages})"


class HistoryTokenBudget:
    """Send the newest messages that fit in ``max_tokens`` (estimated with ``count``, by default
    about four characters a token); system messages and the first user message always go."""

    def __init__(
        self,
        max_tokens: int,
        *,
        count: TokenCounter = estimate_tokens,
        keep_first_user: bool = True,
    ) -> None:
        if not isinstance(max_tokens, int) or max_tokens < 1:
            raise UserError(f"max_tokens must be a positive integer, not {max_tokens!r}")
        self.max_tokens = max_tokens
        self.count = count
        self.keep_first_user = keep_first_user

    async def apply(self, messages: list[Message], ctx: Context[Any]) -> list[Message]:
        """The newest messages within the budget."""
        if sum(self.count(m) for m in messages) <= self.max_tokens:
            return messages
        _, kept = keep_tail(
            messages, self.max_tokens, self.count, keep_first_user=self.keep_first_user
        )
        return kept

    def __repr__(self) -> str:
        return f"HistoryTokenBudget(max_tokens={self.max_tokens})"


class HistorySummarize:
    """Past ``trigger_tokens``, replace older messages by a summary written by ``model``.

    The newest ``keep_last`` messages (rounded to whole units) and every system message stay
    as they are. The summary is made incrementally: it is reused on later turns, and only
    extended (the old summary plus the messages that aged out since) when the request grows past
    the trigger again. ``model`` is a Model or a ``"provider:model"`` string. Each summary is
    a ``history_summarized`` event of the run: its usage counts in ``result.usage`` and against
    ``max_cost``, and a resumed or replayed run is served the summary from the log instead of
    asking the model again.
    """

    _STATE_KEY = "tether.history_summary"

    def __init__(
        self,
        model: Model | str,
        trigger_tokens: int,
        *,
        keep_last: int = 6,
        count: TokenCounter = estimate_tokens,
    ) -> None:
        if not isinstance(trigger_tokens, int) or trigger_tokens < 1:
            raise UserError(f"trigger_tokens must be a positive integer, not {trigger_tokens!r}")
        if not isinstance(keep_last, int) or keep_last < 1:
            raise UserError(f"keep_last must be a positive integer, not {keep_last!r}")
        self.model = model
        self.trigger_tokens = trigger_tokens
        self.keep_last = keep_last
        self.count = count
        self._model: Model | None = None

    def _tokens(self, messages: Sequence[Message]) -> int:
        return sum(self.count(m) for m in messages)

    async def apply(self, messages: list[Message], ctx: Context[Any]) -> list[Message]:
        """The messages with the older ones summarized, once they pass the trigger."""
        cached: tuple[int, Message] | None = ctx.state.get(self._STATE_KEY)
        if cached is None:  # a resumed run goes on from its last summary, as it would have
            cached = self._restored(ctx)
        if cached is not None and cached[0] > len(messages):
            cached = None  # another conversation: start over
        if cached is None:
            if self._tokens(messages) <= self.trigger_tokens:
                return messages
            done, summary = 0, None
        else:
            done, summary = cached
            candidate = self._assemble(messages[:done], summary, messages[done:])
            if self._tokens(candidate) <= self.trigger_tokens:
                return candidate
        rest = messages[done:]
        dropped, _ = keep_tail(rest, self.keep_last, non_system, round_up=True)
        to_fold = [m for m in dropped if m.role != "system"]
        if not to_fold:
            return self._assemble(messages[:done], summary, rest) if summary else messages
        if self._model is None:
            self._model = resolve(self.model)
        # Everything up to the last folded message is now covered by the summary.
        done += max(i for i, m in enumerate(rest) if m is to_fold[-1]) + 1
        summary = await self._summary(ctx, ([summary] if summary else []) + to_fold, done)
        ctx.state[self._STATE_KEY] = (done, summary)
        return self._assemble(messages[:done], summary, messages[done:])

    def _restored(self, ctx: Context[Any]) -> tuple[int, Message] | None:
        """The run's last summary and how much it covers, from its log (a resumed run)."""
        log: SummaryLog | None = ctx.state.get(SUMMARY_LOG)
        last = log.latest() if log is not None else None
        return None if last is None else (last.covers, Message.user(last.summary))

    async def _summary(self, ctx: Context[Any], messages: list[Message], covers: int) -> Message:
        """The summary of ``messages``: from the run's log when it has it, else from the model
        (and then recorded in the log)."""
        log: SummaryLog | None = ctx.state.get(SUMMARY_LOG)
        assert self._model is not None
        if log is None:
            return await summarize(self._model, messages)
        key = summary_key(render_transcript(messages))
        known = log.find(key)
        if known is not None:
            return Message.user(known.summary)
        usage = Usage(requests=0, cost=0.0)
        summary = await summarize(self._model, messages, usage=usage)
        log.record(
            HistorySummarized(
                key=key,
                summary=summary.text,
                usage=usage,
                model=self._model.name,
                agent=ctx.agent.name if ctx.agent is not None else "",
                messages=len(messages),
                covers=covers,
            )
        )
        return summary

    @staticmethod
    def _assemble(
        before: Sequence[Message], summary: Message | None, after: Sequence[Message]
    ) -> list[Message]:
        systems = [m for m in before if m.role == "system"]
        return [*systems, *([summary] if summary is not None else []), *after]

    def __repr__(self) -> str:
        return f"HistorySummarize(trigger_tokens={self.trigger_tokens}, keep_last={self.keep_last})"
