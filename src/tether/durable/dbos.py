"""Run a tether agent as part of a DBOS workflow: each model call and each tool call a step.

Use it inside a function decorated with ``@DBOS.workflow()``::

    durable = DBOSDurability()

    @DBOS.workflow()
    async def answer(question: str) -> str:
        result = await durable.run(agent, question)
        return str(result.output)

The Agent is the same Agent as everywhere else, with every feature: the run's model calls and
tool calls (its handoff targets', its subagents', its policy's) are DBOS steps named after the
agent and the tool (:func:`~tether.durable.model_step_name`,
:func:`~tether.durable.tool_step_name`). DBOS owns recovery: a workflow whose worker died is
resumed by DBOS (``DBOS.launch()`` in a new process) and the run's finished steps return their
recorded results, so no finished tool runs again and no answered model call is asked again.
Approvals (and a tool's questions, and deferred results) are DBOS messages the workflow waits
for durably (:meth:`DBOSDurability.approve`); events can be published on a DBOS stream while
the workflow runs (:meth:`DBOSDurability.run_published`). A run that cannot be durable fails at
start with :class:`~tether.durable.DurableEngineError`.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from ._control import finish
from ._dbos_channel import Publisher, pump, send_decision
from ._dbos_effects import EffectGuard
from ._dbos_lifecycle import control_status, send_control, unwatch, watch
from ._dbos_steps import StepSeam
from ._errors import DurableEngineError
from ._graph import reachable_agents, tools_of
from ._mirror import refuse_thread
from ._mirror_engines import attach, before_wait, dbos_mirror, settle
from ._payload import Offload

if TYPE_CHECKING:
    from ..agent import Agent
    from ..config import RunConfig
    from ..events import Event
    from ..messages import Message
    from ..results import Result
    from ..run.handle import RunHandle
    from ..run.runner import Runner
    from ..store import Store

__all__ = ["DBOSDurability"]


class DBOSDurability:
    """Runs agents durably inside DBOS workflows (the engine owns retries and recovery).

    The runs use a Runner without a store: the DBOS system database is the record (a recovered
    workflow re-runs the agent loop, and every finished step returns what it returned before).
    ``runner`` (it must have no store) lends its telemetry, policy hooks, defaults and
    registered agents. ``offload`` keeps large tool results in a tether store with a reference
    in the step's record; ``max_payload_bytes`` fails a step whose result is larger, naming the
    tool or model (DBOS itself has no limit: the default is none). ``effects`` (a tether store
    or its URL; by default ``store``, when it keeps one) keeps the effect ledger of
    ``effect="external"`` tools, written inside their steps so that a crash never runs such a
    call twice (a run that reaches one needs it).
    ``store`` (a tether Store or URL) keeps each run's tether event log there too, written in
    steps, so ``tether runs``, the dashboard and replay work on it, and keeps the threads of
    runs given ``thread_id=``.
    """

    def __init__(
        self,
        *,
        runner: Runner | None = None,
        offload: Offload | None = None,
        max_payload_bytes: int | None = None,
        effects: Store | str | None = None,
        store: Store | str | None = None,
    ) -> None:
        if runner is not None and runner.store is not None:
            raise DurableEngineError(
                "DBOSDurability needs a Runner without a store (Runner(store=None)): DBOS's "
                "system database is the run's record, and a recovered workflow re-runs the loop"
            )
        self._given = runner
        self._runner: Runner | None = None
        if effects is None and store is not None and _keeps_a_ledger(store):
            effects = store  # the run's store keeps its effect ledger too
        guard = EffectGuard(effects) if effects is not None else None
        self._publisher = Publisher()
        self._handles: dict[str, RunHandle] = {}
        self._seam = StepSeam(offload, max_payload_bytes, guard, self._publisher.live, self._stop)
        self._mirror = dbos_mirror(store) if store is not None else None

    def _runner_or_default(self) -> Runner:
        if self._runner is None:
            from ..run.runner import Runner

            given = self._given
            runner = Runner(
                store=None,
                telemetry=None,
                policy_hooks=given.policy_hooks if given is not None else None,
                config=given.config if given is not None else None,
            )
            if given is not None:
                for found in given.agents.values():
                    runner.register_agent(found)
            runner._exporters = [*(given.exporters if given is not None else []), self._publisher]
            runner._call_seam = self._seam
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
        """Run ``agent`` to the end inside the current DBOS workflow and return its Result (the
        error of a failed run is raised, as ``Runner.run`` does). The run id is the workflow
        id, so a recovered workflow's run has the same id. While the run waits for an approval
        it waits for a DBOS message (:meth:`approve`). ``thread_id`` continues a conversation
        thread kept in ``store`` (loaded and saved in steps)."""
        handle, feeder = await self._start(agent, input, deps, run_config, thread_id)
        await self._ended(handle, feeder)
        await settle(self._mirror)
        return await finish(handle)

    def run_stream(
        self,
        agent: Agent,
        input: str | Message | Sequence[Any],
        *,
        deps: Any = None,
        run_config: RunConfig | None = None,
        thread_id: str | None = None,
    ) -> AsyncIterator[Event]:
        """Like :meth:`run`, yielding the run's events inside the workflow while it runs (a
        model call's deltas token by token while its step runs); the last, ``run_finished``,
        carries the Result, and a failed run is reported by it, not raised. The workflow
        checks happen at this call."""
        _in_workflow()
        refuse_thread(self._mirror, thread_id, "DBOS")
        return self._stream(agent, input, deps, run_config, thread_id)

    async def _stream(
        self,
        agent: Agent,
        input: str | Message | Sequence[Any],
        deps: Any,
        run_config: RunConfig | None,
        thread_id: str | None,
    ) -> AsyncIterator[Event]:
        handle, feeder = await self._start(agent, input, deps, run_config, thread_id)
        try:
            async for event in handle.events:
                yield event
        finally:
            await self._ended(handle, feeder)
            await settle(self._mirror)

    async def run_published(
        self,
        agent: Agent,
        input: str | Message | Sequence[Any],
        key: str,
        *,
        deps: Any = None,
        run_config: RunConfig | None = None,
        thread_id: str | None = None,
    ) -> Result[Any]:
        """Like :meth:`run`, writing each event to the workflow's DBOS stream ``key`` as it
        happens (``DBOS.read_stream_async(workflow_id, key)`` reads them from any process,
        while the workflow runs), then closing it. A failed run is reported by the Result's
        state (and its ``run_finished`` event), not raised."""
        workflow_id = _in_workflow()
        if run_config is not None and run_config.tracing_disabled:
            raise DurableEngineError(
                "run_published needs the run's events: RunConfig(tracing_disabled=True) "
                "would publish none"
            )
        self._publisher.open(workflow_id, key)
        try:
            handle, feeder = await self._start(agent, input, deps, run_config, thread_id)
            await self._ended(handle, feeder)
            await settle(self._mirror)
            result = await handle.result()
        finally:
            await self._publisher.close(workflow_id)
        return result

    async def _start(
        self,
        agent: Agent,
        input: str | Message | Sequence[Any],
        deps: Any,
        run_config: RunConfig | None,
        thread_id: str | None = None,
    ) -> tuple[RunHandle, asyncio.Future[None]]:
        from ..config import RunConfig

        workflow_id = _in_workflow()
        refuse_thread(self._mirror, thread_id, "DBOS")
        config = run_config if run_config is not None else RunConfig()
        reached = reachable_agents([agent])
        timeout = config.approval_timeout
        changes: dict[str, Any] = {"approval_timeout": None}  # waited for by the receive
        tools = [t for a in reached.values() for t in tools_of(a)]
        external = sorted({t.name for t in tools if t.effect == "external"})
        if external and self._seam.guard is None:
            raise DurableEngineError(
                f"tool(s) {', '.join(external)} have effect='external', and a DBOS step its "
                "worker died in runs again: pass DBOSDurability(effects=store) (a tether store "
                "or its URL) to keep their effect ledger inside their steps, so that none runs "
                "twice"
            )
        if any(t.subagent is not None for t in tools):
            # Parallel subagents' steps would interleave differently on recovery: one at a time
            changes["max_concurrency"] = 1
        config = dataclasses.replace(config, **changes)
        await watch(workflow_id)  # before the first step: a paused run stays paused
        try:
            handle = await self._runner_or_default().start(
                agent, input, deps=deps, thread_id=thread_id, run_id=workflow_id, run_config=config
            )
        except BaseException:
            unwatch(workflow_id)
            raise
        self._handles[workflow_id] = handle
        return handle, asyncio.ensure_future(pump(handle, timeout, before_wait(self._mirror)))

    async def _ended(self, handle: RunHandle, feeder: asyncio.Future[None]) -> None:
        """Wait for the run, and for the decision feeder (it ends with the run)."""
        try:
            await handle.result()
            await feeder
        finally:
            if self._handles.get(handle.run_id) is handle:
                del self._handles[handle.run_id]
            unwatch(handle.run_id)

    async def _stop(self, workflow_id: str, action: str) -> None:
        """End the run of ``workflow_id`` as its control asks, at the step it reached; the
        run's guard then cancels this wait with the step's task."""
        handle = self._handles.get(workflow_id)
        if handle is None:  # pragma: no cover - a step runs only inside a started run
            raise DurableEngineError(f"no run of workflow {workflow_id!r} in this process")
        await (handle.cancel() if action == "cancel" else handle.interrupt())
        await asyncio.get_running_loop().create_future()  # never set: the run ends first

    @staticmethod
    async def pause(workflow_id: str, *, client: Any = None) -> None:
        """Pause the run of ``workflow_id`` at its next step boundary, from any process (the
        model call or tool running finishes and is recorded; the next one waits until
        :meth:`resume`). ``client``: a ``dbos.DBOSClient``; None inside a launched DBOS app.
        A workflow that has ended, or is unknown, is a UserError."""
        await send_control(workflow_id, "pause", client=client)

    @staticmethod
    async def resume(workflow_id: str, *, client: Any = None) -> None:
        """Continue a paused run (a UserError when it is not paused)."""
        await send_control(workflow_id, "resume", client=client)

    @staticmethod
    async def cancel(workflow_id: str, *, client: Any = None) -> None:
        """End the run as ``cancelled`` now, from any process (or while it waits for a
        person); the workflow returns the Result, as ``handle.cancel()`` does without an
        engine. The model call or tool in flight is cancelled inside its step, which records
        the stop (an ``effect="external"`` tool's step finishes first)."""
        await send_control(workflow_id, "cancel", client=client)

    @staticmethod
    async def interrupt(workflow_id: str, *, client: Any = None) -> None:
        """End the run as ``interrupted`` now, cutting the call in flight (see :meth:`cancel`)."""
        await send_control(workflow_id, "interrupt", client=client)

    @staticmethod
    async def status(workflow_id: str, *, client: Any = None) -> str:
        """``running``, ``paused``, ``cancelling``, ``interrupting``, or the ended workflow's
        DBOS status in lower case (``success``, ``error``, ...)."""
        return await control_status(workflow_id, client=client)

    @staticmethod
    async def approve(
        workflow_id: str, call_id: str, *, client: Any = None, wait: float = 10.0
    ) -> None:
        """Approve the call ``call_id`` the run in workflow ``workflow_id`` waits for, from any
        process (``client``: a ``dbos.DBOSClient``; None inside a launched DBOS app). A call
        the run does not wait for is a UserError, and so is a workflow that has not waited
        for anything within ``wait`` seconds."""
        await send_decision(workflow_id, "approve", call_id, client=client, wait=wait)

    @staticmethod
    async def reject(
        workflow_id: str,
        call_id: str,
        reason: str | None = None,
        *,
        client: Any = None,
        wait: float = 10.0,
    ) -> None:
        """Reject the call ``call_id``; ``reason`` is what the model is told."""
        await send_decision(workflow_id, "reject", call_id, reason=reason, client=client, wait=wait)

    @staticmethod
    async def respond(
        workflow_id: str, call_id: str, value: Any, *, client: Any = None, wait: float = 10.0
    ) -> None:
        """Answer the question the call ``call_id`` asked (``ctx.request_input``)."""
        await send_decision(workflow_id, "respond", call_id, value=value, client=client, wait=wait)

    @staticmethod
    async def resolve(
        workflow_id: str, call_id: str, output: Any, *, client: Any = None, wait: float = 10.0
    ) -> None:
        """Deliver the result of the deferred call ``call_id``."""
        await send_decision(workflow_id, "resolve", call_id, value=output, client=client, wait=wait)

    @staticmethod
    async def waiting(workflow_id: str, *, client: Any = None, wait: float = 10.0) -> Any:
        """What the run in ``workflow_id`` waits for: call ids by action (``{"approve":
        [...], "respond": [...], ...}``), once it first waited (None after ``wait`` seconds)."""
        from ._dbos_channel import WAITING_EVENT

        sender = client if client is not None else _dbos_class()
        return await sender.get_event_async(workflow_id, WAITING_EVENT, timeout_seconds=wait)


def _keeps_a_ledger(store: Store | str) -> bool:
    """A store URL (every built-in store keeps the ledger) or a Store that does."""
    from ..store._effects import EffectLedger

    return isinstance(store, str | EffectLedger)


def _dbos_class() -> Any:
    try:
        from dbos import DBOS
    except ImportError as exc:  # pragma: no cover - the extra is installed in the test env
        raise DurableEngineError(
            'DBOS durability needs the dbos package: pip install "tether[dbos]"'
        ) from exc
    return DBOS


def _in_workflow() -> str:
    """The current workflow's id; DurableEngineError outside a workflow or inside a step."""
    dbos = _dbos_class()
    workflow_id: str | None = dbos.workflow_id
    if workflow_id is None:
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
    return workflow_id
