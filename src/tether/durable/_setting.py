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
    from ..messages import Message
    from ..results import Result
    from ..run.config import RunConfig

__all__ = ["run_durably"]


async def run_durably(
    agent: AgentSpec,
    input: str | Message | Sequence[Any],
    deps: Any,
    ids: tuple[str | None, str | None],
    run_config: RunConfig,
) -> Result[Any]:
    """Run ``agent`` with the engine of ``run_config.durability``. ``ids`` (thread id, run id)
    must be None: the run id is the workflow id, and the engine's record is the run's."""
    durability = run_config.durability
    run = getattr(durability, "run", None)
    if not callable(run) or not hasattr(durability, "_runner_or_default"):
        raise DurableEngineError(
            f"RunConfig(durability=...) takes a tether.durable engine (DBOSDurability(), "
            f"TemporalDurability([...])), got {durability!r}"
        )
    if ids != (None, None):
        raise DurableEngineError(
            "thread_id= and run_id= are not supported with RunConfig(durability=...): the run "
            "id is the workflow id, and the engine's record is the run's"
        )
    config = dataclasses.replace(run_config, durability=None)
    result: Result[Any] = await run(agent, input, deps=deps, run_config=config)
    return result
