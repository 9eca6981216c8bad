"""tether agents served over A2A, driven by the official a2a-sdk client on loopback."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import a2a_agents
import httpx
import pytest
from _a2akit import serve_in_thread
from a2a.client import A2ACardResolver, ClientConfig, create_client
from a2a.helpers.proto_helpers import get_data_parts, get_text_parts
from a2a.types.a2a_pb2 import (
    CancelTaskRequest,
    GetTaskRequest,
    ListTasksRequest,
    Message,
    Part,
    Role,
    SendMessageRequest,
    TaskState,
)
from starlette.applications import Starlette

from tether import Runner
from tether.a2a import routes, tether_state


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('a2a') / 'runs.db'}"


@pytest.fixture(scope="module")
def base(store: str) -> Iterator[str]:
    runner = Runner(store=store, telemetry=None, agents=a2a_agents.agents)
    with serve_in_thread(Starlette(routes=routes(runner))) as url:
        yield url


def _message(text: str, *, task_id: str = "", context_id: str = "") -> SendMessageRequest:
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
    """Send ``text`` (not streaming); the final task."""
    client = await create_client(url, client_config=ClientConfig(streaming=False))
    try:
        events = [e async for e in client.send_message(_message(text, **ids))]
    finally:
        await client.close()
    assert len(events) == 1 and events[0].HasField("task")
    return events[0].task


def _artifact_text(task: Any) -> str:
    return "\n".join(t for a in task.artifacts for t in get_text_parts(a.parts))


async def test_agent_cards(base: str) -> None:
    async with httpx.AsyncClient() as http:
        root = await A2ACardResolver(http, base).get_agent_card()
        city = await A2ACardResolver(http, f"{base}/a2a/city").get_agent_card()
        listing = (await http.get(f"{base}/a2a")).json()
    assert root.name == "echo" and root.description == "Repeats what it is told."
    bindings = {i.protocol_binding: i.url for i in root.supported_interfaces}
    assert bindings == {"JSONRPC": f"{base}/a2a/echo", "HTTP+JSON": f"{base}/a2a/echo/rest"}
    assert root.capabilities.streaming
    assert list(city.default_output_modes) == ["text/plain", "application/json"]
    names = [a["name"] for a in listing["agents"]]
    assert names == ["echo", "city", "slow", "guarded", "broken", "greeter", "studio"]
    assert listing["agents"][2]["card"] == f"{base}/a2a/slow/.well-known/agent-card.json"
    slow = [s.name for s in (await _card(f"{base}/a2a/slow")).skills]
    assert slow == ["slow", "tick"]  # the agent, then its tools


async def _card(url: str) -> Any:
    async with httpx.AsyncClient() as http:
        return await A2ACardResolver(http, url).get_agent_card()


async def test_message_send_then_tasks_get_and_list(base: str, store: str) -> None:
    task = await _send(f"{base}/a2a/echo", "hello")
    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    assert _artifact_text(task) == "echo #1: hello"
    follow_up = await _send(f"{base}/a2a/echo", "again", context_id=task.context_id)
    assert _artifact_text(follow_up) == "echo #2: again"  # same context: same thread

    client = await create_client(f"{base}/a2a/echo")
    try:
        got = await client.get_task(GetTaskRequest(id=task.id))
        listed = await client.list_tasks(ListTasksRequest(context_id=task.context_id))
    finally:
        await client.close()
    assert got.status.state == TaskState.TASK_STATE_COMPLETED
    assert {t.id for t in listed.tasks} == {task.id, follow_up.id}
    # The task is a tether run: same id, in the Runner's store.
    runner = Runner(store=store, telemetry=None)
    try:
        state = await runner.load_state(task.id)
    finally:
        await runner.aclose()
    assert state.status == "completed" and state.thread_id == task.context_id


async def test_rest_binding(base: str) -> None:
    config = ClientConfig(streaming=False, supported_protocol_bindings=["HTTP+JSON"])
    client = await create_client(f"{base}/a2a/echo", client_config=config)
    try:
        (event,) = [e async for e in client.send_message(_message("over rest"))]
        got = await client.get_task(GetTaskRequest(id=event.task.id))
    finally:
        await client.close()
    assert _artifact_text(event.task) == "echo #1: over rest"
    assert got.id == event.task.id


async def test_message_stream(base: str) -> None:
    client = await create_client(f"{base}/a2a/echo", client_config=ClientConfig(streaming=True))
    try:
        events = [e async for e in client.send_message(_message("streamed"))]
    finally:
        await client.close()
    kinds = [e.WhichOneof("payload") for e in events]
    assert kinds[0] == "task" and kinds[-1] == "status_update"
    assert "artifact_update" in kinds
    states = [e.status_update.status.state for e in events if e.HasField("status_update")]
    assert states[0] == TaskState.TASK_STATE_WORKING
    assert states[-1] == TaskState.TASK_STATE_COMPLETED
    (artifact,) = [e.artifact_update.artifact for e in events if e.HasField("artifact_update")]
    assert get_text_parts(artifact.parts) == ["echo #1: streamed"]


async def test_structured_output_is_a_data_part(base: str) -> None:
    task = await _send(f"{base}/a2a/city", "capital of France")
    (artifact,) = task.artifacts
    assert get_data_parts(artifact.parts) == [{"name": "Paris", "country": "France"}]


async def test_approval_is_input_required_then_answered(base: str) -> None:
    url = f"{base}/a2a/guarded"
    waiting = await _send(url, "wipe it")
    assert waiting.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
    question = "\n".join(get_text_parts(waiting.status.message.parts))
    assert "wipe" in question and "approve" in question
    done = await _send(url, "approve", task_id=waiting.id, context_id=waiting.context_id)
    assert done.status.state == TaskState.TASK_STATE_COMPLETED
    assert _artifact_text(done) == "done: wiped disk"

    other = await _send(url, "wipe it")
    rejected = await _send(url, "not today", task_id=other.id, context_id=other.context_id)
    assert _artifact_text(rejected) == "done: The call was rejected: not today"


async def test_a_tools_question_is_input_required_then_answered(base: str) -> None:
    url = f"{base}/a2a/greeter"
    asking = await _send(url, "greet me")
    assert asking.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
    assert "What is your name?" in "\n".join(get_text_parts(asking.status.message.parts))
    done = await _send(url, "Ada", task_id=asking.id, context_id=asking.context_id)
    assert done.status.state == TaskState.TASK_STATE_COMPLETED
    assert _artifact_text(done) == "hello Ada"


async def test_cancel_cancels_the_run(base: str, store: str) -> None:
    url = f"{base}/a2a/slow"
    client = await create_client(url, client_config=ClientConfig(streaming=False, polling=True))
    try:
        (event,) = [e async for e in client.send_message(_message("go"))]
        task_id = event.task.id
        runner = Runner(store=store, telemetry=None)
        try:
            for _ in range(200):  # until the run is waiting in its second model call
                events = await runner.store.load(task_id) if runner.store else []
                if sum(1 for e in events if e.type == "tool_call_finished") >= 1:
                    break
                await asyncio.sleep(0.05)
            cancelled = await client.cancel_task(CancelTaskRequest(id=task_id))
            assert cancelled.status.state == TaskState.TASK_STATE_CANCELED
            state = ""
            for _ in range(100):
                state = (await runner.load_state(task_id)).status
                if state == "cancelled":
                    break
                await asyncio.sleep(0.05)
            assert state == "cancelled"
        finally:
            await runner.aclose()
        got = await client.get_task(GetTaskRequest(id=task_id))
        assert got.status.state == TaskState.TASK_STATE_CANCELED
    finally:
        await client.close()


async def test_subscribe_to_a_running_task_sees_it_cancelled(base: str) -> None:
    from a2a.types.a2a_pb2 import SubscribeToTaskRequest

    url = f"{base}/a2a/slow"
    poller = await create_client(url, client_config=ClientConfig(streaming=False, polling=True))
    client = await create_client(url, client_config=ClientConfig(streaming=True))
    states: list[int] = []
    try:
        (event,) = [e async for e in poller.send_message(_message("go"))]
        task_id = event.task.id

        async def follow() -> None:
            async for update in client.subscribe(SubscribeToTaskRequest(id=task_id)):
                if update.HasField("status_update"):
                    states.append(update.status_update.status.state)
                elif update.HasField("task"):
                    states.append(update.task.status.state)

        follower = asyncio.create_task(follow())
        for _ in range(200):  # until the subscription has seen the task at work
            if TaskState.TASK_STATE_WORKING in states:
                break
            await asyncio.sleep(0.05)
        await client.cancel_task(CancelTaskRequest(id=task_id))
        await asyncio.wait_for(follower, timeout=30)  # the stream ends with the task
    finally:
        await client.close()
        await poller.close()
    assert TaskState.TASK_STATE_WORKING in states
    assert states[-1] == TaskState.TASK_STATE_CANCELED


async def test_failed_run_is_a_failed_task(base: str) -> None:
    task = await _send(f"{base}/a2a/broken", "hi")
    assert task.status.state == TaskState.TASK_STATE_FAILED
    assert "the model exploded" in "\n".join(get_text_parts(task.status.message.parts))


async def test_tasks_survive_a_restart(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'runs.db'}"

    def app() -> Starlette:
        runner = Runner(store=store, telemetry=None, agents=[a2a_agents.echo])
        return Starlette(routes=routes(runner))

    with serve_in_thread(app()) as first:
        task = await _send(f"{first}/a2a/echo", "remember me")
    with serve_in_thread(app()) as second:
        client = await create_client(f"{second}/a2a/echo")
        try:
            got = await client.get_task(GetTaskRequest(id=task.id))
            listed = await client.list_tasks(ListTasksRequest())
        finally:
            await client.close()
    assert got.status.state == TaskState.TASK_STATE_COMPLETED
    assert _artifact_text(got) == "echo #1: remember me"
    assert [t.id for t in listed.tasks] == [task.id]
    assert (tmp_path / "runs.a2a-tasks.db").is_file()


def test_states_map() -> None:
    assert tether_state("awaiting_approval") == TaskState.TASK_STATE_INPUT_REQUIRED
    assert tether_state("awaiting_input") == TaskState.TASK_STATE_INPUT_REQUIRED
    assert tether_state("completed") == TaskState.TASK_STATE_COMPLETED
    assert tether_state("cancelled") == TaskState.TASK_STATE_CANCELED
    assert tether_state("failed") == TaskState.TASK_STATE_FAILED
    assert tether_state("running") == TaskState.TASK_STATE_WORKING


def test_routes_need_agents() -> None:
    from tether import UserError

    with pytest.raises(UserError, match="no agents to serve over A2A"):
        routes(Runner(store=None, telemetry=None))


async def test_a_context_id_tether_refuses_is_invalid_params(base: str) -> None:
    """The context id is the run's thread id: one too long is the client's error (-32602),
    not an internal one (-32603), and no task is made."""
    message = {"messageId": "m-ctx", "role": "ROLE_USER", "parts": [{"text": "hi"}]}
    request = {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": message}}
    message["contextId"] = "c" * 5000
    async with httpx.AsyncClient(timeout=30) as http:
        answer = await http.post(f"{base}/a2a/echo", json=request, headers={"A2A-Version": "1.0"})
    error = answer.json()["error"]
    assert error["code"] == -32602 and "the limit is 256" in error["message"]
