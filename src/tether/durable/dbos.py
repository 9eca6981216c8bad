"""Run a tether agent as part of a DBOS workflow: each model call and each tool call a step.

Use it inside a function decorated with ``@DBOS.workflow()``::

    durable = DBOSDurability()

    @DBOS.workflow()
    async def answer(question: str) -> str:
        result = await durable.run(agent, question)
        return str(result.output)

The Agent is the same Agent as everywhere else; :meth:`DBOSDurability.run` runs a copy of it
whose model and tools are DBOS steps named after the agent and the tool
(:func:`~tether.durable.model_step_name`, :func:`~tether.durable.tool_step_name`). DBOS owns
recovery: a workflow whose worker died is resumed by DBOS (``DBOS.launch()`` in a new process)
and the agent's finished steps return their recorded results, so no finished tool runs again
and no answered model call is asked again. A run that cannot be durable fails at start with
:class:`~tether.durable.DurableEngineError`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from ._dbos_steps import StepModel, StepTool
from ._errors import DurableEngineError
from ._names import model_step_name, tool_step_name

if TYPE_CHECKING:
    from ..agent import Agent
    from ..events import Event
    from ..messages import Message
    from ..results import Result
    from ..run.config import RunConfig
    from ..run.runner import Runner

__all__ = ["DBOSDurability"]


class DBOSDurability:
    """Runs agents durably inside DBOS workflows (the engine owns retries and recovery).

    The runs use a Runner without a store of its own: the DBOS system database is the record
    (a recovered workflow re-runs the agent loop, and every finished step returns what it
    returned before). Pass ``runner`` only to share telemetry settings; it must have no store.
    """

    def __init__(self, *, runner: Runner | None = None) -> None:
        if runner is not None and runner.store is not None:
            raise DurableEngineError(
                "DBOSDurability needs a Runner without a store (Runner(store=None)): DBOS's "
                "system database is the run's record, and a recovered workflow re-runs the loop"
            )
        self._runner = runner

    def _runner_or_default(self) -> Runner:
        if self._runner is None:
            from ..run.runner import Runner

            self._runner = Runner(store=None)
        return self._runner

    def prepare(self, agent: Agent, run_config: RunConfig | None = None) -> Agent:
        """The copy of ``agent`` that runs durably: its model and tools are DBOS steps.

        Raises DurableEngineError when called outside a DBOS workflow (or inside a step), or
        when the agent uses a feature that is not durable under DBOS yet (handoffs, agents as
        tools, policies): such a run is refused rather than run without durability.
        """
        _check_in_workflow()
        _check_supported(agent)
        from ..run._models import ModelResolver
        from ..run.config import RunConfig

        config = run_config if run_config is not None else RunConfig()
        model = ModelResolver().resolve(agent, config)
        if isinstance(model, StepModel):
            model = model.model
        tools = [StepTool(t, tool_step_name(agent.name, t.name)) for t in agent.tools_map.values()]
        return agent.clone(model=StepModel(model, model_step_name(agent.name)), tools=tools)

    async def run(
        self,
        agent: Agent,
        input: str | Message | Sequence[Any],
        *,
        deps: Any = None,
        run_config: RunConfig | None = None,
    ) -> Result[Any]:
        """Run ``agent`` to the end inside the current DBOS workflow; the run id is the
        workflow id (so a recovered workflow's run has the same id)."""
        durable, config, run_id = self._start(agent, run_config)
        return await self._runner_or_default().run(
            durable, input, deps=deps, run_id=run_id, run_config=config
        )

    def run_stream(
        self,
        agent: Agent,
        input: str | Message | Sequence[Any],
        *,
        deps: Any = None,
        run_config: RunConfig | None = None,
    ) -> AsyncIterator[Event]:
        """Like :meth:`run`, yielding the run's events while the workflow runs (each model
        call's deltas arrive when its step ends). The checks happen at this call."""
        durable, config, run_id = self._start(agent, run_config)
        return self._runner_or_default().run_stream(
            durable, input, deps=deps, run_id=run_id, run_config=config
        )

    async def run_published(
        self,
        agent: Agent,
        input: str | Message | Sequence[Any],
        key: str,
        *,
        deps: Any = None,
        run_config: RunConfig | None = None,
    ) -> Result[Any]:
        """Like :meth:`run_stream`, writing each event to the workflow's DBOS stream ``key``
        while the workflow runs (``DBOS.read_stream_async(workflow_id, key)`` reads them from
        any process), then closing it; returns the Result carried by ``run_finished``. As with
        :meth:`run_stream`, a failed run is reported by the Result's state, not raised."""
        dbos = _dbos_class()
        finished: Any = None
        try:
            async for event in self.run_stream(agent, input, deps=deps, run_config=run_config):
                await dbos.write_stream_async(key, event)
                if event.type == "run_finished":
                    finished = event
        finally:
            await dbos.close_stream_async(key)
        if finished is None or finished.result is None:  # pragma: no cover - the loop's contract
            raise DurableEngineError("the run ended without a run_finished event")
        result: Result[Any] = finished.result
        return result

    def _start(
        self, agent: Agent, run_config: RunConfig | None
    ) -> tuple[Agent, RunConfig | None, str | None]:
        durable = self.prepare(agent, run_config)
        config = run_config
        if config is not None and config.model is not None:
            config = dataclasses.replace(config, model=None)  # the step model is the agent's
        return durable, config, _workflow_id()


def _dbos_class() -> Any:
    try:
        from dbos import DBOS
    except ImportError as exc:  # pragma: no cover - the extra is installed in the test env
        raise DurableEngineError(
            "DBOS durability needs the dbos package: pip install 'tether[dbos]'"
        ) from exc
    return DBOS


def _workflow_id() -> str | None:
    workflow_id: str | None = _dbos_class().workflow_id
    return workflow_id


def _check_in_workflow() -> None:
    dbos = _dbos_class()
    if dbos.workflow_id is None:
        raise DurableEngineError(
            "DBOSDurability.run() must be called inside a DBOS workflow (a function decorated "
            "with @DBOS.workflow(), after DBOS.launch()): outside one the run would not be "
            "durable"
        )
    if dbos.step_id is not None:
        raise DurableEngineError(
            "DBOSDurability.run() was called inside a DBOS step: call it from the workflow "
            "itself, so each model call and tool call can be a step of its own"
        )


def _check_supported(agent: Agent) -> None:
    if agent.handoffs:
        raise DurableEngineError(
            f"agent {agent.name!r} has handoffs, which are not durable under DBOS yet: run "
            "each agent with its own DBOSDurability.run() call in the workflow instead"
        )
    for t in agent.tools_map.values():
        if t.subagent is not None:
            raise DurableEngineError(
                f"tool {t.name!r} of agent {agent.name!r} runs an agent (as_tool), which is not "
                "durable under DBOS yet: call that agent with DBOSDurability.run() instead"
            )
    if agent.policy is not None:
        raise DurableEngineError(
            f"agent {agent.name!r} has a policy, which is not durable under DBOS yet"
        )
