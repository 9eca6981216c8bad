"""A2AAgent: a remote A2A agent as a tool and as a handoff target, between two tether servers
on loopback (each built with tether.server.create_app, which mounts tether.a2a.routes)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import a2a_agents
import pytest
from _a2akit import serve_in_thread
from a2a.client import ClientConfig, create_client
from a2a.helpers.proto_helpers import get_text_parts
from a2a.types.a2a_pb2 import Message, Part, Role, SendMessageRequest, TaskState

from tests._ports import refused_port
from tether import Agent, Runner, UserError
from tether.a2a import A2AAgent, A2AError
from tether.models import FunctionModel
from tether.server import create_app


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Server A: the test agents, served by `tether serve`'s app."""
    store = f"sqlite:///{tmp_path_factory.mktemp('remote') / 'runs.db'}"
    runner = Runner(store=store, telemetry=None, agents=a2a_agents.agents)
    with serve_in_thread(create_app(runner)) as url:
        yield url


def _front(remote: str) -> Agent:
    city = A2AAgent(f"{remote}/a2a/city").as_tool(name="ask_city")
    echo = A2AAgent(f"{remote}/a2a/echo", description="Echoes.")

    def script(messages: list[Any], info: Any) -> Any:
        tool_results = [m for m in messages if m.role == "tool"]
        if not tool_results:
            return FunctionModel.tool_call("ask_city", {"input": "capital of France?"})
        return FunctionModel.tool_call("transfer_to_echo", {})

    return Agent("front", model=FunctionModel(script), tools=[city], handoffs=[echo])


@pytest.fixture(scope="module")
def front(remote: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Server B: an agent that asks server A's agents, as a tool and as a handoff."""
    store = f"sqlite:///{tmp_path_factory.mktemp('front') / 'runs.db'}"
    runner = Runner(store=store, telemetry=None, agents=[_front(remote)])
    with serve_in_thread(create_app(runner)) as url:
        yield url


async def test_remote_agent_as_tool_and_handoff_in_process(remote: str) -> None:
    result = await _front(remote).run("Where is Paris?")
    call, handoff = result.tool_executions
    assert call.tool_name == "ask_city" and handoff.tool_name == "transfer_to_echo"
    assert "Paris" in call.output and "France" in call.output
    assert result.last_agent == "echo"
    assert result.output == "echo #1: Where is Paris?"


async def test_two_tether_servers(front: str) -> None:
    """The official client asks server B, whose agent asks server A over A2A."""
    client = await create_client(f"{front}/a2a/front", client_config=ClientConfig(streaming=False))
    request = SendMessageRequest(
        message=Message(
            message_id=uuid.uuid4().hex, role=Role.ROLE_USER, parts=[Part(text="Where is Paris?")]
        )
    )
    try:
        (event,) = [e async for e in client.send_message(request)]
    finally:
        await client.close()
    task = event.task
    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    texts = [t for a in task.artifacts for t in get_text_parts(a.parts)]
    assert texts == ["echo #1: Where is Paris?"]


async def test_the_root_card_of_tether_serve(remote: str) -> None:
    import httpx

    async with httpx.AsyncClient() as http:
        card = (await http.get(f"{remote}/.well-known/agent-card.json")).json()
        health = await http.get(f"{remote}/healthz")
    assert card["name"] == "echo"
    assert health.status_code == 200  # the rest of `tether serve` still answers


async def test_direct_run_and_defaults(remote: str) -> None:
    echo = A2AAgent(f"{remote}/a2a/echo/")
    assert echo.name == "echo" and echo.url == f"{remote}/a2a/echo"
    assert (await echo.run("hi")).output == "echo #1: hi"
    waiting = await A2AAgent(f"{remote}/a2a/guarded").run("wipe")
    assert "needs input" in waiting.output and "wipe" in waiting.output


async def test_failures_name_the_url(remote: str, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="http:// or https://"):
        A2AAgent("localhost:8000")
    with refused_port() as port:
        nowhere = f"http://127.0.0.1:{port}/a2a/echo"
        with pytest.raises(A2AError, match=re.escape(nowhere)):
            await A2AAgent(nowhere).run("hi")
        with pytest.raises(A2AError, match=r"ended failed: the run failed: .*the model exploded"):
            await A2AAgent(f"{remote}/a2a/broken").run("hi")
        # Inside a run, a remote agent that cannot be reached is a tool error, not a crash.
        tool = A2AAgent(nowhere).as_tool(name="ask")
        model = FunctionModel(
            lambda messages, info: (
                "gave up"
                if any(m.role == "tool" for m in messages)
                else FunctionModel.tool_call("ask", {"input": "hi"})
            )
        )
        result = await Agent("caller", model=model, tools=[tool]).run("go")
    assert result.output == "gave up"
    assert nowhere in (result.tool_executions[0].error or "")


async def test_a2a_errors_do_not_show_credentials() -> None:
    with refused_port() as port, pytest.raises(A2AError) as caught:
        await A2AAgent(f"http://bob:pw123@127.0.0.1:{port}/a2a/x?key=k-secret").run("hi")
    text = str(caught.value)
    assert f"http://127.0.0.1:{port}/a2a/x?key=***" in text
    assert "pw123" not in text and "k-secret" not in text and "bob" not in text


@pytest.fixture
def keyed(tmp_path: Path) -> Iterator[str]:
    """A `tether serve` app that wants the API key `key-1`."""
    from tether.server import ServerConfig

    runner = Runner(store=f"sqlite:///{tmp_path / 'runs.db'}", telemetry=None)
    runner.register_agent(a2a_agents.echo)
    with serve_in_thread(create_app(runner, ServerConfig(api_keys=("key-1",)))) as url:
        yield url


async def test_headers_reach_a_server_that_wants_a_key(keyed: str) -> None:
    with_key = A2AAgent(f"{keyed}/a2a/echo", headers={"Authorization": "Bearer key-1"})
    assert (await with_key.run("with a key")).output == "echo #1: with a key"
    with pytest.raises(A2AError) as caught:
        await A2AAgent(f"{keyed}/a2a/echo").run("without")
    assert "401" in str(caught.value) and "key-1" not in str(caught.value)


async def test_headers_go_only_to_the_agents_own_origin() -> None:
    """A card that names another host for its interface gets the request, not the key."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    seen: list[str | None] = []

    async def catch(request: Request) -> JSONResponse:
        seen.append(request.headers.get("authorization"))
        return JSONResponse({"jsonrpc": "2.0", "id": 1, "error": {"code": -32603, "message": "no"}})

    with serve_in_thread(Starlette(routes=[Route("/{p:path}", catch, methods=["POST"])])) as other:

        async def card(request: Request) -> JSONResponse:
            interface = {"url": f"{other}/elsewhere", "protocolBinding": "JSONRPC"}
            return JSONResponse(
                {
                    "name": "elsewhere",
                    "description": "Its interface is on another origin.",
                    "version": "1",
                    "supportedInterfaces": [{**interface, "protocolVersion": "1.0"}],
                    "capabilities": {"streaming": False},
                    "defaultInputModes": ["text/plain"],
                    "defaultOutputModes": ["text/plain"],
                    "skills": [],
                }
            )

        front = Starlette(routes=[Route("/a/.well-known/agent-card.json", card)])
        with serve_in_thread(front) as url, pytest.raises(A2AError):
            await A2AAgent(f"{url}/a", headers={"Authorization": "Bearer s3cret"}).run("hi")
    assert seen == [None]  # the other origin was asked, without the caller's key
