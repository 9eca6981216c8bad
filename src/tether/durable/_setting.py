"""``RunConfig(durability=...)``: a run handed to a durable engine by the Runner that got it.

The same Agent and the same ``runner.run`` / ``agent.run`` call everywhere: with a durability
set, the run is made by that engine inside the current workflow (DBOS or Temporal), each model
and tool call a step, and the refusals are the engine's (outside a workflow, the run fails at
start rather than running without durability).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._errors import DurableEngineError

if TYPE_CHECKING:
    from .._spec import AgentSpec
    from ..config import RunConfig
    from ..messages import Message
    from ..results import Result, RunState

__all__ = [
    "ENGINE_KEY",
    "decide_through",
    "refuse_engine_run",
    "refuse_without_engine",
    "run_durably",
]

#: The ``run_started`` metadata key naming the engine whose workflow ran the run (its log in a
#: tether store is the copy the workflow writes: ``DBOSDurability(store=...)``).
ENGINE_KEY = "tether.engine"
_ENGINES = {"dbos": "DBOS", "temporal": "Temporal"}
#: The states of a stored run that tether would continue (resume, decide, cancel).
_CONTINUABLE = ("awaiting_approval", "awaiting_input", "awaiting_deferred", "interrupted", "failed")
_DECIDE = {
    "dbos": "DBOSDurability.approve(workflow_id, call_id) (reject, respond, resolve), from any "
    "process",
    "temporal": "TemporalDurability.approve(handle, call_id) (reject, respond, resolve) or the "
    "update tether.decide (temporal workflow update execute)",
}


async def run_durably(
    agent: AgentSpec,
    input: str | Message | Sequence[Any],
    deps: Any,
    ids: tuple[str | None, str | None],
    run_config: RunConfig,
) -> Result[Any]:
    """Run ``agent`` with the engine of ``run_config.durability``. ``ids`` are (thread id, run
    id): the run id must be None (it is the workflow id); a thread id needs the engine's
    store (the engine refuses it otherwise)."""
    durability = run_config.durability
    run = getattr(durability, "run", None)
    if not callable(run) or not hasattr(durability, "_runner_or_default"):
        raise DurableEngineError(
            f"RunConfig(durability=...) takes a tether.durable engine (DBOSDurability(), "
            f"TemporalDurability([...])), got {durability!r}"
        )
    thread_id, run_id = ids
    if run_id is not None:
        raise DurableEngineError(
            "run_id= is not supported with RunConfig(durability=...): the run id is the workflow id"
        )
    config = dataclasses.replace(run_config, durability=None)
    more: dict[str, Any] = {"thread_id": thread_id} if thread_id is not None else {}
    result: Result[Any] = await run(agent, input, deps=deps, run_config=config, **more)
    return result


def decide_through(state: RunState) -> str | None:
    """How to decide the pending calls of an engine's run (None: not an engine's run)."""
    started = state.started_event
    engine = (started.metadata or {}).get(ENGINE_KEY) if started is not None else None
    if not isinstance(engine, str):
        return None
    name = _ENGINES.get(engine, engine)
    return f"run by a {name} workflow: decide it with " + _DECIDE.get(engine, "the workflow")


def refuse_engine_run(state: RunState, doing: str) -> None:
    """Refuse to ``doing`` (resume, decide, cancel) an unfinished run an engine's workflow
    runs: tether's log of it is the copy the workflow writes, and the engine owns the run."""
    if state.finished and state.status not in _CONTINUABLE:
        return
    started = state.started_event
    engine = (started.metadata or {}).get(ENGINE_KEY) if started is not None else None
    if not isinstance(engine, str):
        return
    name = _ENGINES.get(engine, engine)
    how = _DECIDE.get(engine, f"the {name} workflow")
    raise DurableEngineError(
        f"run {state.run_id!r} is run by a {name} workflow (id {state.run_id!r}); this log is "
        f"the copy the workflow writes, so tether cannot {doing} it here: {name} owns the run. "
        f"Send decisions to the workflow with {how}; stop it with {name}'s own cancel"
    )


def refuse_without_engine(run_config: RunConfig | None, *, handle: bool) -> None:
    """``RunConfig(durability=...)`` where only ``run()`` hands a run to an engine: a stream,
    or a handle (``runner.start``, and with it breakpoints) is refused, never run without
    durability."""
    if run_config is None or run_config.durability is None:
        return
    what = (
        "runner.start() (a handle, breakpoints) cannot run under a durable engine: breakpoints "
        "cannot pause a run under one (a pause lives in one process's memory, which the "
        "engine's recovery would lose, and it would hold the workflow's task). Debug the agent "
        "with breakpoints without an engine (tether's own store), or keep the engine run's log "
        "with store= and step through it with tether replay (Runner.replay); "
        if handle
        else "run_stream() cannot run under a durable engine; "
    )
    raise DurableEngineError(
        what + "RunConfig(durability=...) is taken by run() (runner.run, agent.run) only, and "
        "this call would run without durability. Inside the workflow use durable.run(...), "
        "or durable.run_stream(...) / run_published(...) (DBOS) and TemporalDurability.events "
        "(Temporal) for the events"
    )
