"""A run whose consumer stopped first: its loop closed where it stands, its end recorded.

A ``break`` out of ``run_stream``, ``aclose()``, a dropped iterator or a cancelled consumer task
stops the one generator that drives a run (``tether.run._drive``) before the run ended; a
parent run's stop cancels its subagent's call the same way. The loop is closed where it stands
(:func:`close_loop`), and the run must not stay ``running`` in the store: what the loop had
emitted is stored, then a ``run_finished`` (:func:`record_end`). A run that had finished (the
consumer stopped at ``run_finished``) keeps its own end; any other ends ``interrupted``,
resumable as after a crash (or as the stop of a run above it, for a subagent's run).
"""

from __future__ import annotations

import asyncio
import functools
import types
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import TYPE_CHECKING, Any

from .engine.steps import HANDED
from .events import Event, RunFinished
from .tracing._safe import deliver

if TYPE_CHECKING:
    from .engine._wiring import RunWiring
    from .engine.control import StopRun
    from .results import RunState
    from .store import Store
    from .tracing.base import Exporter

__all__ = [
    "CANCEL_MESSAGE",
    "CONSUMER_STOPPED",
    "HAND_OVER_MESSAGE",
    "close_loop",
    "cut_short_end",
    "is_cancel",
    "is_hand_over",
    "record_end",
]

#: The error of a run whose consumer stopped before the run ended.
CONSUMER_STOPPED = "the run's consumer stopped before the run ended"

#: The message of a task cancellation that cancels the run it drives (``task.cancel(msg)``, as
#: the server's cancel does): the run ends ``cancelled``, not ``interrupted``, and records it.
CANCEL_MESSAGE = "tether: the run is cancelled by the caller"

#: The message of a task cancellation that stops the run to have it go on elsewhere (a server's
#: drain hands its lease over): nothing is recorded, as after a crash, so the run resumes from
#: its last checkpoint with one end in its log.
HAND_OVER_MESSAGE = "tether: the run is handed over"


async def close_loop(loop: Coroutine[Any, None, None], signal: Any) -> None:
    """The consumer stopped before the run ended: cancel the loop where it stands (a tool or
    model call in flight sees the CancelledError), awaiting what it awaits on its way out
    (closing a model's stream, cancelled tools). A coroutine, unlike a generator, cannot be
    closed with awaits in its ``finally``: GeneratorExit would close its callees at once."""
    cancel = getattr(signal, "cancel", None)
    if cancel is not None:  # it waited on a future nobody will wait for now
        cancel()
    thrown: BaseException | None = asyncio.CancelledError()
    while True:
        try:
            signal = loop.send(None) if thrown is None else loop.throw(thrown)
        except (StopIteration, asyncio.CancelledError):
            return
        thrown = None
        if signal is HANDED:  # it emitted on after being told to stop
            loop.close()
            raise RuntimeError("the run loop went on after its consumer stopped")
        try:
            await _pass_on(signal)
        except BaseException as exc:
            thrown = exc


@types.coroutine
def _pass_on(signal: Any) -> Generator[Any, None, None]:
    """Pass what the loop yielded (a future it awaits) on to the task closing it."""
    yield signal


def is_cancel(stop: BaseException | None) -> bool:
    """Whether ``stop`` is a task cancellation that cancels the run (:data:`CANCEL_MESSAGE`)."""
    return isinstance(stop, asyncio.CancelledError) and stop.args[:1] == (CANCEL_MESSAGE,)


def is_hand_over(stop: BaseException | None) -> bool:
    """Whether ``stop`` stops the run to have it go on elsewhere (:data:`HAND_OVER_MESSAGE`)."""
    return isinstance(stop, asyncio.CancelledError) and stop.args[:1] == (HAND_OVER_MESSAGE,)


def cut_short_end(state: RunState, stop: StopRun | None) -> RunFinished:
    """The ``run_finished`` of a run stopped from outside its loop: as the stop that cut it
    (its own, or a run's above it), else ``interrupted``; the calls in flight were cut."""
    parent = state.parent_run_id
    why = stop.reason if stop is not None else CONSUMER_STOPPED
    if parent is not None:
        why = f"its parent run {parent!r} stopped" + (f": {stop.reason}" if stop else "")
    return RunFinished(
        state=stop.kind if stop is not None else "interrupted",
        final_text=state.last_assistant_text(),
        error=why,
        error_type=stop.error_type if stop is not None else "RunInterrupted",
        interrupted_calls=list(state.started),
    )


async def record_end(
    wiring: RunWiring,
    exported: list[Event],
    unseen: list[Event],
    store: Store | None,
    export: list[Exporter],
    redact: Callable[[Event], Event] | None,
    save_thread: Callable[[RunWiring], Awaitable[None]] | None,
    cancelled: bool = False,
) -> None:
    """Store what a run whose consumer stopped had emitted and not stored (``exported``: the
    exporters had it; ``unseen``: nobody had), and its end (emitted here unless it had one):
    ``cancelled`` when the stop was a cancel of the run (:func:`is_cancel`)."""
    state = wiring.state
    if not state.finished:
        control = wiring.control
        stop = control.stopped if control is not None else None
        if stop is None and cancelled:
            from .engine.control import StopRun

            stop = StopRun("cancelled", "cancelled by the caller")
        end = cut_short_end(state, stop)
        wiring.emit(end)
        end.result = wiring.build_result()
        unseen = [*unseen, end]
    for event in unseen if export else ():
        deliver(export, event if redact is None else redact(event))
    if store is not None:
        await _to_the_end(
            functools.partial(_store, wiring, [*exported, *unseen], store, save_thread)
        )


async def _store(
    wiring: RunWiring,
    emitted: list[Event],
    store: Store,
    save_thread: Callable[[RunWiring], Awaitable[None]] | None,
) -> None:
    run_id = wiring.state.run_id
    stored = await store.load(run_id)
    last = stored[-1].seq if stored else 0  # a write cut off by the stop may have gone in
    events = [e for e in emitted if e.durable and e.seq > last]
    if save_thread is not None:  # before the end is stored, as when the run ends on its own
        await save_thread(wiring)
    if events:
        await store.append(run_id, events)


async def _to_the_end(work: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run ``work`` to its end even when the task awaiting it is cancelled or closed meanwhile,
    then raise what interrupted the wait: the run's end is not lost on the way out. (At its
    shutdown ``asyncio.run`` cancels every task, the ones closing dropped streams and this
    work's among them; the work is made again then, as its writes are idempotent.)"""
    interrupted: BaseException | None = None
    for _ in range(3):
        task = asyncio.ensure_future(work())
        while not task.done():
            try:
                await asyncio.shield(task)
            except BaseException as exc:
                if not task.done():
                    interrupted = exc
        if not task.cancelled():
            task.result()  # the store's own failure, if any
            break
        interrupted = interrupted or asyncio.CancelledError()
    if interrupted is not None:
        raise interrupted
