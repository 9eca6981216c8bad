"""The engines' side of the log mirror: how each engine runs a write as a step of its own.

Under DBOS a write is a step (``DBOS.run_step_async``), its result recorded in the system
database. Under Temporal it is a local activity: run by the worker that runs the workflow (the
one with the store), its result recorded in the workflow's history as a marker, so a replayed
workflow does not write again; no trip through the task queue. Its input is the pickled
events, cut into pieces under the payload limit. :class:`EngineThreads` keeps a run's thread
(``thread_id=``) in the store through such steps.
"""

from __future__ import annotations

import pickle
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ..store.memory import MemoryStore
from ._mirror import LOG_STEP, LogMirror, log_failed
from ._payload import pack, unpack

if TYPE_CHECKING:
    from ..messages import Message
    from ..run.runner import Runner
    from ..store import Store

__all__ = [
    "EngineThreads",
    "attach",
    "before_wait",
    "dbos_mirror",
    "settle",
    "temporal_activity_name",
    "temporal_log_activities",
    "temporal_mirror",
]

_THREAD_STEPS = ("tether.thread.load", "tether.thread.save")
#: How long a Temporal local activity writing the log may take (retried past it: idempotent).
_LOCAL_TIMEOUT = timedelta(seconds=30)


def dbos_mirror(store: Store | str) -> LogMirror:
    """A mirror whose writes are DBOS steps."""

    def workflow_of() -> str | None:
        from dbos import DBOS

        found: str | None = DBOS.workflow_id
        return found

    async def step(name: str, fn: Callable[..., Any], *args: Any) -> Any:
        from dbos import DBOS

        return await DBOS.run_step_async({"name": name}, fn, *args)

    return LogMirror(store, "dbos", workflow_of, step)


def temporal_activity_name(agent: str, step: str) -> str:
    """The local activity of a durability whose first agent is ``agent`` for the mirror's
    ``step`` (``tether.log`` -> ``tether.<agent>.log``): each durability's own, so that several
    on one worker do not clash (their agents' names differ already)."""
    return f"tether.{agent}.{step.removeprefix('tether.')}"


def temporal_mirror(store: Store | str, limit: int | None, agent: str) -> LogMirror:
    """A mirror whose writes are Temporal local activities named after ``agent`` (the first
    agent of its durability; :func:`temporal_log_activities` registers them on the worker)."""

    def workflow_of() -> str | None:
        from temporalio import workflow

        return workflow.info().run_id if workflow.in_workflow() else None

    async def step(name: str, fn: Callable[..., Any], *args: Any) -> Any:
        from temporalio import workflow

        activity = temporal_activity_name(agent, name)
        if name == LOG_STEP:
            written = 0
            for piece in _pieces(args[0], limit):
                written += await _local(workflow, activity, piece, limit)
            return written
        return await _local(workflow, activity, args, limit)

    mirror = LogMirror(store, "temporal", workflow_of, step)
    mirror.write_on_wait = True
    return mirror


async def _local(workflow: Any, name: str, args: Any, limit: int | None) -> Any:
    from temporalio.common import RetryPolicy
    from temporalio.exceptions import ActivityError

    payload = pack(args, f"the {name} step", "Temporal", limit)
    try:
        data: bytes = await workflow.execute_local_activity(
            name,
            payload,
            start_to_close_timeout=_LOCAL_TIMEOUT,
            # a store that is down fails the call after a few tries, never retried forever
            retry_policy=RetryPolicy(
                initial_interval=timedelta(milliseconds=100), maximum_attempts=3
            ),
            result_type=bytes,
        )
    except ActivityError as exc:
        raise log_failed(exc.cause or exc) from exc
    return unpack(data)


def _pieces(events: Sequence[Any], limit: int | None) -> list[list[Any]]:
    """``events`` in consecutive pieces whose pickles stay under half the payload limit (one
    event larger than that goes alone: the limit error then names the log step)."""
    if limit is None:
        return [list(events)]
    budget = limit // 2
    pieces: list[list[Any]] = [[]]
    size = 0
    for event in events:
        grows = len(pickle.dumps(event))
        if pieces[-1] and size + grows > budget:
            pieces.append([])
            size = 0
        pieces[-1].append(event)
        size += grows
    return pieces


def temporal_log_activities(mirror: LogMirror, agent: str) -> list[Callable[..., Any]]:
    """The worker's local activities writing the log and the threads to ``mirror``'s store."""
    from temporalio import activity

    async def log(payload: bytes) -> bytes:
        return pickle.dumps(await mirror.write(unpack(payload)))

    async def load(payload: bytes) -> bytes:
        (thread_id,) = unpack(payload)
        return pickle.dumps(await mirror.store.load_thread(thread_id))

    async def save(payload: bytes) -> bytes:
        thread_id, messages = unpack(payload)
        await mirror.store.save_thread(thread_id, messages)
        return pickle.dumps(len(messages))

    return [
        activity.defn(name=temporal_activity_name(agent, LOG_STEP))(log),
        activity.defn(name=temporal_activity_name(agent, _THREAD_STEPS[0]))(load),
        activity.defn(name=temporal_activity_name(agent, _THREAD_STEPS[1]))(save),
    ]


class EngineThreads(MemoryStore):
    """Where an engine's Runner keeps threads (``thread_id=``): in the mirror's store, loaded
    and saved through its steps, so a recovered run loads what the first attempt loaded and a
    repeated save writes the same messages (a save replaces the thread). The Runner has no
    store of its own, so it keeps threads here (its in-memory place otherwise)."""

    def __init__(self, mirror: LogMirror) -> None:
        super().__init__()
        self._mirror = mirror

    async def load_thread(self, thread_id: str) -> list[Message]:
        """The thread's messages (empty for a new thread), read in a step."""
        return await self._mirror.load_thread(thread_id)

    async def save_thread(self, thread_id: str, messages: Sequence[Message]) -> None:
        """Replace the thread's messages, in a step."""
        await self._mirror.save_thread(thread_id, messages)


def attach(runner: Runner, mirror: LogMirror | None) -> None:
    """Give an engine's Runner the mirror: its exporter, its seam, its threads."""
    if mirror is None:
        return
    seam = runner._call_seam
    assert seam is not None, "the engine's seam is set first"
    runner._exporters = [*(runner._exporters or []), mirror]
    runner._call_seam = mirror.seam(seam)
    runner._memory_threads = EngineThreads(mirror)


async def settle(mirror: LogMirror | None) -> None:
    """Write what the ended run's workflow has not written yet (its last events)."""
    if mirror is not None:
        await mirror.settle()


def before_wait(mirror: LogMirror | None) -> Callable[[], Awaitable[None]] | None:
    """What DBOS's decision pump calls before the run waits for a person: a log write."""
    return mirror.sync if mirror is not None else None
