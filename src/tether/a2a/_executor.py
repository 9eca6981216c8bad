"""One tether agent behind the a2a-sdk's request handler: an A2A task is a tether run.

The task id is the run id and the context id is the thread id, so a task is as durable as any
run (its events are in the Runner's store), and a follow-up message in the same context
continues the conversation. An approval the run waits for makes the task ``input-required``;
the next message on the task answers it ("approve", or anything else to reject with that
reason, or a data part ``{"approve": bool, "reason": str}``) and the run resumes. A tool's
question (``ctx.request_input``) is input-required too; the next message is the answer. A run
waiting for a deferred tool result stays ``working`` (its status names the tickets); once the
result is delivered (``resolve_deferred``, from any process) the task follows its run's log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from a2a.helpers.proto_helpers import (
    get_data_parts,
    new_data_part,
    new_task_from_user_message,
    new_text_message,
    new_text_part,
)
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.tasks import TaskUpdater
from a2a.types import TaskState
from a2a.types.a2a_pb2 import Artifact, Message, Role, Task, TaskStatus

if TYPE_CHECKING:
    from ..agent import Agent
    from ..results import Result
    from ..run.runner import Runner
    from ..store.base import RunInfo

__all__ = ["RunMark", "TetherAgentExecutor", "recorded_task", "run_mark", "tether_state"]

#: tether's run states as A2A task states.
_STATES: dict[str, int] = {
    "completed": TaskState.TASK_STATE_COMPLETED,
    "degraded": TaskState.TASK_STATE_COMPLETED,
    "failed": TaskState.TASK_STATE_FAILED,
    "cancelled": TaskState.TASK_STATE_CANCELED,
    "interrupted": TaskState.TASK_STATE_CANCELED,
    "awaiting_approval": TaskState.TASK_STATE_INPUT_REQUIRED,
    "awaiting_input": TaskState.TASK_STATE_INPUT_REQUIRED,
    "awaiting_deferred": TaskState.TASK_STATE_WORKING,
    "running": TaskState.TASK_STATE_WORKING,
    "paused": TaskState.TASK_STATE_WORKING,
}

#: How many of an agent's latest runs tasks/list looks at in the store.
_LISTED = 1000

_YES = frozenset({"approve", "approved", "yes", "y", "ok", "allow"})


#: What tells from a run's row in the store whether its log grew: its status and the time of
#: its last event.
RunMark = tuple[str, float]


def run_mark(info: RunInfo) -> RunMark:
    """The mark of a run as the store lists it (it changes with each append to its log)."""
    return (info.status, info.updated_at)


def tether_state(state: str) -> int:
    """The A2A ``TaskState`` for a tether run state (awaiting approval/input: input-required)."""
    return _STATES.get(state, TaskState.TASK_STATE_WORKING)


def _decision(context: RequestContext) -> bool | str:
    """What a message on an input-required task says: True approves, a string rejects."""
    message = context.message
    if message is not None:
        for data in get_data_parts(message.parts):
            if isinstance(data, dict) and "approve" in data:
                if data.get("approve") is True:
                    return True
                return str(data.get("reason") or "rejected")
    text = context.get_user_input().strip()
    if text.lower().rstrip(".!") in _YES:
        return True
    return text or "rejected"


def _answer_value(context: RequestContext) -> Any:
    """The answer a message gives to a tool's question: its data part, else its text."""
    message = context.message
    if message is not None:
        data = get_data_parts(message.parts)
        if data:
            return data[0]
    return context.get_user_input().strip()


class TetherAgentExecutor(AgentExecutor):
    """Runs ``agent`` on ``runner`` for each A2A task."""

    def __init__(self, runner: Runner, agent: Agent) -> None:
        self.runner = runner
        self.agent = agent
        self._handles: dict[str, Any] = {}
        #: Tasks whose runs started here: the SDK's task records follow them (its consumer of
        #: their events may lag behind the run), so they are never rebuilt from the log.
        self._started: set[str] = set()
        #: Tasks whose execute() is going on here: their records are the SDK's to write.
        self._busy: set[str] = set()

    async def cancelled(self, task_id: str) -> None:
        """A task was recorded as cancelled (by this executor, or by the SDK for a task no
        longer active here): its run, when it waits, ends as cancelled in its log too."""
        if task_id not in self._handles:
            await end_waiting_run(self.runner, task_id)

    async def recorded(self, task_id: str) -> Task | None:
        """The task of a run this process did not start, rebuilt from the store's log."""
        if task_id in self._started:
            return None
        return await recorded_task(self.runner, self.agent, task_id)

    async def current(self, task_id: str) -> Task | None:
        """The task as its run's log has it now, for a task no execute() here is writing: a
        run that went on elsewhere (a deferred result delivered, an approval decided over
        HTTP) brings its task along. None while this process executes the task."""
        if task_id in self._busy:
            return None
        return await recorded_task(self.runner, self.agent, task_id)

    async def runs(self) -> dict[str, RunMark]:
        """This agent's latest root runs in the store (its A2A tasks), each with its mark."""
        if self.runner.store is None:
            return {}
        runs = await self.runner.store.list_runs(limit=_LISTED, agent=self.agent.name)
        return {r.run_id: run_mark(r) for r in runs if r.parent_run_id is None}

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Start the run for a new task, or answer the approval a waiting task asks for."""
        message = context.message
        task = context.current_task
        if task is None:
            if message is None:  # pragma: no cover - the handler always passes the message
                raise ValueError("a new task needs a message")
            _check_context_id(message.context_id)
            task = new_task_from_user_message(message)
            await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        self._busy.add(task.id)
        try:
            await updater.start_work()
            deferred = await self._deferred(context.current_task)
            if deferred:  # a message cannot deliver a deferred result: the task still waits
                await _wait_deferred(updater, deferred)
                return
            if context.current_task is not None and context.current_task.status.state == (
                TaskState.TASK_STATE_INPUT_REQUIRED
            ):
                result = await self._answer(task.id, context)
            else:
                text = context.get_user_input()
                result = await self._run(task.id, task.context_id, text, updater)
            await self._report(result, updater)
        finally:
            self._busy.discard(task.id)

    async def _deferred(self, task: Task | None) -> dict[str, str]:
        """The deferred calls (call id to ticket) the run of a working task waits for."""
        if task is None or task.status.state != TaskState.TASK_STATE_WORKING:
            return {}
        from ..errors import UserError

        try:
            state = await self.runner.load_state(task.id)
        except UserError:
            return {}
        if state.status != "awaiting_deferred":
            return {}
        return {call_id: d.ticket for call_id, d in state.deferred.items()}

    async def _answer(self, run_id: str, context: RequestContext) -> Result[Any]:
        """Resume the waiting run with the message: a decision, or the answer to a question."""
        state = await self.runner.load_state(run_id)
        if state.pending_approvals:
            approvals = dict.fromkeys(state.pending_approvals, _decision(context))
            return await self.runner.resume(run_id, self.agent, approvals=approvals)
        inputs = dict.fromkeys(state.pending_inputs, _answer_value(context))
        return await self.runner.resume(run_id, self.agent, inputs=inputs)

    async def _run(self, run_id: str, thread_id: str, text: str, updater: TaskUpdater) -> Any:
        from ..config import RunConfig

        self._started.add(run_id)
        handle = await self.runner.start(
            self.agent,
            text,
            run_id=run_id,
            thread_id=thread_id,
            run_config=RunConfig(interaction_mode="headless"),
        )
        self._handles[run_id] = handle
        try:
            async for event in handle.events:
                if event.type == "progress":
                    await updater.update_status(
                        TaskState.TASK_STATE_WORKING,
                        metadata={
                            "turn": event.turn,  # type: ignore[attr-defined]
                            "max_turns": event.max_turns,  # type: ignore[attr-defined]
                        },
                    )
            return await handle.result()
        except BaseException:  # cancelled (tasks/cancel, or the client went away)
            await asyncio.shield(_stop(handle))
            raise
        finally:
            self._handles.pop(run_id, None)

    async def _report(self, result: Result[Any], updater: TaskUpdater) -> None:
        state = result.state
        if state in ("completed", "degraded"):
            parts = [new_text_part(result.final_text)]
            if self.agent.output_schema is not None:
                parts.append(new_data_part(_jsonable(self.agent, result.output)))
            await updater.add_artifact(parts, name="result")
            await updater.complete()
        elif state in ("awaiting_approval", "awaiting_input"):
            await updater.requires_input(
                new_text_message(
                    _question(result.pending_approvals, result.pending_inputs),
                    context_id=updater.context_id,
                    task_id=updater.task_id,
                )
            )
        elif state == "awaiting_deferred":  # not over: the result comes from elsewhere
            await _wait_deferred(updater, result.deferred)
        elif state in ("cancelled", "interrupted"):
            await updater.cancel()
        else:
            detail = result.error or state
            await updater.failed(
                new_text_message(
                    f"the run failed: {detail}",
                    context_id=updater.context_id,
                    task_id=updater.task_id,
                )
            )

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Cancel the task's run (a run waiting for approval is ended as cancelled)."""
        task = context.current_task
        task_id = context.task_id or (task.id if task is not None else "")
        handle = self._handles.get(task_id)
        if handle is not None:
            await _stop(handle)
        else:  # no run going on here: a waiting (input-required) run ends in its log
            await end_waiting_run(self.runner, task_id)
        context_id = context.context_id or (task.context_id if task is not None else "")
        await TaskUpdater(event_queue, task_id, context_id).cancel()


async def _stop(handle: Any) -> None:
    await handle.cancel()
    await handle.result()


async def end_waiting_run(runner: Runner, run_id: str) -> None:
    """Record ``cancelled`` as the end of a stored run that has not ended (it waits for an
    approval, an answer or a deferred result), under the run's lease so that no resume runs it
    meanwhile. A run that has ended, or that the store does not hold, is left as it is."""
    from .._subagents import record_cancelled
    from ..errors import UserError
    from ..results import TERMINAL_STATES
    from ..store.lease import acquire, owner_id

    async def unfinished() -> Any:
        try:
            state = await runner.load_state(run_id)
        except UserError:
            return None
        # a run that waits has a run_finished too (awaiting_*): it is not over
        return None if state.finished and state.status in TERMINAL_STATES else state

    if runner.store is None or not run_id or await unfinished() is None:
        return
    try:
        keeper = await acquire(runner.store, run_id, owner=owner_id(), ttl=30.0)
    except UserError:  # a resume (or another replica) runs it right now: it cannot be ended here
        from a2a.utils.errors import TaskNotCancelableError

        raise TaskNotCancelableError(
            f"task {run_id} is running in another process right now; cancel it there"
        ) from None
    try:
        state = await unfinished()
        if state is not None:
            reason = "cancelled by the A2A client (tasks/cancel)"
            await record_cancelled(runner.store, state, reason)
    finally:
        await keeper.release()


async def _wait_deferred(updater: TaskUpdater, deferred: Mapping[str, str]) -> None:
    message = new_text_message(
        _waiting(deferred), context_id=updater.context_id, task_id=updater.task_id
    )
    metadata = {"deferred": dict(deferred)}
    await updater.update_status(TaskState.TASK_STATE_WORKING, message=message, metadata=metadata)


def _waiting(deferred: Mapping[str, str]) -> str:
    tickets = ", ".join(deferred.values())
    return f"Waiting for the result of deferred tool calls (tickets: {tickets})."


def _question(approvals: Iterable[Any], inputs: Iterable[Any]) -> str:
    asked = list(approvals)
    if asked:
        calls = "; ".join(f"{p.tool_name}({p.args})" for p in asked)
        return f"Approval needed for: {calls}. Reply 'approve', or give a reason to reject."
    prompts = "; ".join(p.prompt for p in inputs)
    return f"Input needed: {prompts}"


async def recorded_task(runner: Runner, agent: Agent, task_id: str) -> Task | None:
    """The A2A task a stored run of ``agent`` stands for (task id = run id), rebuilt from the
    run's log: how a server whose task records are not on disk (a PostgreSQL store), or another
    replica, answers tasks/get, cancel and the answer to an input-required task after a restart.
    None when the store has no such root run of this agent."""
    from ..errors import UserError

    if runner.store is None or not task_id:
        return None
    try:
        state = await runner.load_state(task_id)
    except UserError:
        return None
    started = state.started_event
    if started is None or started.parent_run_id is not None or started.agent != agent.name:
        return None
    context_id = state.thread_id or task_id
    history = [
        Message(
            message_id=f"{task_id}.input",
            role=Role.ROLE_USER,
            parts=[new_text_part(m.text)],
            task_id=task_id,
            context_id=context_id,
        )
        for m in started.input
        if m.role == "user" and m.text
    ]
    status = TaskStatus(state=tether_state(state.status))  # type: ignore[arg-type]
    artifacts: list[Artifact] = []
    if state.status in ("completed", "degraded"):
        parts = [new_text_part(state.final_text)]
        if agent.output_schema is not None and state.output_data is not None:
            parts.append(new_data_part(state.output_data))
        artifacts.append(Artifact(artifact_id=f"{task_id}.result", name="result", parts=parts))
    elif state.status in ("awaiting_approval", "awaiting_input"):
        question = _question(state.pending_approvals.values(), state.pending_inputs.values())
        status.message.CopyFrom(new_text_message(question, context_id=context_id, task_id=task_id))
    elif state.status == "awaiting_deferred":
        tickets = {call_id: d.ticket for call_id, d in state.deferred.items()}
        waiting = new_text_message(_waiting(tickets), context_id=context_id, task_id=task_id)
        status.message.CopyFrom(waiting)
    elif state.status == "failed":
        failure = f"the run failed: {state.error or state.status}"
        status.message.CopyFrom(new_text_message(failure, context_id=context_id, task_id=task_id))
    return Task(
        id=task_id, context_id=context_id, status=status, artifacts=artifacts, history=history
    )


def _jsonable(agent: Agent, output: Any) -> Any:
    from pydantic import TypeAdapter

    schema = agent.output_schema
    if schema is None:  # pragma: no cover - checked by the caller
        return output
    return TypeAdapter(schema.output_type).dump_python(output, mode="json")


def _check_context_id(context_id: str) -> None:
    """A context id is the run's thread id: one tether refuses is the client's invalid params
    (before any task is made), not an internal error."""
    if not context_id:
        return
    from a2a.utils.errors import InvalidParamsError

    from ..errors import UserError
    from ..store._ids import check_thread_id

    try:
        check_thread_id(context_id)
    except UserError as exc:
        raise InvalidParamsError(message=f"contextId: {exc}") from None
