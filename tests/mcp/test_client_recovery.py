"""The MCP client survives: readable errors naming the server, reconnects, auth, list_changed."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from _mcpkit import CALC_SERVER, restart_http, start_http, stop

from tests._ports import refused_port
from tether import Agent, UserError
from tether.mcp import MCPConnectionError, MCPServerHTTP, MCPServerStdio
from tether.models import FakeModel

# The MCP SDK spawns and reads its subprocess itself; one event loop for the module, so that
# one calc server (started once: importing the MCP SDK takes seconds) serves every test.
pytestmark = [pytest.mark.allow_blocking, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def calc() -> AsyncIterator[MCPServerStdio]:
    """One calc server over stdio for the module (tests that kill it see it restarted)."""
    async with MCPServerStdio(sys.executable, [CALC_SERVER]) as server:
        yield server


async def test_nothing_listening_names_the_url() -> None:
    with refused_port() as port:
        url = f"http://127.0.0.1:{port}/mcp"
        with pytest.raises(MCPConnectionError, match="nothing is listening") as caught:
            async with MCPServerHTTP(url, connect_timeout=10):
                pass
    assert url in str(caught.value)
    assert isinstance(caught.value, UserError)


async def test_wrong_path_names_the_url(calc_http: str) -> None:
    url = calc_http.replace("/mcp", "/nope")
    with pytest.raises(MCPConnectionError, match="HTTP 404") as caught:
        async with MCPServerHTTP(url, connect_timeout=10):
            pass
    assert url in str(caught.value)


async def test_server_that_exits_at_once_names_the_command() -> None:
    server = MCPServerStdio(sys.executable, ["-c", "raise SystemExit(3)"], connect_timeout=10)
    with pytest.raises(MCPConnectionError, match="closed the connection") as caught:
        async with server:
            pass
    assert "SystemExit(3)" in str(caught.value)
    assert "ExceptionGroup" not in str(caught.value)


async def test_an_http_error_names_its_status() -> None:
    """An MCP URL that answers 401 or 500: the error says the status (the SDK's own error
    says only "Server returned an error response"), and 401 points at the credentials."""
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    from tests.a2a._a2akit import serve_in_thread

    def status(code: int) -> Route:
        return Route(f"/{code}", lambda request: Response("no", status_code=code), methods=["POST"])

    app = Starlette(routes=[status(401), status(500)])
    with serve_in_thread(app) as base:
        for code, said in (
            (401, "the server refused the credentials (check headers= / auth=)"),
            (500, ""),
        ):
            with pytest.raises(MCPConnectionError) as caught:
                async with MCPServerHTTP(f"{base}/{code}", headers={"X-Key": "k-secret"}):
                    pass
            assert str(caught.value).endswith(
                f"{base}/{code}: HTTP {code}" + (f": {said}" if said else "")
            )
            assert "k-secret" not in str(caught.value)


async def test_missing_command() -> None:
    with pytest.raises(MCPConnectionError, match="command was not found"):
        async with MCPServerStdio("tether-no-such-mcp-server", connect_timeout=10):
            pass


async def _opening_error(server: MCPServerStdio) -> str:
    """The text of the MCPConnectionError that opening ``server`` (0.5 s allowed) raises."""
    server.connect_timeout = 0.5
    try:
        async with server:
            pass
    except MCPConnectionError as exc:
        return str(exc)
    raise AssertionError("the server opened")


async def test_a_server_that_never_answers_is_a_timeout_and_nothing_else() -> None:
    """A server that starts but never answers the handshake: one MCPConnectionError naming
    the command and the time, and no stray "Future exception was never retrieved"."""
    import gc

    loop = asyncio.get_running_loop()
    stray: list[dict[str, Any]] = []
    before = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: stray.append(context))
    try:
        message = await _opening_error(
            MCPServerStdio(sys.executable, ["-c", "import time; time.sleep(60)"])
        )
        for _ in range(40):  # the subprocess's clean-up lets go of the opening's last frames
            gc.collect()  # a future left unread is reported as it is collected
            if stray:
                break
            await asyncio.sleep(0.05)
    finally:
        loop.set_exception_handler(before)
    assert "did not answer the handshake within 0.5 s" in message and "sleep(60)" in message
    assert [c.get("message") for c in stray] == []


async def test_http_url_is_checked() -> None:
    with pytest.raises(UserError, match="http:// or https://"):
        MCPServerHTTP("127.0.0.1:8000/mcp")


async def test_server_dying_inside_a_run_is_a_tool_error_and_the_next_call_works(
    calc: MCPServerStdio,
) -> None:
    tools = await calc.list_tools()
    before = calc.connections
    model = FakeModel()
    model.add_tool_call("crash", {})
    model.add_tool_call("add", {"a": 1, "b": 2})
    model.add_response("3 after a restart")
    result = await Agent("survivor", model=model, tools=tools).run("go")
    assert calc.connections == before + 1
    crash, add = result.tool_executions
    assert crash.output is None
    assert crash.error is not None and "closed the connection" in crash.error
    assert CALC_SERVER in crash.error and "next call connects again" in crash.error
    assert add.output == 3 and add.error is None
    assert result.output == "3 after a restart"
    assert result.state == "degraded"  # a failed tool call under continue_with_error
    assert len(result.degraded_reasons) == 1 and "crash" in result.degraded_reasons[0]


async def test_http_server_restart_expires_the_session_then_reconnects() -> None:
    process, port = start_http(lambda port: [sys.executable, CALC_SERVER, "http", str(port)])
    argv = [sys.executable, CALC_SERVER, "http", str(port)]
    try:
        async with MCPServerHTTP(f"http://127.0.0.1:{port}/mcp") as server:
            assert await server.call_tool("add", {"a": 1, "b": 1}) == 2
            stop(process)
            process = await asyncio.to_thread(restart_http, argv, port)
            with pytest.raises(MCPConnectionError, match="no longer knows this session"):
                await server.call_tool("add", {"a": 2, "b": 2})
            assert await server.call_tool("add", {"a": 3, "b": 3}) == 6
            assert server.connections == 2
    finally:
        stop(process)


async def test_no_reconnect_when_turned_off() -> None:
    async with MCPServerStdio(sys.executable, [CALC_SERVER], reconnect=False) as server:
        with pytest.raises(MCPConnectionError):
            await server.call_tool("crash", {})
        with pytest.raises(MCPConnectionError, match="is closed"):
            await server.call_tool("add", {"a": 1, "b": 1})


async def test_headers_and_bearer_token_from_a_function(calc_http: str) -> None:
    tokens = iter(f"token-{n}" for n in range(1000))
    async with MCPServerHTTP(
        calc_http, headers={"X-Team": "blue"}, auth=lambda: next(tokens)
    ) as server:
        first = await server.call_tool("seen_headers", {})
        second = await server.call_tool("seen_headers", {})
    assert first["x-team"] == "blue"
    assert first["authorization"].startswith("Bearer token-")
    assert second["authorization"] != first["authorization"]  # asked again: refreshed tokens


async def test_static_and_async_bearer_tokens(calc_http: str) -> None:
    async def token() -> str:
        return "from-async"

    async with MCPServerHTTP(calc_http, auth="static-token") as server:
        assert (await server.call_tool("seen_headers", {}))["authorization"] == (
            "Bearer static-token"
        )
    async with MCPServerHTTP(calc_http, auth=token) as server:
        assert (await server.call_tool("seen_headers", {}))["authorization"] == "Bearer from-async"
    import httpx2

    class Signed(httpx2.Auth):  # what the MCP SDK's OAuthClientProvider is: an httpx2.Auth
        def auth_flow(self, request: Any) -> Any:
            request.headers["Authorization"] = "Bearer from-an-auth-flow"
            yield request

    async with MCPServerHTTP(calc_http, auth=Signed()) as server:
        seen = await server.call_tool("seen_headers", {})
        assert seen["authorization"] == "Bearer from-an-auth-flow"
    with pytest.raises(UserError, match="auth= takes a bearer token"):
        async with MCPServerHTTP(calc_http, auth=42):
            pass


async def test_tool_list_is_cached_and_refreshed_on_list_changed(
    calc: MCPServerStdio,
) -> None:
    before = {t.name for t in await calc.list_tools()}
    assert await calc.list_tools() is not calc._tools  # a copy of the cached list
    assert "triple" not in before
    assert await calc.call_tool("grow", {}) == "grown"
    after: set[str] = set()
    for _ in range(100):  # the notification arrives on its own; bounded wait
        after = {t.name for t in await calc.list_tools()}
        if "triple" in after:
            break
        await asyncio.sleep(0.02)
    assert after == before | {"triple"}
    triple = next(t for t in await calc.list_tools() if t.name == "triple")
    model = FakeModel().add_tool_call("triple", {"x": 5}).add_response("15")
    result = await Agent("grown", model=model, tools=[triple]).run("x")
    assert result.tool_executions[0].output == 15


async def test_resources_and_prompts(calc: MCPServerStdio) -> None:
    resources = await calc.list_resources()
    assert resources == [
        {
            "uri": "memo://greeting",
            "name": "greeting",
            "description": "A fixed greeting.",
            "mime_type": "text/plain",
        }
    ]
    assert await calc.read_resource("memo://greeting") == "hello from calc"
    prompts = await calc.list_prompts()
    assert prompts[0]["name"] == "review"
    assert prompts[0]["arguments"] == [{"name": "code", "required": True}]
    rendered = await calc.get_prompt("review", {"code": "x = 1"})
    assert rendered == [{"role": "user", "content": "Please review: x = 1"}]


async def test_killed_server_is_restarted_and_a_retry_policy_meets_it(
    calc: MCPServerStdio,
) -> None:
    from tether import FailSafeConfig, RunConfig

    tools = await calc.list_tools()
    first = int(await calc.call_tool("pid", {}))
    os.kill(first, signal.SIGKILL)
    await asyncio.sleep(0.2)
    model = FakeModel().add_tool_call("pid", {}).add_response("restarted")
    config = RunConfig(fail_safe=FailSafeConfig(tool="retry_then_degrade"))
    result = await Agent("retrier", model=model, tools=tools).run("go", run_config=config)
    assert result.state == "completed" and result.degraded_reasons == []
    (call,) = result.tool_executions
    assert call.error is None and int(call.output) != first


async def test_errors_do_not_show_credentials_in_the_url() -> None:
    with refused_port() as port:
        url = f"http://alice:s3cret@127.0.0.1:{port}/mcp?token=abc123"
        with pytest.raises(MCPConnectionError) as caught:
            async with MCPServerHTTP(url, connect_timeout=10, headers={"X-Key": "hdr-secret"}):
                pass
    text = str(caught.value)
    assert f"http://127.0.0.1:{port}/mcp?token=***" in text
    for secret in ("alice", "s3cret", "abc123", "hdr-secret"):
        assert secret not in text
