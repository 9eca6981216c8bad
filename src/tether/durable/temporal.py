"""Run a tether agent inside a Temporal workflow: each model call and each tool call an activity.

The workflow and the worker share one :class:`TemporalDurability` built from the agents::

    durable = TemporalDurability([agent])

    @workflow.defn
    class Answer:
        @workflow.run
        async def run(self, question: str) -> str:
            return str((await durable.run(agent, question)).output)

    Worker(client, task_queue="q", workflows=[Answer], activities=durable.activities,
           workflow_runner=UnsandboxedWorkflowRunner(),
           workflow_failure_exception_types=durable.failure_exception_types)

The Agent is the same Agent as everywhere else, with every feature. In the workflow, the run's
model calls and tool calls (its handoff targets', its subagents', its policy's) are activities
named after the agent and the tool; the worker runs them with the agents' own models and tools.
Temporal owns retries after a lost worker and recovery: a replayed workflow gets every finished
activity's recorded result, so no finished tool runs again. While it runs, the workflow answers
the query ``tether.events`` (the run's events so far: :meth:`TemporalDurability.events`) and
takes decisions as the update ``tether.decide`` (:meth:`TemporalDurability.approve`). A run that
cannot be durable fails at start with :class:`~tether.durable.DurableEngineError`.
"""

from __future__ import annotations

import asyncio
import time
import types
import weakref
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from .._extras import require
from ..errors import UserError
from ._control import apply, check, decision, finish, waiting
from ._errors import DurableEngineError
from ._graph import reachable_agents, tools_of
from ._mirror import refuse_thread
from ._mirror_engines import attach, settle, temporal_log_activities, temporal_mirror
from ._names import model_step_name, tool_step_name
from ._payload import TEMPORAL_PAYLOAD_LIMIT, Offload
from ._temporal_activities import activities_for
from ._temporal_calls import ActivitySeam, CallOptions
from ._temporal_choices import Choices
from ._temporal_lifecycle import CONTROL_UPDATE, STATUS_QUERY, install_controls
from ._temporal_stream import EVENTS_QUERY, plugin_class
from ._temporal_stream import events as _events

if TYPE_CHECKING:
    from ..agent import Agent
    from ..config import RunConfig
    from ..events import Event
    from ..governance.hooks import PolicyHooks
    from ..messages import Message
    from ..models.base import Model
    from ..policies.base import Policy
    from ..results import Result
    from ..run.handle import RunHandle
    from ..run.runner import Runner
    from ..store import Store

__all__ = [
    "CONTROL_UPDATE",
    "DECIDE_UPDATE",
    "EVENTS_QUERY",
    "STATUS_QUERY",
    "WAITING_QUERY",
    "TemporalDurability",
]

#: The query it answers with what the run waits for (call ids by action).
WAITING_QUERY = "tether.waiting"
#: The update that hands it a decision (an approval, an answer, a deferred result).
DECIDE_UPDATE = "tether.decide"


class TemporalDurability:
    """Runs the given agents (and every agent they reach) durably inside Temporal workflows.

    ``activity_timeout`` bounds each model or tool activity (``start_to_close_timeout``): when
    a worker dies mid-activity, Temporal runs it again on another worker after that long.
    ``max_payload_bytes`` (Temporal's 2 MiB by default) fails a call whose input or result is
    larger, naming the tool or model; ``offload`` keeps large tool results in a tether store
    with only a reference in the payload. ``policy_hooks`` (PII redaction, tool filter,
    approval gate, policy engine) govern the runs, in the workflow.

    A workflow's ``RunConfig(model="provider:name")`` reaches the worker as the string; a
    Model object, a Policy or a model provider a RunConfig uses must be registered here by a
    name of your own (``models={"fast": model}``, ``policies={...}``, ``model_providers={...}``),
    since the workflow sends the name: one not registered is refused at start, naming it.

    ``store`` (a tether Store or URL, reachable from the workers) keeps each run's tether event
    log there too, written in local activities, so ``tether runs``, the dashboard and replay
    work on it, and keeps the threads of runs given ``thread_id=``.
    """

    def __init__(
        self,
        agents: Sequence[Agent],
        *,
        activity_timeout: timedelta = timedelta(seconds=60),
        offload: Offload | None = None,
        max_payload_bytes: int | None = TEMPORAL_PAYLOAD_LIMIT,
        policy_hooks: PolicyHooks | None = None,
        models: Mapping[str, Model] | None = None,
        policies: Mapping[str, Policy] | None = None,
        model_providers: Mapping[str, Callable[[str], Model]] | None = None,
        stream_interval: timedelta = timedelta(milliseconds=200),
        store: Store | str | None = None,
    ) -> None:
        require("temporal", "temporalio")  # one clear error, not a ModuleNotFoundError later
        self._choices = Choices(models, policies, model_providers)
        self._agents = reachable_agents(agents)
        # the agents the registered policies' tools run (their workers) are reachable too
        while extra := [a for a in self._choices.agents(self._agents) if not self._has(a)]:
            self._agents = reachable_agents([*self._agents.values(), *extra])
        self._hooks = policy_hooks
        for agent in self._agents.values():
            _check_supported(agent)
        self.activity_timeout = activity_timeout
        self.stream_interval = stream_interval
        self._offload = offload
        self._limit = max_payload_bytes
        self._activities: list[Callable[..., Any]] | None = None
        # the log's local activities are named after the first agent (tether.<agent>.log)
        self._log_name = agents[0].name if agents else "agents"
        self._mirror = None
        if store is not None:
            self._mirror = temporal_mirror(store, max_payload_bytes, self._log_name)
        self._runner: Runner | None = None
        # Each workflow's run, by Temporal run id; the workflow's handlers hold it, so it goes
        # when the worker evicts the workflow.
        self._runs: weakref.WeakValueDictionary[str, _Run] = weakref.WeakValueDictionary()

    def _turn(self) -> int:
        """The turn of the current workflow's run (its last turn_started)."""
        from temporalio import workflow

        run = self._runs.get(workflow.info().run_id)
        found = run.events if run is not None else []
        return next(
            (int(getattr(e, "turn", 0)) for e in reversed(found) if e.type == "turn_started"), 0
        )

    def _has(self, agent: Agent) -> bool:
        return self._agents.get(agent.name) is agent

    @property
    def activities(self) -> list[Callable[..., Any]]:
        """The activities to register on the worker (one per agent's model, one per tool)."""
        if self._activities is None:
            made: list[Callable[..., Any]] = []
            from ..models.resolve import ModelResolver

            resolve = ModelResolver().resolve
            for agent in self._agents.values():
                interval = self.stream_interval.total_seconds()
                made.extend(
                    activities_for(
                        agent, resolve, self._offload, self._limit, self._choices, interval
                    )
                )
            if self._mirror is not None:
                made.extend(temporal_log_activities(self._mirror, self._log_name))
            self._activities = made
        return self._activities

    @property
    def plugin(self) -> Any:
        """A Temporal worker plugin (``Worker(..., plugins=[durable.plugin])``) that registers
        :attr:`activities`, runs the workflows unsandboxed and makes a refused run fail its
        workflow (:attr:`failure_exception_types`): the whole worker-side setup in one. It
        also sets the worker's heartbeat throttle to :attr:`stream_interval` at most, so a
        model call's deltas reach :meth:`events` while it streams. (A worker that keeps
        Temporal's sandbox works too, by hand, with ``tether`` passed through it: see
        docs/durable-engines.md.)"""
        from temporalio.worker import UnsandboxedWorkflowRunner

        return plugin_class()(
            "tether.durable",
            self.stream_interval,
            activities=self.activities,
            workflow_runner=UnsandboxedWorkflowRunner(),
            workflow_failure_exception_types=self.failure_exception_types,
        )

    @property
    def failure_exception_types(self) -> list[type[BaseException]]:
        """Pass as the Worker's ``workflow_failure_exception_types``: a refused run then fails
        its workflow at once, instead of failing (and retrying) its workflow task forever."""
        return [DurableEngineError]

    def _registered(self) -> set[str]:
        names = set()
        for agent in self._agents.values():
            names.add(model_step_name(agent.name))
            names.update(tool_step_name(agent.name, t.name) for t in tools_of(agent))
            for policy in self._choices.policies.values():
                names.update(tool_step_name(agent.name, t.name) for t in policy.tools(agent))
        return names

    def _runner_or_default(self) -> Runner:
        if self._runner is None:
            from ..run.runner import Runner

            # No store (Temporal's history is the record) and no trace writer (its thread and
            # timers are not workflow code): the run's events go to the workflow's query.
            agents = list(self._agents.values())
            runner = Runner(store=None, telemetry=None, agents=agents, policy_hooks=self._hooks)
            runner._exporters = [_Collector(self._runs)]
            options = CallOptions(self.activity_timeout, self._limit, self._turn)
            runner._call_seam = ActivitySeam(self._registered(), options, self._choices)
            resolve, choices = runner._resolve_model, self._choices
            # each model the run resolves carries what the worker must resolve (a Ref)
            runner._resolve_model = lambda agent, config: choices.tag(
                resolve(agent, config), agent, config
            )
            attach(runner, self._mirror)
            self._runner = runner
        return self._runner

    async def run(
        self,
        agent: Agent,
        input: str | Message | Sequence[Any],
        *,
        deps: Any = None,
        run_config: RunConfig | None = None,
        thread_id: str | None = None,
    ) -> Result[Any]:
        """Run ``agent`` to the end inside the current workflow and return its Result (the
        error of a failed run is raised, as ``Runner.run`` does); the run id is the workflow
        id. ``deps`` reach the workflow-side code (instructions, guardrails, validators) and
        the tools that take a Context (sent to the worker: they must be picklable).
        ``thread_id`` continues a conversation thread kept in ``store`` (loaded and saved in
        local activities)."""
        from temporalio import workflow

        self._check_run(agent, run_config)  # first: refuse before importing anything more
        refuse_thread(self._mirror, thread_id, "Temporal")
        info = workflow.info()
        run = _Run()
        self._runs[info.run_id] = run
        _install_handlers(run)
        run.handle = await self._runner_or_default().start(
            agent,
            input,
            deps=deps,
            thread_id=thread_id,
            run_id=info.workflow_id,
            run_config=run_config,
        )
        try:
            await run.handle.result()
            await settle(self._mirror)
            return await finish(run.handle)
        except asyncio.CancelledError:  # the workflow is cancelled: the run ends cancelled first
            await run.handle.cancel()
            await run.handle.result()
            raise

    def _check_run(self, agent: Agent, run_config: RunConfig | None) -> None:
        from temporalio import workflow

        if not workflow.in_workflow():
            raise DurableEngineError(
                "TemporalDurability.run() must be called inside a Temporal workflow: outside "
                "one the run would not be durable"
            )
        if _SANDBOX_COPY:
            raise DurableEngineError(
                "tether was imported inside Temporal's workflow sandbox, a copy per workflow "
                "run: pass it through the sandbox (SandboxedWorkflowRunner(restrictions="
                "SandboxRestrictions.default.with_passthrough_modules('tether')), or import it "
                "under workflow.unsafe.imports_passed_through()), or run the workflows "
                "unsandboxed (Worker(..., plugins=[durable.plugin]) does)"
            )
        if self._agents.get(agent.name) is not agent:
            raise DurableEngineError(
                f"agent {agent.name!r} was not given to this TemporalDurability: the worker "
                "would have no activities for it (pass it in TemporalDurability([...]))"
            )
        self._choices.check(run_config)

    # -- the caller's side ---------------------------------------------------------------------

    @staticmethod
    async def events(
        handle: Any, *, poll: float = 0.1, live_deltas: bool = True
    ) -> AsyncIterator[Event]:
        """The run's events while the workflow runs (``handle``: a ``WorkflowHandle``), from
        the first to ``run_finished``, read with the ``tether.events`` query every ``poll``
        seconds. A model call's deltas come token by token while its activity runs, read
        from the activity's heartbeats (``live_deltas=False``: when the activity ends); a
        live delta has no ``seq`` (it is not in the log yet), and each is yielded once."""
        async for event in _events(handle, poll, live_deltas):
            yield event

    @staticmethod
    async def waiting(handle: Any) -> dict[str, list[str]]:
        """What the run waits for: call ids by action (``{"approve": [...], ...}``)."""
        found: dict[str, list[str]] = await handle.query(WAITING_QUERY)
        return found

    @staticmethod
    async def approve(handle: Any, call_id: str) -> None:
        """Approve the pending call ``call_id`` (a ``tether.decide`` update; a call the run
        does not wait for is refused by the workflow: Temporal's WorkflowUpdateFailedError)."""
        await handle.execute_update(DECIDE_UPDATE, decision("approve", call_id))

    @staticmethod
    async def status(handle: Any) -> str:
        """The run's status (``running``, ``paused``, ``awaiting_approval``, ``completed``, ...),
        read with the ``tether.status`` query."""
        found: str = await handle.query(STATUS_QUERY)
        return found

    @staticmethod
    async def pause(handle: Any) -> None:
        """Pause the run at its next step boundary (a ``tether.control`` update); the model call
        or tool running finishes first."""
        await handle.execute_update(CONTROL_UPDATE, {"action": "pause"})

    @staticmethod
    async def resume(handle: Any) -> None:
        """Continue a paused run."""
        await handle.execute_update(CONTROL_UPDATE, {"action": "resume"})

    @staticmethod
    async def cancel(handle: Any) -> None:
        """End the run now as ``cancelled`` (the workflow returns its Result); the activity in
        flight is abandoned. A run that has ended refuses it (WorkflowUpdateFailedError)."""
        await handle.execute_update(CONTROL_UPDATE, {"action": "cancel"})

    @staticmethod
    async def interrupt(handle: Any) -> None:
        """End the run now as ``interrupted``, cutting the model call or tool in flight."""
        await handle.execute_update(CONTROL_UPDATE, {"action": "interrupt"})

    @staticmethod
    async def reject(handle: Any, call_id: str, reason: str | None = None) -> None:
        """Reject the pending call ``call_id``; ``reason`` is what the model is told."""
        await handle.execute_update(DECIDE_UPDATE, decision("reject", call_id, reason=reason))

    @staticmethod
    async def respond(handle: Any, call_id: str, value: Any) -> None:
        """Answer the question the call ``call_id`` asked."""
        await handle.execute_update(DECIDE_UPDATE, decision("respond", call_id, value=value))

    @staticmethod
    async def resolve(handle: Any, call_id: str, output: Any) -> None:
        """Deliver the result of the deferred call ``call_id``."""
        await handle.execute_update(DECIDE_UPDATE, decision("resolve", call_id, value=output))


# True in a copy of tether that a workflow sandbox imported for itself (not passed through): a
# copy's stdlib modules are the sandbox's restricted proxies, a passed-through one's the real
# modules (in_sandbox() cannot tell: a passed-through module may be imported first from inside
# a workflow too). Read without importing temporalio.
_SANDBOX_COPY = type(time) is not types.ModuleType


class _Run:
    """One workflow's durable run: its handle and its events so far."""

    def __init__(self) -> None:
        self.handle: RunHandle | None = None
        self.events: list[Event] = []

    def waiting(self) -> dict[str, list[str]]:
        return waiting(self.handle) if self.handle is not None else {}


def _install_handlers(run: _Run) -> None:
    """The workflow's query and update handlers for ``run`` (they keep it alive)."""
    from temporalio import workflow

    def events(after: int = 0) -> list[dict[str, Any]]:
        return [e.to_dict() for e in run.events[max(0, after) :]]

    def pending() -> dict[str, list[str]]:
        return run.waiting()

    def validate(message: Any) -> None:
        check(run.waiting(), message)

    async def decide(message: Any) -> None:
        assert run.handle is not None
        await apply(run.handle, message)

    async def signalled(message: Any) -> None:
        try:  # a signal cannot be refused at the sender: a wrong one is logged and dropped
            check(run.waiting(), message)
        except UserError as exc:
            from ..tracing.redact import scrub_secrets  # Temporal's logger, not tether's

            workflow.logger.warning("tether.decide signal ignored: %s", scrub_secrets(str(exc)))
            return
        await decide(message)

    workflow.set_signal_handler(DECIDE_UPDATE, signalled)
    workflow.set_query_handler(EVENTS_QUERY, events)
    workflow.set_query_handler(WAITING_QUERY, pending)
    workflow.set_update_handler(DECIDE_UPDATE, decide, validator=validate)
    install_controls(lambda: run.handle)


class _Collector:
    """Keeps each workflow's run events for the ``tether.events`` query (an Exporter)."""

    def __init__(self, runs: weakref.WeakValueDictionary[str, _Run]) -> None:
        self._runs = runs

    def on_event(self, event: Event) -> None:
        from temporalio import workflow

        info = workflow.info()
        run = self._runs.get(info.run_id)
        if run is not None and event.run_id == info.workflow_id:
            run.events.append(event)  # a subagent's own events stay in its parent's account

    async def flush(self, run_id: str) -> None:
        """Nothing buffered."""


def _check_supported(agent: Agent) -> None:
    if agent.model is None and agent.policy is None:
        raise DurableEngineError(f"agent {agent.name!r} has no model")
