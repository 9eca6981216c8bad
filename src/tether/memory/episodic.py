"""Episodic memory: past runs, searchable by meaning ("what did this user ask last week?").

``EpisodicMemory`` is an exporter: give it to a Runner (``telemetry=["jsonl", episodes]``) and
every run that finishes becomes one episode in a :class:`~tether.memory.VectorMemory`: the
prompt and the final answer, with the run id, agent, thread, state and user (the run's
``RunConfig(trace_metadata={"user_id": ...})``). A :class:`Retention` bounds how many episodes
are kept, and, given the Runner's store, deletes the checkpoints of the runs it forgets too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .._log_scrub import get_logger
from ..errors import UserError
from ..events import Event, RunFinished, RunStarted
from ._vector_rows import Hit
from .vector import VectorMemory

__all__ = ["EpisodicMemory", "Retention"]

logger = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Retention:
    """How long episodes are kept: at most ``max_age`` seconds, at most ``max_count`` (newest).

    With ``delete_runs=True`` the forgotten runs' event logs are deleted from the store too
    (``EpisodicMemory(store=)``, else the memory's own store), so the same policy bounds
    checkpoint storage.
    """

    max_age: float | None = None
    max_count: int | None = None
    delete_runs: bool = False

    def __post_init__(self) -> None:
        if self.max_age is not None and self.max_age <= 0:
            raise UserError("Retention.max_age must be positive seconds")
        if self.max_count is not None and self.max_count < 0:
            raise UserError("Retention.max_count must not be negative")


def _text(messages: Any) -> str:
    parts = []
    for message in messages or ():
        text = getattr(message, "text", None)
        if text:
            parts.append(str(text))
    return "\n".join(parts)


class EpisodicMemory:
    """Records finished runs as episodes and searches them (see the module docstring)."""

    def __init__(
        self,
        memory: VectorMemory,
        *,
        retention: Retention | None = None,
        store: Any = None,
        top_level_only: bool = True,
    ) -> None:
        self.memory = memory
        self.retention = retention
        self.store = store
        self.top_level_only = top_level_only
        self._started: dict[str, RunStarted] = {}
        self._finished: dict[str, RunFinished] = {}
        self._children: set[str] = set()
        self._opened_store: Any = None

    # -- the exporter protocol ------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """Keep what an episode needs from a run's first and last events."""
        if isinstance(event, RunStarted):
            if self.top_level_only and event.parent_run_id is not None:
                self._children.add(event.run_id)
                return
            self._started[event.run_id] = event
        elif isinstance(event, RunFinished):
            if event.run_id in self._children:
                self._children.discard(event.run_id)
            else:  # a resumed run's start is not seen again: flush reads it from the store
                self._finished[event.run_id] = event

    async def flush(self, run_id: str) -> None:
        """Write the run's episode when it has finished (never raises into the run).

        A run that ends again after a resume (an approval given, a crash recovered, in this
        process or another) rewrites its episode with the new ending."""
        finished = self._finished.pop(run_id, None)
        if finished is None:
            return
        started = self._started.pop(run_id, None)
        try:
            if started is None:
                started = await self._start_of(run_id)
                if started is None or (self.top_level_only and started.parent_run_id is not None):
                    return
            await self._write(started, finished)
            if self.retention is not None:
                await self.prune()
        except Exception:  # a memory failure must not change the run's outcome
            logger.exception("episodic memory: could not record run %s", run_id)

    def _runs(self) -> Any:
        """The store holding the runs' logs: ``store=``, else the memory's own store (the
        same database as the runs, as VectorMemory is meant to be used)."""
        if self._opened_store is None:
            store = self.store if self.store is not None else self.memory._store
            if isinstance(store, str):
                from ..store import open_store

                store = open_store(store)
            self._opened_store = store
        return self._opened_store

    async def _start_of(self, run_id: str) -> RunStarted | None:
        events = await self._runs().load(run_id)
        first = events[0] if events else None
        return first if isinstance(first, RunStarted) else None

    async def _write(self, started: RunStarted, finished: RunFinished) -> None:
        asked = _text(started.input)
        answer = finished.final_text or ("" if finished.output is None else str(finished.output))
        text = f"User: {asked}\nAssistant: {answer}".strip()
        metadata = dict(started.metadata or {})
        user_id = metadata.pop("user_id", None)
        metadata.update(run_id=started.run_id, state=finished.state, finished_at=time.time())
        await self.memory.add(
            text,
            id=f"episode:{started.run_id}",
            metadata=metadata,
            agent=started.agent,
            thread_id=started.thread_id,
            user_id=None if user_id is None else str(user_id),
            kind="episode",
        )

    # -- reading and forgetting ----------------------------------------------------------------

    async def search(self, query: str, *, k: int = 5, **scope: Any) -> list[Hit]:
        """Episodes like ``query`` (scope: agent, thread_id, user_id, metadata, mode, and a
        time window: ``newer_than=time.time() - 7 * 86400`` for "last week")."""
        return await self.memory.search(query, k=k, kind="episode", **scope)

    async def prune(self) -> int:
        """Apply the retention policy now; returns how many episodes were forgotten."""
        policy = self.retention
        if policy is None:
            return 0
        await self.memory.open()
        doomed: list[str] = []
        if policy.max_age is not None:
            old = await self.memory._backend.newest_ids(
                _episodes(older_than=time.time() - policy.max_age), 10**9
            )
            doomed += old
        if policy.max_count is not None:
            every = await self.memory._backend.newest_ids(_episodes(), 10**9)
            doomed += every[policy.max_count :]
        doomed = list(dict.fromkeys(doomed))
        if not doomed:
            return 0
        removed = await self.memory._backend.delete(_episodes(), doomed)
        if policy.delete_runs:
            await _delete_runs(self._runs(), [d.removeprefix("episode:") for d in doomed])
        return removed


def _episodes(older_than: float | None = None) -> Any:
    from ._vector_rows import Where

    return Where(kind="episode", older_than=older_than)


async def _delete_runs(store: Any, run_ids: list[str]) -> None:
    delete = getattr(store, "delete_run", None)
    if delete is None:
        raise UserError(
            f"{type(store).__name__} cannot delete runs, which Retention(delete_runs=True) needs"
        )
    pending = list(run_ids)
    while pending:  # a run, then the runs of its subagents (not episodes: top_level_only)
        run_id = pending.pop()
        pending += await _child_runs(store, run_id)
        await delete(run_id)


async def _child_runs(store: Any, run_id: str) -> list[str]:
    """The stored runs of ``run_id``'s subagents: those its log names, and the run a call cut
    short by a crash had started (its id is derived from the parent's log)."""
    from .._subagents import child_run_id
    from ..results import RunState

    events = await store.load(run_id)
    state = RunState.from_events(run_id, events)
    named = {e.child_run_id for e in events if getattr(e, "child_run_id", None)}
    cut = {child_run_id(state, call_id) for call_id in state.started}
    return sorted(i for i in named | cut if i is not None and i != run_id)
