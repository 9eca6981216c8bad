"""Thread compaction: fold a thread's older messages into one summary to bound its storage."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import UserError
from ._units import keep_tail, non_system, resolve, summarize

if TYPE_CHECKING:
    from ..run._threads import Threads

__all__ = ["compact_thread"]


async def compact_thread(threads: Threads, thread_id: str, *, keep_last: int, model: Any) -> int:
    """Summarize all but the newest ``keep_last`` messages of a thread with ``model``.

    The newest messages are kept as they are (rounded up to whole units, so a tool call keeps
    its result), system messages are kept, and everything older becomes one summary message
    (a previous summary is folded into the new one). Returns how many messages were folded;
    0 when there was nothing to fold (the model is then not called).
    """
    if not isinstance(keep_last, int) or keep_last < 0:
        raise UserError(f"keep_last must be a non-negative integer, not {keep_last!r}")
    spec = model
    if spec is None:
        raise UserError(
            "compact_thread needs a model to write the summary: "
            "runner.compact_thread(thread_id, model='provider:model')"
        )
    messages = await threads.load(thread_id)
    if keep_last == 0:
        dropped, kept = (
            [m for m in messages if m.role != "system"],
            [m for m in messages if m.role == "system"],
        )
    else:
        dropped, kept = keep_tail(messages, keep_last, non_system, round_up=True)
    if not dropped:
        return 0
    summary = await summarize(resolve(spec), dropped)
    systems = [m for m in kept if m.role == "system"]
    rest = [m for m in kept if m.role != "system"]
    compacted = [*systems, summary, *rest]
    await threads.save(thread_id, compacted)
    return len(dropped)
