"""A2A tasks as durable as their runs: a cancelled input-required task ends its stored run, and
a server on PostgreSQL (no task records on disk) answers for its tasks after a restart."""

from __future__ import annotations

import asyncio
import gc
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import a2a.server.routes  # noqa: F401 - imported here: on first import it reads the cwd (blocking)
import a2a_agents
import psycopg
import pytest
from _a2akit import serve_in_thread
from a2a.client import ClientConfig, create_client
from a2a.helpers.proto_helpers import get_text_parts
from a2a.types.a2a_pb2 import (
    CancelTaskRequest,
    GetTaskRequest,
    ListTasksRequest,
    Message,
    Part,
    Role,
    SendMessageRequest,
    SubscribeToTaskRequest,
    TaskState,
)
from a2a.utils.errors import TaskNotFoundError
from starlette.applications import Starlette
from store.conftest import postgres_url

from tether import Runner
from tether.a2a import routes
from tether.store.sqlite import SQLiteStore


def _request(text: str, *, task_id: str = "", context_id: str = "") -> SendMessageRequest:
    return SendMessageRequest(
        message=Message(
            message_id=uuid.uuid4().hex,
            role=Role.ROLE_USER,
            parts=[Part(text=text)],
            task_id=task_id,
            context_id=context_id,
        )
    )


async def _send(url: str, text: str, **ids: str) -> Any:
    client = await create_client(url, client_config=ClientConfig(streaming=False))
    try:
        events = [e async for e in client.send_message(_request(text, **ids))]
    finally:
        await client.close()
    return events[-1].task


def _texts(task: Any) -> list[list[str]]:
    return [get_text_parts(a.parts) for a in task.artifacts]


async def _state(store: str, run_id: str) -> str:
    runner = Runner(store=store, telemetry=None)
    try:
        return (await runner.load_state(run_id)).status
    finally:
        await runner.aclose()


def _app(store: str, *more: Any) -> Starlette:
    runner = Runner(store=store, telemetry=None, agents=[*a2a_agents.agents, *more])

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await runner.aclose()  # on the server's loop, where its store connections live

    return Starlette(routes=routes(runner), lifespan=lifespan)


async def test_cancelling_an_input_required_task_ends_its_run(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'runs.db'}"
    with serve_in_thread(_app(store)) as base:
        url = f"{base}/a2a/guarded"
        waiting = await _send(url, "wipe it")
        assert waiting.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
        assert await _state(store, waiting.id) == "awaiting_approval"
        client = await create_client(url, client_config=ClientConfig(streaming=False))
        try:
            cancelled = await client.cancel_task(CancelTaskRequest(id=waiting.id))
        finally:
            await client.close()
        assert cancelled.status.state == TaskState.TASK_STATE_CANCELED
        # The run ends in its own log too: nobody can approve and resume it afterwards.
        assert await _state(store, waiting.id) == "cancelled"
        runner = Runner(store=store, telemetry=None)
        try:
            events = await runner.store.load(waiting.id) if runner.store else []
        finally:
            await runner.aclose()
        assert events[-1].type == "run_finished"
        assert "tasks/cancel" in (getattr(events[-1], "error", "") or "")


async def test_cancelling_a_task_waiting_on_a_subagent_ends_the_subagents_run(
    tmp_path: Path,
) -> None:
    # the subagent's run waits with its parent: cancelled with it, not left waiting forever
    store = f"sqlite:///{tmp_path / 'runs.db'}"
    with serve_in_thread(_app(store, a2a_agents.boss)) as base:
        url = f"{base}/a2a/boss"
        waiting = await _send(url, "wipe it")
        assert waiting.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
        runner = Runner(store=store, telemetry=None)
        try:
            (suspended,) = (await runner.load_state(waiting.id)).suspended.values()
        finally:
            await runner.aclose()
        assert await _state(store, suspended.child_run_id) == "awaiting_approval"
        client = await create_client(url, client_config=ClientConfig(streaming=False))
        try:
            cancelled = await client.cancel_task(CancelTaskRequest(id=waiting.id))
        finally:
            await client.close()
        assert cancelled.status.state == TaskState.TASK_STATE_CANCELED
        assert await _state(store, waiting.id) == "cancelled"
        assert await _state(store, suspended.child_run_id) == "cancelled"


async def _resolve(store: str, run_id: str, output: str) -> None:
    """Deliver a deferred result the way another process would: its own Runner on the store."""
    runner = Runner(store=store, telemetry=None, agents=a2a_agents.agents)
    try:
        state = await runner.load_state(run_id)
        (call_id,) = state.deferred
        await runner.resolve_deferred(run_id, call_id, output)
    finally:
        await runner.aclose()


async def _get(url: str, task_id: str) -> Any:
    client = await create_client(url)
    try:
        return await client.get_task(GetTaskRequest(id=task_id))
    finally:
        await client.close()


async def test_a_task_waiting_for_a_deferred_result_works_on_then_completes(
    tmp_path: Path,
) -> None:
    store = f"sqlite:///{tmp_path / 'runs.db'}"
    with serve_in_thread(_app(store)) as base:
        url = f"{base}/a2a/studio"
        waiting = await _send(url, "render the intro")
        # not failed, not over: the run waits for the render job's result
        assert waiting.status.state == TaskState.TASK_STATE_WORKING
        assert "job-intro" in "\n".join(get_text_parts(waiting.status.message.parts))
        assert await _state(store, waiting.id) == "awaiting_deferred"
        still = await _get(url, waiting.id)
        assert still.status.state == TaskState.TASK_STATE_WORKING
        # a message on the task cannot deliver the result: it is told the task still waits
        nudged = await _send(url, "done yet?", task_id=waiting.id, context_id=waiting.context_id)
        assert nudged.status.state == TaskState.TASK_STATE_WORKING
        assert "job-intro" in "\n".join(get_text_parts(nudged.status.message.parts))
        assert await _state(store, waiting.id) == "awaiting_deferred"
        await _resolve(store, waiting.id, "240 frames")
        done = await _get(url, waiting.id)
    assert done.status.state == TaskState.TASK_STATE_COMPLETED
    assert _texts(done) == [["rendered: 240 frames"]]
    assert done.history  # the SDK's record of the conversation is kept


async def test_a_deferred_task_completes_after_a_restart_too(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'runs.db'}"
    with serve_in_thread(_app(store)) as first:
        waiting = await _send(f"{first}/a2a/studio", "render the intro")
    await _resolve(store, waiting.id, "done")
    with serve_in_thread(_app(store)) as second:
        done = await _get(f"{second}/a2a/studio", waiting.id)
    assert done.status.state == TaskState.TASK_STATE_COMPLETED
    assert _texts(done) == [["rendered: done"]]


@pytest.fixture
def pg_store() -> Iterator[str]:
    url = postgres_url()
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield f"{url}?options=-csearch_path%3D{schema}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.mark.postgres
async def test_tasks_outlive_a_server_on_postgres(pg_store: str) -> None:
    with serve_in_thread(_app(pg_store)) as first:
        done = await _send(f"{first}/a2a/city", "capital of France")
        waiting = await _send(f"{first}/a2a/guarded", "wipe it")
        other = await _send(f"{first}/a2a/guarded", "wipe it")
        broken = await _send(f"{first}/a2a/broken", "hi")
    assert done.status.state == TaskState.TASK_STATE_COMPLETED
    assert waiting.status.state == TaskState.TASK_STATE_INPUT_REQUIRED

    with serve_in_thread(_app(pg_store)) as second:  # a new process: no task in memory
        city = await create_client(f"{second}/a2a/city")
        guarded = await create_client(f"{second}/a2a/guarded")
        failed = await create_client(f"{second}/a2a/broken")
        try:
            got = await city.get_task(GetTaskRequest(id=done.id))
            asked = await guarded.get_task(GetTaskRequest(id=waiting.id))
            gone = await failed.get_task(GetTaskRequest(id=broken.id))
            answered = await _send(
                f"{second}/a2a/guarded", "approve", task_id=waiting.id, context_id=asked.context_id
            )
            cancelled = await guarded.cancel_task(CancelTaskRequest(id=other.id))
            with pytest.raises(TaskNotFoundError):  # not a task of this agent
                await guarded.get_task(GetTaskRequest(id=done.id))
        finally:
            for client in (city, guarded, failed):
                await client.close()

    assert got.status.state == TaskState.TASK_STATE_COMPLETED
    assert got.context_id == done.context_id
    assert _texts(got)[0] == _texts(done)[0]
    assert any(p.HasField("data") for p in got.artifacts[0].parts)  # the structured output
    assert asked.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
    assert "wipe" in "\n".join(get_text_parts(asked.status.message.parts))
    assert gone.status.state == TaskState.TASK_STATE_FAILED
    assert "the model exploded" in "\n".join(get_text_parts(gone.status.message.parts))
    assert answered.status.state == TaskState.TASK_STATE_COMPLETED
    assert _texts(answered) == [["done: wiped disk"]]
    assert await _state(pg_store, waiting.id) == "completed"
    assert cancelled.status.state == TaskState.TASK_STATE_CANCELED
    assert await _state(pg_store, other.id) == "cancelled"


@pytest.mark.postgres
async def test_tasks_list_reads_the_store_after_a_restart(pg_store: str) -> None:
    with serve_in_thread(_app(pg_store)) as first:
        one = await _send(f"{first}/a2a/echo", "one")
        two = await _send(f"{first}/a2a/echo", "two")
        rendering = await _send(f"{first}/a2a/studio", "render")
    await _resolve(pg_store, rendering.id, "ok")
    with serve_in_thread(_app(pg_store)) as second:  # a new server: no task in memory
        three = await _send(f"{second}/a2a/echo", "three")
        echo = await create_client(f"{second}/a2a/echo")
        studio = await create_client(f"{second}/a2a/studio")
        try:
            echoes = await echo.list_tasks(ListTasksRequest())
            renders = await studio.list_tasks(ListTasksRequest())
        finally:
            await echo.close()
            await studio.close()
    assert sorted(t.id for t in echoes.tasks) == sorted([one.id, two.id, three.id])
    assert all(t.status.state == TaskState.TASK_STATE_COMPLETED for t in echoes.tasks)
    assert [(t.id, t.status.state) for t in renders.tasks] == [
        (rendering.id, TaskState.TASK_STATE_COMPLETED)
    ]


def _following(task_id: str) -> list[asyncio.Task[Any]]:
    """The server's tasks (on its own loop, in its thread) that follow the task's run."""
    return [
        t
        for t in gc.get_objects()
        if isinstance(t, asyncio.Task) and t.get_name() == f"a2a-follow:{task_id}" and not t.done()
    ]


async def _watched(task_id: str, *, watched: bool = True) -> bool:
    """Whether the server comes to follow the task's run (or to stop following it)."""
    for _ in range(400):
        if bool(_following(task_id)) == watched:
            return True
        await asyncio.sleep(0.05)
    return False


def _subscribed(client: Any, task_id: str) -> tuple[asyncio.Task[None], list[Any]]:
    """A subscription to the task, going on in the background; what it was sent so far."""
    seen: list[Any] = []

    async def follow() -> None:
        async for update in client.subscribe(SubscribeToTaskRequest(id=task_id)):
            seen.append(update)

    return asyncio.create_task(follow()), seen


@pytest.mark.parametrize("binding", ["JSONRPC", "HTTP+JSON"])
async def test_a_subscriber_to_a_deferred_task_is_pushed_its_end(
    tmp_path: Path, binding: str
) -> None:
    """The result is delivered by another process: no execute() runs for the task here, yet the
    subscriber is pushed the artifact and the final status, and its stream then ends."""
    store = f"sqlite:///{tmp_path / 'runs.db'}"
    with serve_in_thread(_app(store)) as base:
        url = f"{base}/a2a/studio"
        waiting = await _send(url, "render the intro")
        assert waiting.status.state == TaskState.TASK_STATE_WORKING
        config = ClientConfig(streaming=True, supported_protocol_bindings=[binding])
        client = await create_client(url, client_config=config)
        follower, seen = _subscribed(client, waiting.id)
        try:
            assert await _watched(waiting.id)  # the server follows the run for this subscriber
            await _resolve(store, waiting.id, "240 frames")
            await asyncio.wait_for(follower, timeout=30)  # the stream ends with the task
        finally:
            follower.cancel()
            await client.close()
        done = await _get(url, waiting.id)
        assert await _watched(waiting.id, watched=False)
    assert [u.WhichOneof("payload") for u in seen] == ["task", "artifact_update", "status_update"]
    assert seen[0].task.status.state == TaskState.TASK_STATE_WORKING
    artifacts = [u.artifact_update.artifact for u in seen if u.HasField("artifact_update")]
    assert [get_text_parts(a.parts) for a in artifacts] == [["rendered: 240 frames"]]
    assert seen[-1].status_update.status.state == TaskState.TASK_STATE_COMPLETED
    assert done.status.state == TaskState.TASK_STATE_COMPLETED
    assert _texts(done) == [["rendered: 240 frames"]]


async def test_a_subscriber_hears_of_an_approval_decided_elsewhere(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'runs.db'}"
    with serve_in_thread(_app(store)) as base:
        url = f"{base}/a2a/guarded"
        asking = await _send(url, "wipe it")  # input-required: the run waits for an approval
        client = await create_client(url, client_config=ClientConfig(streaming=True))
        follower, seen = _subscribed(client, asking.id)
        try:
            assert await _watched(asking.id)
            decider = Runner(store=store, telemetry=None, agents=a2a_agents.agents)
            try:  # another process approves, on its own Runner
                (call_id,) = (await decider.load_state(asking.id)).pending_approvals
                await decider.resume(asking.id, approvals={call_id: True})
            finally:
                await decider.aclose()
            await asyncio.wait_for(follower, timeout=30)
        finally:
            follower.cancel()
            await client.close()
    assert seen[0].task.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
    artifacts = [u.artifact_update.artifact for u in seen if u.HasField("artifact_update")]
    assert [get_text_parts(a.parts) for a in artifacts] == [["done: wiped disk"]]
    assert seen[-1].status_update.status.state == TaskState.TASK_STATE_COMPLETED


async def test_a_subscriber_that_goes_away_stops_following_the_run(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'runs.db'}"
    with serve_in_thread(_app(store)) as base:
        url = f"{base}/a2a/studio"
        waiting = await _send(url, "render the intro")
        client = await create_client(url, client_config=ClientConfig(streaming=True))
        try:
            async for update in client.subscribe(SubscribeToTaskRequest(id=waiting.id)):
                assert update.task.status.state == TaskState.TASK_STATE_WORKING
                assert await _watched(waiting.id)
                break  # the subscriber leaves while the task still waits
        finally:
            await client.close()
        assert await _watched(waiting.id, watched=False)  # the server heard of it
        await _resolve(store, waiting.id, "later")
        done = await _get(url, waiting.id)  # the server still answers, and follows the run
    assert done.status.state == TaskState.TASK_STATE_COMPLETED


class _CountingStore(SQLiteStore):
    """The SQLite store, counting the logs it reads (by run id)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.loads: Counter[str] = Counter()

    async def load(self, run_id: str) -> list[Any]:
        self.loads[run_id] += 1
        return await super().load(run_id)


def _counted_app(store: _CountingStore, tasks_path: Path | None = None) -> Starlette:
    runner = Runner(store=store, telemetry=None, agents=a2a_agents.agents)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await runner.aclose()

    return Starlette(routes=routes(runner, tasks_path=tasks_path), lifespan=lifespan)


async def _listed(client: Any) -> list[tuple[str, int]]:
    page = await client.list_tasks(ListTasksRequest())
    return sorted((t.id, t.status.state) for t in page.tasks)


async def test_tasks_list_reads_only_the_logs_of_runs_that_moved(tmp_path: Path) -> None:
    store = _CountingStore(tmp_path / "runs.db")
    with serve_in_thread(_counted_app(store)) as base:
        url = f"{base}/a2a/studio"
        waiting = [await _send(url, f"render scene {n}") for n in range(3)]
        client = await create_client(url)
        try:
            first = await _listed(client)
            assert first == sorted((t.id, TaskState.TASK_STATE_WORKING) for t in waiting)
            store.loads.clear()
            assert await _listed(client) == first  # nothing moved: no log is read again
            assert not store.loads
            await _resolve(f"sqlite:///{tmp_path / 'runs.db'}", waiting[0].id, "done")
            moved = await _listed(client)
            assert set(store.loads) == {waiting[0].id}  # only the run that moved
            store.loads.clear()
            assert await _listed(client) == moved
            assert not store.loads
        finally:
            await client.close()
    assert dict(moved)[waiting[0].id] == TaskState.TASK_STATE_COMPLETED
    assert [dict(moved)[t.id] for t in waiting[1:]] == [TaskState.TASK_STATE_WORKING] * 2

    # A new server without the task records: the first listing rebuilds each task from its
    # run's log, once, and the next reads none.
    again = _CountingStore(tmp_path / "runs.db")
    with serve_in_thread(_counted_app(again, tmp_path / "other-tasks.db")) as base:
        client = await create_client(f"{base}/a2a/studio")
        try:
            assert await _listed(client) == moved
            assert again.loads == Counter({t.id: 1 for t in waiting})
            again.loads.clear()
            assert await _listed(client) == moved
            assert not again.loads
        finally:
            await client.close()
