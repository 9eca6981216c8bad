"""Replaying a recorded run: load its events, start a run with the recorded settings and a
:class:`~tether.replay.ReplayModel`, serve what cannot run again from the record, and check
the replay used all of it (see :mod:`tether.replay`)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..config import RunConfig
from ..config._record import RunArgs, restored_config
from ..errors import ReplayDivergence, UserError
from ..events import (
    ApprovalDecided,
    ApprovalRequested,
    BreakpointHit,
    Event,
    HistorySummarized,
    ModelResponseEvent,
    RunStarted,
    SubagentFinished,
    SubagentSuspended,
    ToolCallDeltaEvent,
    ToolCallFinished,
)
from ..results import Result
from ..tracing.files import check_trace_id, default_trace_dir, read_events, trace_path
from ..tracing.redact import REDACTED
from ._model import ReplayModel, recorded_requests

if TYPE_CHECKING:
    from .._spec import AgentSpec
    from ..engine._wiring import RunWiring
    from ..store import Store
    from ..tracing.base import Exporter

__all__ = ["ReplaySeams", "load_recorded_run", "replay_run"]

ReplayTools = Literal["live", "recorded"]


@dataclass(frozen=True)
class ReplaySeams:
    """What a replay needs of the Runner that replays: its agent registry, its store (the
    record, and where a subagent that waited in the record is read from), its exporters (the
    JSONL one says where the traces are) and the two steps of a run (build the wiring, drive
    the loop through the sinks to the Result)."""

    get_agent: Callable[[str], AgentSpec | None]
    store: Store | None
    exporters: Sequence[Exporter]
    start: Callable[[RunArgs], Awaitable[RunWiring]]
    finish: Callable[[RunWiring], Awaitable[Result[Any]]]


def _root_events(events: list[Event], run_id: str | None) -> list[Event]:
    runs: dict[str, list[Event]] = {}
    for event in events:
        runs.setdefault(event.run_id, []).append(event)
    if run_id is not None and run_id in runs:
        chosen = runs[run_id]
    else:
        roots = [
            evs
            for evs in runs.values()
            if any(isinstance(e, RunStarted) and e.parent_run_id is None for e in evs)
        ]
        if not roots:
            return []
        chosen = roots[0]
    return sorted(chosen, key=lambda e: e.seq)


async def load_recorded_run(
    store: Store | None, exporters: Sequence[Exporter], trace_id: str
) -> list[Event]:
    """The recorded events of a run: from ``store``, else from the JSONL traces (the directory
    of the JSONL exporter among ``exporters``, else the default trace directory).

    ``trace_id`` is a run id, a trace id, or the path of a ``.jsonl`` trace file.
    """
    import asyncio

    if store is not None and not trace_id.endswith(".jsonl"):
        events = await store.load(trace_id)
        if events:
            return events
    if trace_id.endswith(".jsonl"):
        path = Path(trace_id)
        lookup: str | None = None
    else:
        check_trace_id(trace_id)
        path = trace_path(_trace_dir(exporters), trace_id)
        lookup = trace_id
    if not await asyncio.to_thread(path.is_file):
        where = "the store or " if store is not None else ""
        raise UserError(f"no recorded run {trace_id!r} in {where}{path}")
    events = await asyncio.to_thread(read_events, path)
    return _root_events(events, lookup)


def _trace_dir(exporters: Sequence[Exporter]) -> Path:
    from ..tracing.jsonl import JsonlExporter

    for exporter in exporters:
        if isinstance(exporter, JsonlExporter):
            return exporter.path
    return default_trace_dir()


def _is_redacted(events: Sequence[Event]) -> bool:
    for event in events:
        if isinstance(event, ModelResponseEvent):
            return any(
                getattr(p, "text", None) == REDACTED or getattr(p, "arguments", None) == REDACTED
                for p in event.parts
            )
    return False


#: Events that name a call without being part of it in the log (a stream's delta, a pause).
_NOT_THE_CALLS = (ToolCallDeltaEvent, BreakpointHit)


def _call_records(events: Sequence[Event]) -> dict[str, list[Event]]:
    """Each finished call's recorded events, in order, up to its ``tool_call_finished``: what
    a replay that serves the call from the record emits in its place."""
    calls: dict[str, list[Event]] = {}
    done: dict[str, list[Event]] = {}
    for event in events:
        call_id = getattr(event, "call_id", None)
        if not call_id or isinstance(event, _NOT_THE_CALLS) or call_id in done:
            continue
        calls.setdefault(call_id, []).append(event)
        if isinstance(event, ToolCallFinished):
            done[call_id] = calls.pop(call_id)
    return done


async def replay_run(
    seams: ReplaySeams,
    trace_id: str,
    *,
    agent: AgentSpec | str | None = None,
    tools: ReplayTools = "live",
    deps: Any = None,
    run_config: RunConfig | None = None,
) -> Result[Any]:
    """Re-run the recorded run ``trace_id`` (see the module docstring); returns its Result.

    The replay runs with the settings the recorded run was started with; what was recorded only
    by name (a RunConfig policy, guardrails, a model object) is given again in ``run_config``.
    """
    if tools not in ("live", "recorded"):
        raise UserError(f"tools must be 'live' or 'recorded', got {tools!r}")
    events = await load_recorded_run(seams.store, seams.exporters, trace_id)
    start = next((e for e in events if isinstance(e, RunStarted)), None)
    if start is None:
        raise UserError(f"recorded run {trace_id!r} has no run_started event: cannot replay it")
    if _is_redacted(events):
        raise UserError(
            f"trace {trace_id!r} was recorded with trace_include_sensitive_data=False: it holds "
            "no model answers to replay; replay from the runner's store instead"
        )
    chosen = agent if agent is not None else start.agent
    if isinstance(chosen, str) and seams.get_agent(chosen) is None:
        raise UserError(
            f"the recorded run was made by agent {chosen!r}: register it with "
            f"runner.register_agent(), or pass agent= to replay()"
        )
    recorded = RunConfig(
        max_turns=start.max_turns,
        max_cost=start.max_cost,
        workflow_name=start.workflow_name,
        group_id=start.group_id,
        trace_metadata={**(start.metadata or {}), "replay_of": start.run_id},
    )
    settings = start.settings
    if settings is not None:  # the replay is told nothing of the run's own timeout
        values = {k: v for k, v in (settings.get("values") or {}).items() if k != "timeout"}
        settings = {**settings, "values": values}
    config = restored_config(settings, run_config, recorded, start.run_id, verb="replay")
    session = await seams.start(
        RunArgs(chosen, start.input, deps, None, f"replay-{uuid.uuid4().hex}", config)
    )
    assert session.start_event is not None
    session.start_event.history = list(start.history)
    # in the recorded run's thread (what its tools see: ctx.thread_id, ctx.memory), left as is
    session.start_event.thread_id = start.thread_id
    session.saves_thread = False
    model = ReplayModel(recorded_requests(events), session)
    session.model_override = model
    calls = _call_records(events)  # each finished call's events, to serve it from the record
    # Served from the record even with live tools: subagent calls (their model calls are in
    # other logs) and calls a person approved or rejected (nobody is there to decide again).
    served = {e.call_id for e in events if isinstance(e, SubagentFinished | ApprovalRequested)}
    # a person's decisions are part of the record: a rejection degrades the replay as it did
    session.state.decisions.update((e.call_id, e) for e in events if isinstance(e, ApprovalDecided))
    # summaries written outside the loop (a history policy's) are served from the record too
    session.recorded_summaries = {e.key: e for e in events if isinstance(e, HistorySummarized)}
    waits = {e.call_id: e for e in events if isinstance(e, SubagentSuspended)}
    if any(call_id not in calls for call_id in waits):  # a subagent still waits in the record
        from .._subagents import recorded_child

        session.run_child = recorded_child(seams.store, waits, session.run_child)
    if tools == "recorded":
        session.recorded_tools = calls
    elif served:
        session.recorded_tools = {c: calls[c] for c in served if c in calls}
    result = await seams.finish(session)
    if model.served < len(model.recorded):
        raise ReplayDivergence(
            model.served + 1,
            f"the replayed run ended after {model.served} model response(s); the recording "
            f"went on to {len(model.recorded)}",
        )
    return result
