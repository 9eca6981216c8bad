"""Task subscriptions that follow the task's run in the Runner's store.

The a2a-sdk streams a task's updates as its executor writes them, so a subscriber to a task
whose run goes on without an ``execute()`` here (a deferred result delivered by
``resolve_deferred`` in another process, an approval decided over ``/v1/runs``) would never
hear of it. :class:`TetherRequestHandler` merges into each subscription what the run's log
says: it looks at the run's row in the store (status and time of its last event) at a bounded
interval, and when that moved, rebuilds the task from the log and pushes what the subscriber
was not told yet (artifacts, then the status). The watch ends with the subscription: when the
task reaches a terminal state (from either side) or the subscriber goes away.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from a2a.helpers.proto_helpers import get_text_parts
from a2a.server.request_handlers import DefaultRequestHandlerV2
from a2a.types.a2a_pb2 import (
    Task,
    TaskArtifactUpdateEvent,
    TaskStatus,
    TaskStatusUpdateEvent,
)

from ._executor import RunMark, run_mark
from ._tasks import TERMINAL

if TYPE_CHECKING:
    from a2a.server.context import ServerCallContext
    from a2a.types.a2a_pb2 import SubscribeToTaskRequest

    from ._executor import TetherAgentExecutor

__all__ = ["TetherRequestHandler"]

#: The first and the longest pause between two looks at a followed run's row in the store (the
#: pause doubles while nothing moves, and starts over when something does).
FIRST_LOOK = 0.05
LONGEST_LOOK = 1.0


class TetherRequestHandler(DefaultRequestHandlerV2):
    """The a2a-sdk's request handler, whose task subscriptions also follow the task's run."""

    def __init__(self, *, agent_executor: TetherAgentExecutor, **options: Any) -> None:
        super().__init__(agent_executor=agent_executor, **options)
        self._tether = agent_executor

    async def on_subscribe_to_task(
        self, params: SubscribeToTaskRequest, context: ServerCallContext
    ) -> AsyncGenerator[Any, None]:
        """The SDK's subscription (its errors for an unknown or terminal task included), with
        the updates of the task's run that no executor here writes merged in."""
        stream = super().on_subscribe_to_task(params, context)
        async with aclosing(stream):
            try:
                first = await anext(stream)
            except StopAsyncIteration:  # pragma: no cover - the SDK yields the task first
                return
            yield first
            if self._tether.runner.store is None or not isinstance(first, Task):
                async for event in stream:
                    yield event
                return
            async with aclosing(_merged(stream, _View(first), self._tether)) as merged:
                async for event in merged:
                    yield event


class _View:
    """What a subscriber was told of its task: the status and the names of the artifacts."""

    def __init__(self, task: Task) -> None:
        self.task_id = task.id
        self.context_id = task.context_id
        self.status = TaskStatus()
        self.status.CopyFrom(task.status)
        self.artifacts = {a.name or a.artifact_id for a in task.artifacts}

    @property
    def over(self) -> bool:
        return self.status.state in TERMINAL

    def told(self, event: Any) -> None:
        """Note an event the subscriber is given."""
        if isinstance(event, Task | TaskStatusUpdateEvent):
            self.status.CopyFrom(event.status)
        if isinstance(event, Task):
            self.artifacts.update(a.name or a.artifact_id for a in event.artifacts)
        elif isinstance(event, TaskArtifactUpdateEvent):
            self.artifacts.add(event.artifact.name or event.artifact.artifact_id)

    def news(self, now: Task) -> list[Any]:
        """The events that bring the subscriber from what it was told to ``now``."""
        events: list[Any] = []
        for artifact in now.artifacts:
            if (artifact.name or artifact.artifact_id) not in self.artifacts:
                events.append(
                    TaskArtifactUpdateEvent(
                        task_id=self.task_id,
                        context_id=self.context_id,
                        artifact=artifact,
                        last_chunk=True,
                    )
                )
        if now.status.state != self.status.state or _said(now.status) != _said(self.status):
            events.append(
                TaskStatusUpdateEvent(
                    task_id=self.task_id, context_id=self.context_id, status=now.status
                )
            )
        return events


def _said(status: TaskStatus) -> list[str]:
    return get_text_parts(status.message.parts)


async def _merged(
    stream: AsyncGenerator[Any, None], view: _View, executor: TetherAgentExecutor
) -> AsyncGenerator[Any, None]:
    """The SDK's events of the task and its run's moves, until the task is over or the
    subscriber (the consumer of this generator) goes away; both sources are stopped then."""
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    async def pump() -> None:
        try:
            async for event in stream:
                await queue.put(("sdk", event))
        except Exception as exc:  # handed to the subscriber, as the SDK would raise it
            await queue.put(("error", exc))
        await queue.put(("end", None))

    async def watch() -> None:
        async for task in _run_moves(executor, view.task_id):
            await queue.put(("run", task))

    name = f"a2a-follow:{view.task_id}"
    workers = [asyncio.create_task(pump(), name=name), asyncio.create_task(watch(), name=name)]
    try:
        while not view.over:
            kind, item = await queue.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            for event in [item] if kind == "sdk" else view.news(item):
                view.told(event)
                yield event
    finally:
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)


async def _run_moves(executor: TetherAgentExecutor, task_id: str) -> AsyncIterator[Task]:
    """The task as its run's log has it, each time the run's row in the store moved (the first
    time at once); none while an execute() here writes the task (its events come through the
    SDK). Ends after a terminal task."""
    store = executor.runner.store
    assert store is not None
    seen: RunMark | None = None
    pause = 0.0
    while True:
        await asyncio.sleep(pause)
        info = await store.run_info(task_id)
        key = None if info is None else run_mark(info)
        # While an execute() here writes the task, its events come through the SDK: the run
        # is looked at again later (less and less often), as if it had not moved.
        task = None if key is None or key == seen else await executor.current(task_id)
        if task is None:
            pause = min(max(pause * 2, FIRST_LOOK), LONGEST_LOOK)
            continue
        pause = FIRST_LOOK
        seen = key
        yield task
        if task.status.state in TERMINAL:
            return
