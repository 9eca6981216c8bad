"""Run a tether agent inside a Temporal workflow: each model call and each tool call an activity.

The workflow and the worker share one :class:`TemporalDurability` built from the agents::

    durable = TemporalDurability([agent])

    @workflow.defn
    class Answer:
        @workflow.run
        async def run(self, question: str) -> str:
            return str((await durable.run(agent, question)).output)

    Worker(client, task_queue="q", workflows=[Answer], activities=durable.activities,
           workflow_runner=UnsandboxedWorkflowRunner())

The Agent is the same Agent as everywhere else. In the workflow, its model calls and tool calls
are activities named after the agent and the tool; the worker runs them with the agent's own
model and tools. Temporal owns retries after a lost worker and recovery: a replayed workflow
gets every finished activity's recorded result, so no finished tool runs again. A run that
cannot be durable fails at start with :class:`~tether.durable.DurableEngineError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ._errors import DurableEngineError
from ._names import model_step_name, tool_step_name
from ._temporal_calls import ActivityModel, ActivityTool, activities_for

if TYPE_CHECKING:
    from ..agent import Agent
    from ..messages import Message
    from ..models.base import Model
    from ..results import Result
    from ..run.config import RunConfig

__all__ = ["TemporalDurability"]


class TemporalDurability:
    """Runs the given agents durably inside Temporal workflows.

    ``activity_timeout`` bounds each model or tool activity (``start_to_close_timeout``): when
    a worker dies mid-activity, Temporal runs it again on another worker after that long.
    """

    def __init__(
        self, agents: Sequence[Agent], *, activity_timeout: timedelta = timedelta(seconds=60)
    ) -> None:
        self._agents: dict[str, Agent] = {}
        for agent in agents:
            if agent.name in self._agents:
                raise DurableEngineError(f"two agents named {agent.name!r}: names must differ")
            _check_supported(agent)
            self._agents[agent.name] = agent
        self.activity_timeout = activity_timeout
        self._activities: list[Callable[..., Any]] | None = None

    @property
    def activities(self) -> list[Callable[..., Any]]:
        """The activities to register on the worker (one per agent's model, one per tool)."""
        if self._activities is None:
            made: list[Callable[..., Any]] = []
            for agent in self._agents.values():
                made.extend(activities_for(agent, _resolver()))
            self._activities = made
        return self._activities

    @property
    def failure_exception_types(self) -> list[type[BaseException]]:
        """Pass as the Worker's ``workflow_failure_exception_types``: a refused run then fails
        its workflow at once, instead of failing (and retrying) its workflow task forever."""
        return [DurableEngineError]

    def prepare(self, agent: Agent) -> Agent:
        """The copy of ``agent`` that runs in the workflow, its model and tools activities.

        Raises DurableEngineError outside a Temporal workflow, in a sandboxed one, for an agent
        not given to this
        TemporalDurability (its activities would not exist on the worker), or for a feature
        that is not durable under Temporal yet.
        """
        from temporalio import workflow

        if not workflow.in_workflow():
            raise DurableEngineError(
                "TemporalDurability.run() must be called inside a Temporal workflow: outside "
                "one the run would not be durable"
            )
        if workflow.unsafe.in_sandbox():
            raise DurableEngineError(
                "TemporalDurability.run() needs an unsandboxed workflow: give the worker "
                "workflow_runner=UnsandboxedWorkflowRunner() (tether's loop is deterministic "
                "given its activities' results, but not written for Temporal's sandbox)"
            )
        if self._agents.get(agent.name) is not agent:
            raise DurableEngineError(
                f"agent {agent.name!r} was not given to this TemporalDurability: the worker "
                "would have no activities for it (pass it in TemporalDurability([...]))"
            )
        timeout = self.activity_timeout
        tools = [
            ActivityTool(t, tool_step_name(agent.name, t.name), timeout)
            for t in agent.tools_map.values()
        ]
        model = ActivityModel(_Unresolved(agent), model_step_name(agent.name), timeout)
        return agent.clone(model=model, tools=tools)

    async def run(
        self,
        agent: Agent,
        input: str | Message | Sequence[Any],
        *,
        run_config: RunConfig | None = None,
    ) -> Result[Any]:
        """Run ``agent`` to the end inside the current workflow; the run id is the workflow
        id. (``deps`` are not supported: tools run on the worker, without a context.)"""
        from temporalio import workflow

        durable = self.prepare(agent)  # first: refuse before importing anything in a sandbox
        from ..run.runner import Runner

        if run_config is not None and run_config.model is not None:
            raise DurableEngineError("RunConfig(model=...) is not supported under Temporal yet")
        # No store (Temporal's history is the record) and no telemetry: a trace writer's
        # thread and timers are not workflow code (they would stall the workflow's loop).
        runner = Runner(store=None, telemetry=None)
        return await runner.run(
            durable, input, run_id=workflow.info().workflow_id, run_config=run_config
        )


class _Unresolved:
    """The workflow's view of an agent's model: its name only (the worker asks the real one)."""

    def __init__(self, agent: Agent) -> None:
        model = agent.model
        self.name = model if isinstance(model, str) else getattr(model, "name", "model")

    async def request(self, request: Any) -> Any:  # pragma: no cover - never called
        raise DurableEngineError("the workflow never asks the model itself")

    def stream(self, request: Any) -> Any:  # pragma: no cover - never called
        raise DurableEngineError("the workflow never asks the model itself")


def _resolver() -> Callable[[Agent], Model]:
    from ..run._models import ModelResolver
    from ..run.config import RunConfig

    resolver = ModelResolver()
    return lambda agent: resolver.resolve(agent, RunConfig())


def _check_supported(agent: Agent) -> None:
    if agent.model is None:
        raise DurableEngineError(f"agent {agent.name!r} has no model")
    if agent.handoffs:
        raise DurableEngineError(
            f"agent {agent.name!r} has handoffs, which are not durable under Temporal yet"
        )
    if agent.policy is not None:
        raise DurableEngineError(
            f"agent {agent.name!r} has a policy, which is not durable under Temporal yet"
        )
    for t in agent.tools_map.values():
        if t.subagent is not None or t.context_param is not None:
            raise DurableEngineError(
                f"tool {t.name!r} of agent {agent.name!r} "
                + ("runs an agent" if t.subagent is not None else "takes a Context")
                + ", which is not supported under Temporal yet"
            )
