"""Cases from reality: recorded runs (JSONL traces or a store) turned into a Dataset.

Each finished root run of the agent becomes a case named after its run id: the run's input as
``input`` (a prompt string when it was one user message, else the list of input items) and its
recorded final output as ``expected``. Subagent runs, unfinished runs and runs that did not
complete are left out; a thread's earlier history is not part of the case.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..errors import TetherError, UserError
from ..events import Event
from ..messages import messages_to_input_list
from ..results import RunState
from ._dataset import Case, Dataset

__all__ = ["cases_from_store", "cases_from_traces"]


def _fold(run_id: str, events: Iterable[Event]) -> RunState:
    return RunState.from_events(run_id, (event for event in events if event.run_id == run_id))


def _case(state: RunState, source: str) -> Case | None:
    started = state.started_event
    if started is None or state.finished_event is None or not started.input:
        return None
    messages = started.input
    if len(messages) == 1 and messages[0].role == "user" and not messages[0].tool_calls:
        prompt: Any = messages[0].text
    else:
        prompt = messages_to_input_list(messages)
    expected = state.output_data if state.output_data is not None else state.final_text
    return Case(
        name=state.run_id,
        input=prompt,
        expected=expected,
        metadata={
            "run_id": state.run_id,
            "trace_id": state.trace_id,
            "agent": started.agent,
            "source": source,
            "recorded_at": started.at,
        },
    )


def _keep(state: RunState, agent: str | None, states: Sequence[str]) -> bool:
    started = state.started_event
    return (
        started is not None
        and started.parent_run_id is None
        and (agent is None or started.agent == agent)
        and state.status in states
    )


def _dataset(cases: list[Case], name: str) -> Dataset:
    cases.sort(key=lambda c: (c.metadata.get("recorded_at") or 0.0, c.name))
    return Dataset(cases, name=name)


def cases_from_traces(
    directory: str | Path,
    agent: str | None = None,
    *,
    limit: int | None = None,
    states: Sequence[str] = ("completed",),
) -> Dataset:
    """A dataset from the JSONL traces in ``directory``: the finished runs of ``agent`` (every
    agent when None) whose state is in ``states``, at most ``limit`` (newest traces first)."""
    from ..tracing.files import list_trace_files, read_events

    path = Path(directory)
    if not path.is_dir():
        raise UserError(f"no trace directory {str(path)!r}")
    cases: list[Case] = []
    for found in list_trace_files(path):
        if limit is not None and len(cases) >= limit:
            break
        try:
            events = read_events(found.path)
        except (OSError, ValueError, TypeError, KeyError, TetherError):
            continue  # not a tether trace (or one this version cannot read)
        roots = [
            e.run_id
            for e in events
            if e.type == "run_started" and getattr(e, "parent_run_id", None) is None
        ]
        for run_id in dict.fromkeys(roots):
            state = _fold(run_id, events)
            if _keep(state, agent, states):
                case = _case(state, str(found.path))
                if case is not None and (limit is None or len(cases) < limit):
                    cases.append(case)
    return _dataset(cases, f"traces:{agent or 'all'}")


async def cases_from_store(
    store: Any,
    agent: str | None = None,
    *,
    limit: int = 100,
    states: Sequence[str] = ("completed",),
) -> Dataset:
    """A dataset from the runs a store holds (a Store, or a URL such as ``sqlite:///runs.db``
    or ``postgresql://...``), read only: the latest ``limit`` finished runs of ``agent``."""
    from ..store import open_store

    opened = open_store(store)
    try:
        status = states[0] if len(states) == 1 else None
        infos = await opened.list_runs(limit=limit * 4, status=status, agent=agent)
        cases: list[Case] = []
        for info in infos:
            if len(cases) >= limit:
                break
            if info.parent_run_id is not None or info.status not in states:
                continue
            state = _fold(info.run_id, await opened.load(info.run_id))
            if _keep(state, agent, states):
                case = _case(state, "store")
                if case is not None:
                    cases.append(case)
    finally:
        if opened is not store:
            await opened.close()
    return _dataset(cases, f"store:{agent or 'all'}")
