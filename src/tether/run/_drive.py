"""Drive a run: the loop's events persisted at every checkpoint and handed to the exporters.

Every consumer of a run (store, exporters, thread, the caller) reads the one stream of events
the loop yields; this is where they are plugged in.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import TYPE_CHECKING

from ..events import Event
from ..tracing._safe import deliver, flush_all
from ._wiring import RunWiring
from .loop import run_loop
from .steps import CHECKPOINT

if TYPE_CHECKING:
    from ..store import Store
    from ..tracing.base import Exporter

__all__ = ["drive"]


async def drive(
    wiring: RunWiring | Callable[[], Awaitable[RunWiring]],
    *,
    store_of: Callable[[], Store | None],
    exporters_of: Callable[[], list[Exporter]],
    save_thread: Callable[[RunWiring], Awaitable[None]],
    release: Callable[[str], None],
) -> AsyncGenerator[Event, None]:
    """Yield the run's events, persisting them at each checkpoint and exporting each one.

    ``wiring`` may be a function that makes it, so a stream needs no generator of its own
    around this one (each layer costs every event a hop). ``release`` is called with the run id
    when the run stops, however it stops.
    """
    if not isinstance(wiring, RunWiring):
        wiring = await wiring()
    store = store_of()
    exporters = exporters_of() if not wiring.config.tracing_disabled else []
    redact: Callable[[Event], Event] | None = None
    if exporters and wiring.config.trace_include_sensitive_data is False:
        from ..tracing.redact import redact_event

        redact = redact_event
    run_id = wiring.state.run_id
    buffer: list[Event] = []
    loop = run_loop(wiring)
    try:
        async for item in loop:
            if item is CHECKPOINT:
                if buffer:
                    assert store is not None
                    await store.append(run_id, buffer)
                    buffer = []
                continue
            assert isinstance(item, Event)
            if store is not None and item.durable:
                buffer.append(item)
            if exporters:
                deliver(exporters, item if redact is None else redact(item))
            yield item
            where = wiring.debugger.stops_at(item) if wiring.debugger is not None else None
            if where is not None:  # a breakpoint: checkpoint, tell the consumers, wait
                if buffer:
                    assert store is not None
                    await store.append(run_id, buffer)
                    buffer = []
                hit = wiring.debugger.hit(wiring, where, item)
                yield hit
                await wiring.debugger.pause(wiring, hit)
        await save_thread(wiring)
    finally:
        await loop.aclose()
        release(run_id)
        await flush_all(exporters, run_id)  # a trace never changes the run's outcome
