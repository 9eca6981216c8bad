"""JsonExporter: one JSON document per trace (summary, totals and the span tree)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..events import Event
from .files import default_trace_dir, file_name_for
from .spans import build_trace
from .writer import trace_writer

__all__ = ["JsonExporter"]


class JsonExporter:
    """Writes ``<path>/<trace_id>.json`` when a trace's root run ends (default
    ``.tether/traces``), holding :meth:`Trace.to_dict`: ids, state, totals and nested spans.

    A trace's events are kept in memory until its root run ends; subagent runs join their
    parent's document. A run resumed in a process that did not see it start gets a document of
    its own, ``<run_id>.resumed-<seq>.json``, so the first document is never overwritten.
    With ``keep=True`` nothing is written and the documents stay in :attr:`documents` (handy in
    tests and notebooks).
    """

    def __init__(self, path: str | Path | None = None, *, keep: bool = False) -> None:
        self.path = Path(path) if path is not None else default_trace_dir()
        self.keep = keep
        #: trace id -> document, for every trace finished (when ``keep`` is true).
        self.documents: dict[str, dict[str, Any]] = {}
        self._events: dict[str, list[Event]] = {}
        self._trace_of: dict[str, str] = {}
        self._roots: set[str] = set()

    def on_event(self, event: Event) -> None:
        """Collect a durable event under its trace."""
        if not event.durable:
            return
        run_id = event.run_id
        trace_id = self._trace_of.get(run_id)
        if trace_id is None:
            parent = getattr(event, "parent_run_id", None)
            if parent is not None and parent in self._trace_of:
                trace_id = self._trace_of[parent]
            elif event.type == "run_started":
                trace_id = getattr(event, "trace_id", None) or run_id
                self._roots.add(run_id)
            else:  # resumed here, started elsewhere: a document of its own, not an overwrite
                trace_id = f"{run_id}.resumed-{event.seq}"
                self._roots.add(run_id)
            self._trace_of[run_id] = trace_id
        self._events.setdefault(trace_id, []).append(event)

    async def flush(self, run_id: str) -> None:
        """When a root run ends, hand its trace document to the writer thread."""
        trace_id = self._trace_of.get(run_id)
        if trace_id is None or run_id not in self._roots:
            return
        self._roots.discard(run_id)
        events = self._events.pop(trace_id, [])
        for run in [r for r, t in self._trace_of.items() if t == trace_id]:
            del self._trace_of[run]

        def document() -> dict[str, Any]:
            return build_trace(events, trace_id=trace_id).to_dict()

        if self.keep:
            self.documents[trace_id] = document()
        else:
            trace_writer().replace(self.path / f"{file_name_for(trace_id)}.json", document)
            await trace_writer().drain(10.0)  # on disk when the run returns

    async def drain(self) -> None:
        """Wait until every document handed over so far is written."""
        await trace_writer().drain()
