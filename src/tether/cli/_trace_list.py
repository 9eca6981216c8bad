"""What ``tether trace ls`` reads: one summary per trace, newest run first, found fast.

A folder of 10,000 traces took seconds to list, since every file was read and folded into
spans. Two things make it fast, and both work on any trace folder, old flat ones included:

- **Reading stops early.** A trace's run starts before its file was last written
  (``started_at <= mtime``), so files are read newest-written first, and once ``limit``
  summaries are kept, no file written before the oldest kept start can make the list.
- **Summaries are indexed.** ``<dir>/.ls-index.json`` keeps each file's summary with the size
  and modification time it was made from; a file that has not changed since is not read
  again. The index is only a cache: a missing, stale or corrupt one is rebuilt, never trusted
  for a file that changed, and writing it is best effort.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import TetherError
from ..tracing.files import TraceFile, list_trace_files, read_events
from ..tracing.spans import build_trace
from ._traces import error_count, trace_agents

__all__ = ["INDEX_NAME", "TraceSummary", "list_summaries"]

#: The index file in a trace folder (not a ``.jsonl``: it is never taken for a trace).
INDEX_NAME = ".ls-index.json"
_VERSION = 1


@dataclass(slots=True)
class TraceSummary:
    """What a listing shows of one trace."""

    trace_id: str
    agent: str
    #: Every agent that acted (handoffs and subagents included), the starting one first.
    agents: list[str]
    state: str
    started_at: float
    duration_ms: float | None
    tokens: int
    cost: float | None
    errors: int


def _summarize(found: TraceFile) -> TraceSummary | None:
    """The summary of a trace file (None when it is not a tether trace)."""
    try:
        events = read_events(found.path)
        trace = build_trace(events, trace_id=found.trace_id, fold_messages=False)
    except (OSError, ValueError, TypeError, KeyError, TetherError):
        return None  # not a tether trace (or torn beyond use): skipped
    return TraceSummary(
        trace_id=trace.trace_id,
        agent=trace.agent,
        agents=trace_agents(trace),
        state=trace.state,
        started_at=trace.started_at,
        duration_ms=trace.duration_ms,
        tokens=trace.usage.get("input_tokens", 0) + trace.usage.get("output_tokens", 0),
        cost=trace.cost,
        errors=error_count(trace),
    )


class _Index:
    """The summaries of a folder's files by file name, with the size and mtime they match."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / INDEX_NAME
        self.entries: dict[str, list[Any]] = {}
        self.changed = False
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and data.get("version") == _VERSION:
                entries = data.get("entries")
                if isinstance(entries, dict):
                    self.entries = entries
        except (OSError, ValueError):
            pass  # no index yet, or not one we can read: rebuilt as files are read

    def get(self, found: TraceFile) -> TraceSummary | bool | None:
        """The indexed summary of an unchanged file, None for an indexed non-trace, False when
        the file has to be read."""
        entry = self.entries.get(found.path.name)
        if not isinstance(entry, list) or len(entry) != 3:
            return False
        size, mtime, summary = entry
        if size != found.size or mtime != found.mtime:
            return False
        if summary is None:
            return None
        try:
            return TraceSummary(**summary)
        except TypeError:
            return False

    def put(self, found: TraceFile, summary: TraceSummary | None) -> None:
        shown = asdict(summary) if summary is not None else None
        self.entries[found.path.name] = [found.size, found.mtime, shown]
        self.changed = True

    def save(self, names: set[str]) -> None:
        """Write the index back (entries of files that are gone dropped); best effort."""
        stale = [name for name in self.entries if name not in names]
        for name in stale:
            del self.entries[name]
        if not (self.changed or stale):
            return
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        document = {"version": _VERSION, "entries": self.entries}
        with contextlib.suppress(OSError, ValueError):
            tmp.write_text(json.dumps(document, separators=(",", ":")), encoding="utf-8")
            os.replace(tmp, self.path)
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def list_summaries(
    directory: Path,
    *,
    keep: Callable[[TraceSummary], bool] = lambda summary: True,
    limit: int | None = None,
    on_file: Callable[[], None] | None = None,
) -> tuple[list[TraceSummary], int]:
    """The summaries ``keep`` accepts, newest run first, at most ``limit``; and how many traces
    the folder has (files not read are counted as traces). ``on_file`` is called for each file
    looked at (a progress bar)."""
    files = list_trace_files(directory)  # newest written first
    index = _Index(directory)
    kept: list[TraceSummary] = []
    early = limit is not None and limit >= 1
    traces = len(files)
    for found in files:
        if early and limit is not None and len(kept) >= limit:
            kept.sort(key=lambda s: s.started_at, reverse=True)
            del kept[limit:]
            if found.mtime < kept[-1].started_at:
                break  # this file and all older ones started before the oldest kept run
        if on_file is not None:
            on_file()
        summary = index.get(found)
        if summary is False:
            summary = _summarize(found)
            index.put(found, summary)
        if not isinstance(summary, TraceSummary):
            traces -= 1  # not a tether trace
        elif keep(summary):
            kept.append(summary)
    kept.sort(key=lambda s: s.started_at, reverse=True)
    if limit is not None:
        kept = kept[:limit]
    index.save({f.path.name for f in files})
    return kept, traces
