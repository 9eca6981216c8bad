"""Replay: re-run a recorded run with the model's answers served from its event log.

The replayed run goes through the one loop like any run. Its model is a :class:`ReplayModel`
that, for the n-th request, first checks that the run's messages equal the messages the
recorded run had at that point (rebuilt by folding the recorded events up to its n-th
``model_response``), then answers with the recorded response. The first request that differs
raises :class:`~tether.errors.ReplayDivergence` with a readable diff. Tools run again
(``tools="live"``) or their recorded results are served (``tools="recorded"``); subagent calls
and calls that waited for a person's approval are always served from the record.

The Runner hands this module what it needs of it (``Runner.replay`` passes its own start and
finish steps as :class:`ReplaySeams`), so replay reads no private member of another module.
"""

from __future__ import annotations

import difflib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .._digest import REQUEST_PARTS, request_digest, request_parts
from ..errors import ReplayDivergence, UserError
from ..events import (
    ApprovalDecided,
    ApprovalRequested,
    Event,
    HistorySummarized,
    ModelResponseEvent,
    RunStarted,
    SubagentFinished,
    SubagentSuspended,
    ToolCallFinished,
)
from ..messages import Message, message_to_dict
from ..models.base import ModelRequest, ModelResponse, ModelStreamEvent
from ..results import Result, RunState
from ..tracing.files import check_trace_id, default_trace_dir, read_events, trace_path
from ..tracing.redact import REDACTED
from ._start import RunArgs, restored_config
from .config import RunConfig

if TYPE_CHECKING:
    from .._spec import AgentSpec
    from ..store import Store
    from ..tracing.base import Exporter
    from ._wiring import RunWiring

__all__ = ["ReplayModel", "ReplaySeams", "load_recorded_run", "replay_run"]

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


def _recorded_requests(events: Sequence[Event]) -> list[tuple[list[Message], ModelResponseEvent]]:
    """For each recorded model response, the run's messages when it was requested."""
    state = RunState(events[0].run_id if events else "")
    out: list[tuple[list[Message], ModelResponseEvent]] = []
    for event in events:
        if isinstance(event, ModelResponseEvent):
            out.append((list(state.messages), event))
        state.apply(event)
    return out


def _render_messages(messages: Sequence[Message]) -> list[str]:
    """Messages as lines of text, one per part, for diffs."""
    lines: list[str] = []
    for i, message in enumerate(messages):
        who = f"{message.role}" + (f" ({message.agent})" if message.agent else "")
        for part in message.parts:
            data = {
                k: v
                for k, v in message_to_dict(Message(message.role, [part]))["parts"][0].items()
                if k != "kind"
            }
            lines.append(f"[{i}] {who} {part.kind}: {json.dumps(data, ensure_ascii=False)}")
        if not message.parts:
            lines.append(f"[{i}] {who}: (empty)")
    return lines


class ReplayModel:
    """Answers each request with the next recorded response, after checking the request."""

    def __init__(
        self, recorded: list[tuple[list[Message], ModelResponseEvent]], session: RunWiring
    ) -> None:
        self.recorded = recorded
        self.session = session
        self.served = 0

    @property
    def name(self) -> str:
        """``replay`` (the recorded model names are kept on each response)."""
        return "replay"

    async def request(self, request: ModelRequest) -> ModelResponse:
        """The next recorded response, or ReplayDivergence."""
        turn = self.served + 1
        if self.served >= len(self.recorded):
            raise ReplayDivergence(
                turn,
                f"the replayed run asked the model a turn-{turn} question; the recording "
                f"ends after {len(self.recorded)} model response(s)",
            )
        expected, response = self.recorded[self.served]
        actual = self.session.state.messages
        want = [message_to_dict(m) for m in expected]
        got = [message_to_dict(m) for m in actual]
        if want != got:
            diff = "\n".join(
                difflib.unified_diff(
                    _render_messages(expected),
                    _render_messages(actual),
                    "recorded",
                    "replayed",
                    lineterm="",
                )
            )
            raise ReplayDivergence(turn, diff)
        _check_request(turn, request, response, self.session.state.model_messages())
        self.served += 1
        return ModelResponse(
            list(response.parts),
            response.usage.copy(),
            response.model,
            response.finish_reason,
            response.response_id,
        )

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        """The recorded response, as a one-item stream."""
        yield await self.request(request)


def _check_request(
    turn: int,
    request: ModelRequest,
    recorded: ModelResponseEvent,
    view: list[Message],
) -> None:
    """ReplayDivergence naming the parts of the request (instructions, tools, output schema,
    settings, the messages a history policy sent) that differ from the recording's."""
    want = recorded.request_digest
    if not want:
        return  # recorded before requests were digested (log format 1)
    got = request_digest(request, messages="messages" in want)
    changed = [p for p in REQUEST_PARTS if p in want and want.get(p) != got.get(p)]
    if "messages" not in want:
        # the recording sent its history as it stood: a history policy added since shapes it
        sent = [message_to_dict(m) for m in request.messages]
        if sent != [message_to_dict(m) for m in view]:
            changed.append("messages")
    if not changed:
        return
    now = request_parts(request, messages=True)
    lines = [f"what is sent to the model differs in: {', '.join(changed)}"]
    for part in changed:
        value = now[part]
        if part == "tools":
            value = [t[0] for t in value]
        lines.append(f"  {part} (replayed): {json.dumps(value, default=repr)[:500]}")
    raise ReplayDivergence(turn, "\n".join(lines))


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
    model = ReplayModel(_recorded_requests(events), session)
    session.model_override = model
    finished = {e.call_id: e for e in events if isinstance(e, ToolCallFinished)}
    # Served from the record even with live tools: subagent calls (their model calls are in
    # other logs) and calls a person approved or rejected (nobody is there to decide again).
    served = {e.call_id for e in events if isinstance(e, SubagentFinished | ApprovalRequested)}
    # a person's decisions are part of the record: a rejection degrades the replay as it did
    session.state.decisions.update((e.call_id, e) for e in events if isinstance(e, ApprovalDecided))
    # summaries written outside the loop (a history policy's) are served from the record too
    session.recorded_summaries = {e.key: e for e in events if isinstance(e, HistorySummarized)}
    waits = {e.call_id: e for e in events if isinstance(e, SubagentSuspended)}
    if any(call_id not in finished for call_id in waits):  # a subagent still waits in the record
        from .._subagents import recorded_child

        session.run_child = recorded_child(seams.store, waits, session.run_child)
    if tools == "recorded":
        session.recorded_tools = finished
    elif served:
        session.recorded_tools = {c: finished[c] for c in served if c in finished}
    result = await seams.finish(session)
    if model.served < len(model.recorded):
        raise ReplayDivergence(
            model.served + 1,
            f"the replayed run ended after {model.served} model response(s); the recording "
            f"went on to {len(model.recorded)}",
        )
    return result
