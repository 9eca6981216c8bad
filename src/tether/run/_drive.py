"""Drive a run: the loop's events persisted at every checkpoint and handed to the exporters.

Every consumer of a run (store, exporters, thread, the caller) reads the one stream of events
this generator yields; this is where they are plugged in. The loop below it is a plain
coroutine (see :mod:`tether.engine.steps`): drive() steps it by hand, hands out what it queued
whenever it signals :data:`~.steps.HANDED` or waits for anything, and passes every wait on to
the event loop. One generator for the whole run, however deep the loop's calls go.
"""

from __future__ import annotations

import asyncio
import sys
import types
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any

from .._cut_short import close_loop, is_cancel, is_hand_over, record_end
from ..engine._wiring import RunWiring
from ..engine.loop import run_loop
from ..engine.steps import CHECKPOINT, HANDED
from ..events import Event, RunFinished
from ..tracing._safe import backfill, deliver, flush_all

if TYPE_CHECKING:
    from ..store import Store
    from ..tracing.base import Exporter

__all__ = ["drive", "last_event"]


async def drive(
    wiring: RunWiring | Callable[[], Awaitable[RunWiring]],
    *,
    store_of: Callable[[], Store | None],
    exporters_of: Callable[[], list[Exporter]],
    save_thread: Callable[[RunWiring], Awaitable[None]],
    release: Callable[[str], None],
    quiet: bool = False,
) -> AsyncGenerator[Event, None]:
    """Yield the run's events, persisting them at each checkpoint and exporting each one.

    ``wiring`` may be a function that makes it, so a stream needs no generator of its own
    around this one (each layer costs every event a hop). ``release`` is called with the run id
    when the run stops, however it stops. ``quiet`` yields only ``run_finished`` (for a caller
    that wants the outcome alone: every event yielded costs a hop out and back).
    """
    if not isinstance(wiring, RunWiring):
        wiring = await wiring()
    store = store_of()
    exporters = exporters_of() if not wiring.config.tracing_disabled else []
    redact: Callable[[Event], Event] | None = None
    if exporters and wiring.config.trace_include_sensitive_data is False:
        from ..tracing.redact import redact_event

        redact = redact_event
    if exporters and store is not None and wiring.state.started_event is not None:
        await _backfill(store, wiring.state.run_id, exporters, redact)
    debugger = wiring.debugger
    # with a store the loop waits for each checkpoint to be stored; a debugger and the
    # exporters (a subagent's trace comes after its parent's) see each step's events before the
    # loop acts on them (a stream's consumer before each model call and tool: steps.hand_over)
    wiring.eager = bool(store is not None or exporters or debugger is not None)
    bare = store is None and not exporters and debugger is None
    run_id = wiring.state.run_id
    buffer: list[Event] = []
    loop = run_loop(wiring)
    running = True
    signal: Any = None
    thrown: BaseException | None = None
    saved = False  # the thread saved already (before the run's end was stored)
    out: list[Any] = []
    taken = 0  # how many items of ``out`` went out (the rest: when the consumer stops)
    cut = crashed = cancelled = False
    try:
        while running:
            try:
                signal = loop.send(None) if thrown is None else loop.throw(thrown)
            except StopIteration:
                running = False
            except BaseException:
                running = False
                crashed = thrown is None  # the loop's own failure, not a stop passed into it
                raise
            thrown = None
            out = wiring.out
            if out and bare:  # the consumer alone reads the events: nothing else to do per event
                wiring.out = []
                if quiet:
                    for item in out:
                        if type(item) is RunFinished:
                            yield item
                else:
                    for item in out:
                        if item is not CHECKPOINT:
                            yield item
            elif out:
                wiring.out = []
                for taken, item in enumerate(out, 1):  # noqa: B007  (read in the finally)
                    if item is CHECKPOINT:
                        if buffer:
                            assert store is not None
                            if not saved and wiring.state.finished:
                                # the thread first: a crash once the run's end is stored
                                # must not leave a completed run missing from its thread
                                await save_thread(wiring)
                                saved = True
                            await store.append(run_id, buffer)
                            buffer = []
                        continue
                    if store is not None and item.durable:
                        buffer.append(item)
                    if exporters:
                        deliver(exporters, item if redact is None else redact(item))
                    if not quiet or type(item) is RunFinished:
                        yield item
                    where = debugger.stops_at(item) if debugger is not None else None
                    if where is not None:  # a breakpoint: checkpoint, tell the consumers, wait
                        if buffer:
                            assert store is not None
                            await store.append(run_id, buffer)
                            buffer = []
                        hit = debugger.hit(wiring, where, item)
                        await debugger.claim(wiring, hit)  # (told once it holds the debugger)
                        if not quiet:
                            yield hit
                        await debugger.pause(wiring, hit)
            if running and signal is not HANDED:
                try:  # the loop waits (a model call, a tool, a person): so does this task
                    await _wait(signal)
                except BaseException as exc:  # a cancellation, for one: the loop gets it
                    thrown = exc
        if not saved:
            await save_thread(wiring)
    except (GeneratorExit, asyncio.CancelledError) as stop:  # the consumer stopped first
        cut, cancelled = not (crashed or is_hand_over(stop)), is_cancel(stop)
        raise
    finally:
        try:
            if running:  # close the loop where it stands
                await close_loop(loop, signal)
            if cut:  # its end is recorded all the same (tether._cut_short)
                unseen = [item for item in out[taken:] if item is not CHECKPOINT]
                thread = None if saved else save_thread
                await record_end(
                    wiring, buffer, unseen, store, exporters, redact, thread, cancelled
                )
        finally:
            release(run_id)
            if exporters:
                await flush_all(exporters, run_id)  # a trace never changes the run's outcome


async def last_event(events: AsyncGenerator[Event, None]) -> Event | None:
    """The last event ``events`` yields (a quiet :func:`drive`: its ``run_finished``).

    Iterated here to its end, closed here when this stops early (a cancellation), so it is
    started without the event loop's async-generator hooks: they would keep it in a weak set
    until it is collected, a weak reference made and called back on every run."""
    hooks = sys.get_asyncgen_hooks()
    sys.set_asyncgen_hooks(None, None)
    try:
        first = events.__anext__()  # the hooks are looked up here, on the first iteration
    finally:
        sys.set_asyncgen_hooks(*hooks)
    last: Event | None = None
    try:
        last = await first
        async for last in events:  # noqa: B007  (the outcome)
            pass
    except StopAsyncIteration:  # it yielded nothing
        pass
    except BaseException:
        await events.aclose()  # no finalizer would: its cleanup runs now, as it would have
        raise
    return last


async def _backfill(
    store: Store,
    run_id: str,
    exporters: list[Exporter],
    redact: Callable[[Event], Event] | None,
) -> None:
    """A resumed run: the exporters that keep whole logs get its stored log first (what a
    crash lost of its trace, decisions recorded on resume); one store read per resume, none
    when no exporter asks for it."""
    if not any(hasattr(exporter, "backfill") for exporter in exporters):
        return
    events = await store.load(run_id)
    backfill(exporters, events if redact is None else [redact(event) for event in events])


@types.coroutine
def _wait(signal: Any) -> Generator[Any, None, None]:
    """Pass what the loop yielded (a future it awaits) on to the task running the stream."""
    yield signal
