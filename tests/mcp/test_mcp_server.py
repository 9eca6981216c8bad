"""tether agents as an MCP server, driven by the official MCP client over stdio and HTTP."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
import mcp_types
import pytest
from _mcpkit import start_http, stop
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from tether import Agent, Runner
from tether.cli import main
from tether.mcp import MCPServerHTTP, build_server
from tether.models import FakeModel

pytestmark = pytest.mark.allow_blocking  # the MCP SDK spawns and reads its subprocess itself

HERE = str(Path(__file__).parent)


def _serve_argv(store: str, *extra: str) -> list[str]:
    return [
        "-m",
        "tether.cli",
        "mcp",
        "serve",
        "served_agents:agents",
        "--store",
        store,
        *extra,
    ]


def _text(result: Any) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


async def _run_state(store: str, run_id: str) -> str:
    runner = Runner(store=store, telemetry=None)
    try:
        return (await runner.load_state(run_id)).status
    finally:
        await runner.aclose()


async def _cancel_slow_run(session: ClientSession) -> str:
    """Call the slow agent, cancel the call after two progress notifications; its run id."""
    seen: list[tuple[float, float | None, str | None]] = []
    got_two = anyio.Event()

    async def progress(value: float, total: float | None, message: str | None) -> None:
        seen.append((value, total, message))
        if len(seen) >= 2:
            got_two.set()

    async with anyio.create_task_group() as group:

        async def call() -> None:
            await session.call_tool("slow", {"prompt": "go"}, progress_callback=progress)

        group.start_soon(call)
        with anyio.fail_after(30):
            await got_two.wait()
        group.cancel_scope.cancel()  # the official client's way to cancel a request
    assert [(v, t) for v, t, _ in seen[:2]] == [(1.0, 5.0), (2.0, 5.0)]
    message = seen[0][2] or ""
    assert message.startswith("run ") and message.endswith("turn 1 of 5")
    return message.split()[1].rstrip(":")


async def _wait_for_state(store: str, run_id: str, wanted: str) -> str:
    state = ""
    for _ in range(100):  # the server records the cancellation right after the client's notice
        state = await _run_state(store, run_id)
        if state == wanted:
            break
        await anyio.sleep(0.05)
    return state


async def test_stdio_official_client(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'runs.db'}"
    asked: list[str] = []

    answers = [
        mcp_types.ElicitResult(action="accept", content={"approve": True}),
        mcp_types.ElicitResult(action="accept", content={"approve": False, "reason": "no way"}),
        mcp_types.ElicitResult(action="decline"),
    ]

    async def elicit(ctx: Any, params: Any) -> Any:
        asked.append(params.message)
        return answers[len(asked) - 1]

    params = StdioServerParameters(
        command=sys.executable, args=_serve_argv(store, "--tools"), cwd=HERE
    )
    async with (
        stdio_client(params) as (read, write),
        ClientSession(read, write, elicitation_callback=elicit) as session,
    ):
        await session.initialize()
        tools = {t.name: t for t in (await session.list_tools()).tools}
        assert set(tools) == {"echo", "city", "slow", "guarded", "echo.add", "slow.tick"}
        assert tools["echo"].description == "Repeats what it is told."
        assert tools["echo"].input_schema["required"] == ["prompt"]
        assert tools["city"].output_schema is not None
        assert tools["city"].output_schema["required"] == ["name", "country"]
        assert tools["echo.add"].input_schema["required"] == ["a", "b"]

        echoed = await session.call_tool("echo", {"prompt": "hello", "thread_id": "t-1"})
        assert _text(echoed) == "echo: hello" and not echoed.is_error
        again = await session.call_tool("echo", {"prompt": "more", "thread_id": "t-1"})
        assert _text(again) == "echo: more (message 2)"  # the thread goes on
        bad_thread = await session.call_tool("echo", {"prompt": "x", "thread_id": 7})
        assert bad_thread.is_error and "`thread_id` must be a string" in _text(bad_thread)
        city = await session.call_tool("city", {"prompt": "capital of France"})
        assert city.structured_content == {"name": "Paris", "country": "France"}

        assert _text(await session.call_tool("echo.add", {"a": 2, "b": 3})) == "5"
        bad = await session.call_tool("echo.add", {"a": "two"})
        assert bad.is_error and "a: Input should be a valid integer" in _text(bad)
        missing = await session.call_tool("echo", {})
        assert missing.is_error and "`prompt`" in _text(missing)
        unknown = await session.call_tool("nope", {"prompt": "x"})
        assert unknown.is_error and "no tool 'nope'" in _text(unknown)

        approved = await session.call_tool("guarded", {"prompt": "wipe it"})
        assert _text(approved) == "done: wiped disk"
        assert asked and "wipe" in asked[0] and '"target": "disk"' in asked[0]
        rejected = await session.call_tool("guarded", {"prompt": "wipe it"})
        assert _text(rejected) == "done: The call was rejected: no way"
        declined = await session.call_tool("guarded", {"prompt": "wipe it"})
        assert "the user answered 'decline'" in _text(declined)

        run_id = await _cancel_slow_run(session)
        assert await _wait_for_state(store, run_id, "cancelled") == "cancelled"
        after = await session.call_tool("echo", {"prompt": "still here"})
        assert _text(after) == "echo: still here"


async def test_client_without_elicitation_gets_the_waiting_run(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'runs.db'}"
    params = StdioServerParameters(command=sys.executable, args=_serve_argv(store), cwd=HERE)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        names = {t.name for t in (await session.list_tools()).tools}
        assert names == {"echo", "city", "slow", "guarded"}  # no --tools: agents only
        waiting = await session.call_tool("guarded", {"prompt": "wipe it"})
    text = _text(waiting)
    assert not waiting.is_error and "waits for approval of: wipe" in text
    run_id = text.split()[2]
    runner = Runner(store=store, telemetry=None)
    try:
        state = await runner.load_state(run_id)
        assert state.status == "awaiting_approval"
        (call_id,) = state.pending_approvals
        from served_agents import guarded

        # The run is durable: decided later, in another process, it completes.
        resumed = await runner.resume(run_id, guarded, approvals={call_id: True})
    finally:
        await runner.aclose()
    assert resumed.state == "completed" and resumed.output == "done: wiped disk"


async def test_http_official_client_and_cancellation(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'runs.db'}"

    def argv(port: int) -> list[str]:
        return [sys.executable, *_serve_argv(store, "--http", "--port", str(port))]

    process, port = await anyio.to_thread.run_sync(lambda: start_http(argv, cwd=HERE))
    try:
        url = f"http://127.0.0.1:{port}/mcp"
        async with (
            streamable_http_client(url) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            echoed = await session.call_tool("echo", {"prompt": "over http"})
            assert _text(echoed) == "echo: over http"
            run_id = await _cancel_slow_run(session)
            assert await _wait_for_state(store, run_id, "cancelled") == "cancelled"
        async with MCPServerHTTP(url) as server:  # tether's own client, same server
            tools = {t.name: t for t in await server.list_tools()}
            model = FakeModel().add_tool_call("city", {"prompt": "France?"}).add_response("ok")
            result = await Agent("asker", model=model, tools=[tools["city"]]).run("go")
            assert result.tool_executions[0].output == {"name": "Paris", "country": "France"}
    finally:
        stop(process)


def test_build_server_needs_agents() -> None:
    from tether import UserError

    with pytest.raises(UserError, match="no agents to serve"):
        build_server(Runner(store=None, telemetry=None))


def test_cli_names_a_bad_target(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mcp", "serve", "tether_no_such_module:agent"]) == 2
    assert "cannot import module 'tether_no_such_module'" in capsys.readouterr().err
    assert main(["mcp", "serve", "json:dumps"]) == 2
    assert "needs an Agent, a list of Agents or a Runner" in capsys.readouterr().err


def test_stdio_answers_lines_that_are_not_json_rpc(tmp_path: Path) -> None:
    """A line that is not JSON, or not a JSON-RPC message, gets a JSON-RPC error (it went
    unanswered: a client waiting on it hung), and the server goes on serving."""
    import json
    import selectors
    import subprocess

    argv = [sys.executable, *_serve_argv(f"sqlite:///{tmp_path / 'runs.db'}")]
    hello = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t"}}
    hello["clientInfo"]["version"] = "1"
    call = {"name": "echo", "arguments": {"prompt": "on"}}
    lines = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        "{not json",
        {"jsonrpc": "2.0", "id": 7, "method": 5},
        {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": call},
    ]
    process = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=HERE
    )
    assert process.stdin is not None and process.stdout is not None
    answers: list[dict[str, Any]] = []
    try:
        for line in lines:
            process.stdin.write(
                ((line if isinstance(line, str) else json.dumps(line)) + "\n").encode()
            )
        process.stdin.flush()
        with selectors.DefaultSelector() as selector:  # each answer within 30 s, or fail
            selector.register(process.stdout, selectors.EVENT_READ)
            while len(answers) < 4 and selector.select(timeout=30):
                answers.append(json.loads(process.stdout.readline()))
    finally:
        process.stdin.close()
        process.wait(timeout=30)
        process.stdout.close()
    by_id = {a.get("id"): a for a in answers}
    assert [a["id"] for a in answers] == [1, None, 7, 9]
    assert by_id[None]["error"]["code"] == -32700
    assert by_id[None]["error"]["message"].startswith("Parse error: ")
    assert by_id[7]["error"]["code"] == -32600
    assert by_id[9]["result"]["content"][0]["text"] == "echo: on"
