"""One tether agent behind the a2a-sdk's request handler: an A2A task is a tether run.

The task id is the run id and the context id is the thread id, so a task is as durable as any
run (its events are in the Runner's store), and a follow-up message in the same context
continues the conversation. An approval the run waits for makes the task ``input-required``;
the next message on the task answers it ("approve", or anything else to reject with that
reason, or a data part ``{"approve": bool, "reason": str}``) and the run resumes. A tool's
question (``ctx.request_input``) is input-required too; the next message is the answer.
"""

from __future__ import annotations

import asyncio
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

if TYPE_CHECKING:
    from ..agent import Agent
    from ..results import Result
    from ..run.runner import Runner

__all__ = ["TetherAgentExecutor", "tether_state"]

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

_YES = frozenset({"approve", "approved", "yes", "y", "ok", "allow"})


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

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Start the run for a new task, or answer the approval a waiting task asks for."""
        message = context.message
        task = context.current_task
        if task is None:
            if message is None:  # pragma: no cover - the handler always passes the message
                raise ValueError("a new task needs a message")
            task = new_task_from_user_message(message)
            await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        await updater.start_work()
        if context.current_task is not None and context.current_task.status.state == (
            TaskState.TASK_STATE_INPUT_REQUIRED
        ):
            result = await self._answer(task.id, context)
        else:
            result = await self._run(task.id, task.context_id, context.get_user_input(), updater)
        await self._report(result, updater)

    async def _answer(self, run_id: str, context: RequestContext) -> Result[Any]:
        """Resume the waiting run with the message: a decision, or the answer to a question."""
        state = await self.runner.load_state(run_id)
        if state.pending_approvals:
            approvals = dict.fromkeys(state.pending_approvals, _decision(context))
            return await self.runner.resume(run_id, self.agent, approvals=approvals)
        inputs = dict.fromkeys(state.pending_inputs, _answer_value(context))
        return await self.runner.resume(run_id, self.agent, inputs=inputs)

    async def _run(self, run_id: str, thread_id: str, text: str, updater: TaskUpdater) -> Any:
        from ..run.config import RunConfig

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
                    _question(result), context_id=updater.context_id, task_id=updater.task_id
                )
            )
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
        context_id = context.context_id or (task.context_id if task is not None else "")
        await TaskUpdater(event_queue, task_id, context_id).cancel()


async def _stop(handle: Any) -> None:
    await handle.cancel()
    await handle.result()


def _question(result: Result[Any]) -> str:
    if result.pending_approvals:
        calls = "; ".join(f"{p.tool_name}({p.args})" for p in result.pending_approvals)
        return f"Approval needed for: {calls}. Reply 'approve', or give a reason to reject."
    prompts = "; ".join(p.prompt for p in result.pending_inputs)
    return f"Input needed: {prompts}"


def _jsonable(agent: Agent, output: Any) -> Any:
    from pydantic import TypeAdapter

    schema = agent.output_schema
    if schema is None:  # pragma: no cover - checked by the caller
        return output
    return TypeAdapter(schema.output_type).dump_python(output, mode="json")
