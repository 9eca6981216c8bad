"""ConsoleExporter: a live tree of each run's spans in the terminal (rich)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..events import Event
from .spans import SpanBuilder, Trace, build_trace

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live

__all__ = ["ConsoleExporter"]


class ConsoleExporter:
    """Shows runs as trees of spans with timings, tokens, cost and errors.

    On a terminal the tree of each running trace updates live (rich ``Live``, redrawn by its own
    thread); when a root run ends its final tree is printed. ``console`` defaults to a rich
    Console on stderr. Nothing touches the terminal on the event loop: ``on_event`` only queues
    the event, and drawing happens in threads.
    """

    def __init__(self, console: Console | None = None) -> None:
        if console is None:
            from rich.console import Console

            console = Console(stderr=True)
        self.console = console
        self._queue: deque[Event] = deque()
        self._lock = threading.RLock()  # taken only off the event loop; Live.start re-enters
        self._builder = SpanBuilder()
        self._events: dict[str, list[Event]] = {}
        self._root_of: dict[str, str] = {}
        self._live: Live | None = None
        self._starting: Any = None

    def on_event(self, event: Event) -> None:
        """Queue the event for drawing."""
        if not event.durable:
            return
        self._queue.append(event)
        if self._live is None and self._starting is None and self.console.is_terminal:
            self._starting = asyncio.get_running_loop().run_in_executor(None, self._start_live)

    def backfill(self, events: Sequence[Event]) -> None:
        """A run is resumed here with its stored log: its tree is drawn whole (its agent, the
        turns before the resume), not from ``run_resumed`` on."""
        self._queue.extend(event for event in events if event.durable)

    def _start_live(self) -> None:
        from rich.live import Live

        with self._lock:
            if self._live is None:
                self._live = Live(
                    console=self.console,
                    get_renderable=self._render,
                    refresh_per_second=8,
                    redirect_stdout=False,
                    redirect_stderr=False,
                    transient=True,
                )
                self._live.start()

    def _take_queued(self) -> None:
        while True:
            try:
                event = self._queue.popleft()
            except IndexError:
                return
            root = self._root_of.get(event.run_id)
            if root is None:
                parent = getattr(event, "parent_run_id", None)
                root = self._root_of.get(parent, event.run_id) if parent else event.run_id
                self._root_of[event.run_id] = root
            self._events.setdefault(root, []).append(event)
            self._builder.feed(event)

    def _render(self) -> RenderableType:
        from rich.console import Group

        from .render import span_tree

        with self._lock:
            self._take_queued()
            now = time.time()
            trees = [span_tree([r], "running", now) for r in self._builder.roots if r.end is None]
        return Group(*trees)

    async def flush(self, run_id: str) -> None:
        """When a root run ends, print its final tree (in a thread)."""
        if self._starting is not None:
            await self._starting
            self._starting = None
        await asyncio.to_thread(self._finish, run_id)

    def _finish(self, run_id: str) -> None:
        from .render import span_tree, trace_header

        with self._lock:
            self._take_queued()
            if self._root_of.get(run_id, run_id) != run_id:
                return  # a subagent run: drawn with its parent
            events = self._events.pop(run_id, [])
            for run in [r for r, root in self._root_of.items() if root == run_id]:
                del self._root_of[run]
                self._builder.forget(run)
            live = self._live
            if live is not None and not any(r.end is None for r in self._builder.roots):
                live.stop()
                self._live = None
        if events:
            trace: Trace = build_trace(events, fold_messages=False)
            self.console.print(span_tree(trace.roots, trace_header(trace)))
