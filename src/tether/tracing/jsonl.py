"""JsonlExporter: one JSONL file per trace, one event per line (the Runner's default telemetry)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path

from ..events import Event
from .files import default_trace_dir, file_name_for
from .writer import RunFile, trace_writer

__all__ = ["JsonlExporter"]


class JsonlExporter:
    """Writes each trace to ``<path>/<trace_id>.jsonl`` (default ``.tether/traces``).

    The file holds the run's durable events exactly as the store keeps them, so a trace file can
    be listed, shown, searched and replayed on its own; subagent runs go into their parent's
    file. Events are buffered per run on the event loop, and serialized and written by a
    background thread: every ``live_interval`` seconds while runs are going, what they have so
    far (so the dashboard can follow a long run live), and the rest when each run ends. The run's
    ``flush`` waits (at most ``flush_timeout`` seconds) until its trace is on disk, so when
    ``run()`` or ``run_sync()`` returns its trace is complete: a SIGKILL right after loses
    nothing, and the dashboard never shows a finished run as running.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        live_interval: float = 0.25,
        flush_timeout: float = 10.0,
    ) -> None:
        self.path = Path(path) if path is not None else default_trace_dir()
        self.live_interval = live_interval
        self.flush_timeout = flush_timeout
        self._buffers: dict[str, list[Event]] = {}
        self._files: dict[str, str | RunFile] = {}
        # One timer for every run going (not one per run): each tick hands what they have so
        # far to the writer, and the next is set while any run is still buffered.
        self._tick: asyncio.TimerHandle | None = None
        self._tick_loop: asyncio.AbstractEventLoop | None = None
        self._dir = os.path.join(os.fspath(self.path), "")  # with its separator

    def _file_for(self, event: Event) -> str | RunFile:
        if event.type != "run_started":
            # A run resumed in a new process: its file is found (in the writer thread) through
            # the pointer left when it started, since only run_started names the trace.
            return RunFile(self.path, event.run_id)
        parent = getattr(event, "parent_run_id", None)
        known = self._files.get(parent) if parent is not None else None
        if isinstance(known, str):
            path = known
        else:
            trace_id = getattr(event, "trace_id", None) or event.run_id
            path = f"{self._dir}{file_name_for(trace_id)}.jsonl"
            if trace_id == event.run_id:  # the run's own file: no pointer needed
                return path
        name = os.path.basename(path)
        if name != f"{file_name_for(event.run_id)}.jsonl":
            trace_writer().pointer(RunFile(self.path, event.run_id).pointer, name)
        return path

    def on_event(self, event: Event) -> None:
        """Buffer a durable event of its run."""
        if not event.durable:
            return
        run_id = event.run_id
        buffer = self._buffers.get(run_id)
        if buffer is None:
            buffer = self._buffers[run_id] = []
            if run_id not in self._files:
                self._files[run_id] = self._file_for(event)
            if self.live_interval > 0:
                loop = asyncio.get_running_loop()
                if self._tick is None or self._tick_loop is not loop:
                    self._tick_loop = loop
                    self._tick = loop.call_later(self.live_interval, self._spill)
        buffer.append(event)
        if event.type == "run_finished":
            # the writer thread writes the run's trace while the run checkpoints and ends, so
            # its flush finds it written, most often, and waits for no hand-over back
            self._buffers[run_id] = []
            trace_writer()._append_now(self._files[run_id], buffer)

    def backfill(self, events: Sequence[Event]) -> None:
        """A run is resumed here, and ``events`` is its stored log: write what its trace file
        lacks of it, before the run goes on. That is what a crashed process still held in
        memory, and the decisions (approvals, answers, deferred results) a resume records in
        the store without running them through the loop. The file is found from the log's
        ``run_started``, so a pointer the crash never wrote is written now."""
        durable = [event for event in events if event.durable]
        if not durable:
            return
        run_id = durable[0].run_id
        if run_id not in self._files:
            self._files[run_id] = self._file_for(durable[0])
        trace_writer().fill(self._files[run_id], durable)

    def _spill(self) -> None:
        """Hand what every run going has so far to the writer (the live view of long runs)."""
        self._tick = None
        for run_id, buffer in list(self._buffers.items()):
            path = self._files.get(run_id)
            if buffer and path is not None:
                self._buffers[run_id] = []
                trace_writer().append(path, buffer)
        if self._buffers and self._tick_loop is not None:
            self._tick = self._tick_loop.call_later(self.live_interval, self._spill)

    async def flush(self, run_id: str) -> None:
        """Hand the run's remaining events to the writer thread and wait until they are on
        disk."""
        buffer = self._buffers.pop(run_id, None)
        # Nothing of the run is kept once it ends (memory stays flat over a long uptime): a
        # run resumed later finds its file again through RunFile (the pointer or its id).
        path = self._files.pop(run_id, None)
        if buffer and path is not None:
            trace_writer()._append_now(path, buffer)  # the drain below adds no wake-up
        if buffer is not None:  # the run had events here: its trace is on disk before it ends
            await trace_writer().drain(self.flush_timeout)

    def trace_file(self, trace_id: str) -> Path:
        """Where the trace with this id is written."""
        return self.path / f"{file_name_for(trace_id)}.jsonl"

    async def drain(self) -> None:
        """Wait until every trace handed over so far is written."""
        await trace_writer().drain()
