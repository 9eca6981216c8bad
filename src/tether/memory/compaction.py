"""Thread compaction: fold a thread's older messages into one summary to bound its storage.

A compaction is a model call made outside any run, so it is recorded as a run of its own: a
short log (``run_started`` holding the folded messages, ``history_summarized`` with the summary
and its usage, ``run_finished``) kept in the Runner's store and handed to its trace exporters,
so what the summary cost is in the store, in traces and under ``max_cost`` like any model call.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any, Protocol

from .._summaries import summary_key
from ..errors import BudgetExceeded, UserError
from ..events import Event, HistorySummarized, RunFinished, RunStarted
from ..usage import Usage
from ._units import keep_tail, non_system, render_transcript, resolve, summarize

if TYPE_CHECKING:
    from ..config import RunConfig
    from ..messages import Message
    from ..store import Store
    from ..tracing.base import Exporter

__all__ = ["COMPACTION_AGENT", "compact_thread"]


class Runner(Protocol):
    """What a compaction uses of the ``tether.Runner`` it runs for (typed here, not imported:
    the Runner imports this module)."""

    @property
    def store(self) -> Store | None:
        """The Runner's store, or None."""

    @property
    def exporters(self) -> list[Exporter]:
        """The Runner's trace exporters."""

    @property
    def _threads(self) -> Store:
        """Where the Runner keeps threads: its store, or a MemoryStore without one."""


#: The agent name a compaction's own run is recorded under.
COMPACTION_AGENT = "compact_thread"


async def compact_thread(
    runner: Runner, thread_id: str, *, keep_last: int, model: Any, config: RunConfig
) -> int:
    """Summarize all but the newest ``keep_last`` messages of a thread with ``model``.

    The newest messages are kept as they are (rounded up to whole units, so a tool call keeps
    its result), system messages are kept, and everything older becomes one summary message
    (a previous summary is folded into the new one). Returns how many messages were folded;
    0 when there was nothing to fold (the model is then not called). The compaction is
    recorded as a run of its own (see the module notes); a summary that cost more than
    ``config.max_cost`` is BudgetExceeded, and the thread is left as it was.
    """
    if not isinstance(keep_last, int) or keep_last < 0:
        raise UserError(f"keep_last must be a non-negative integer, not {keep_last!r}")
    spec = model or config.model
    if spec is None:
        raise UserError(
            "compact_thread needs a model to write the summary: "
            "runner.compact_thread(thread_id, model='provider:model')"
        )
    threads = runner._threads
    messages = await threads.load_thread(thread_id)
    if keep_last == 0:
        dropped, kept = (
            [m for m in messages if m.role != "system"],
            [m for m in messages if m.role == "system"],
        )
    else:
        dropped, kept = keep_tail(messages, keep_last, non_system, round_up=True)
    if not dropped:
        return 0
    summarizer = resolve(spec)
    usage = Usage(requests=0, cost=0.0)
    summary = await summarize(summarizer, dropped, usage=usage)
    limit = config.max_cost
    over = limit is not None and usage.cost is not None and usage.cost > limit
    run_id = uuid.uuid4().hex
    made = HistorySummarized(
        key=summary_key(render_transcript(dropped)),
        summary=summary.text,
        usage=usage,
        model=summarizer.name,
        agent=COMPACTION_AGENT,
        messages=len(dropped),
    )
    await _record(runner, config, run_id, thread_id, dropped, made, limit, over)
    if over:
        assert usage.cost is not None and limit is not None
        error = BudgetExceeded(usage.cost, limit)
        error.run_id = run_id
        raise error
    systems = [m for m in kept if m.role == "system"]
    rest = [m for m in kept if m.role != "system"]
    compacted = [*systems, summary, *rest]
    await threads.save_thread(thread_id, compacted)
    return len(dropped)


async def _record(
    runner: Runner,
    config: RunConfig,
    run_id: str,
    thread_id: str,
    dropped: list[Message],
    made: HistorySummarized,
    limit: float | None,
    over: bool,
) -> None:
    """The compaction's own run: in the store, and to the trace exporters."""
    from ..tracing._safe import deliver, flush_all

    now = time.time()
    spent = made.usage.cost if made.usage is not None else None
    error = str(BudgetExceeded(spent or 0.0, limit or 0.0)) if over else None
    events: list[Event] = [
        RunStarted(
            agent=COMPACTION_AGENT,
            input=[],
            history=list(dropped),
            thread_id=thread_id,
            max_turns=1,
            max_cost=limit,
            workflow_name=COMPACTION_AGENT,
            group_id=thread_id,
        ),
        made,
        RunFinished(
            state="failed" if over else "completed",
            final_text=made.summary,
            error=error,
            error_type="BudgetExceeded" if over else None,
        ),
    ]
    for seq, event in enumerate(events, 1):
        event.run_id, event.seq, event.at = run_id, seq, now
    store = runner.store
    if store is not None:
        await store.append(run_id, events)
    if config.tracing_disabled:
        return
    exporters = runner.exporters
    if not exporters:
        return
    if config.trace_include_sensitive_data is False:
        from ..tracing.redact import redact_event

        events = [redact_event(e) for e in events]
    for event in events:
        deliver(exporters, event)
    await flush_all(exporters, run_id)
