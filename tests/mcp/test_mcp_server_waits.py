"""Runs served over MCP that wait: for a tool's question, a deferred result, a subagent's
approval. A client that can elicit is asked and the stored run resumed with the answer; any
other client is told the run id and the command that continues it (never an empty answer)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import mcp_types
import pytest
from mcp import Client, ClientSession, StdioServerParameters, stdio_client

from tether import Runner
from tether.mcp import build_server

pytestmark = pytest.mark.allow_blocking  # the MCP SDK spawns and reads its subprocess itself

HERE = str(Path(__file__).parent)


def _text(result: Any) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


def _params(store: str) -> StdioServerParameters:
    argv = ["-m", "tether.cli", "mcp", "serve", "served_agents:waiting_agents", "--store", store]
    # the whole environment: the server imports the tether this test runs (PYTHONPATH)
    return StdioServerParameters(command=sys.executable, args=argv, cwd=HERE, env=dict(os.environ))


async def test_an_eliciting_client_answers_questions_and_subagent_approvals(
    tmp_path: Path,
) -> None:
    store = f"sqlite:///{tmp_path / 'runs.db'}"
    asked: list[str] = []

    async def elicit(ctx: Any, params: Any) -> Any:
        asked.append(params.message)
        if "asks:" in params.message:
            return mcp_types.ElicitResult(action="accept", content={"answer": "Ada"})
        return mcp_types.ElicitResult(action="accept", content={"approve": True})

    async with (
        stdio_client(_params(store)) as (read, write),
        ClientSession(read, write, elicitation_callback=elicit) as session,
    ):
        await session.initialize()
        greeted = await session.call_tool("greeter", {"prompt": "hi"})
        assert _text(greeted) == "said: hello Ada" and not greeted.is_error
        assert asked == ["The greeter agent's greet tool asks: What is your name?"]
        bossed = await session.call_tool("boss", {"prompt": "go"})
        assert _text(bossed) == "boss: done: wiped disk"
        assert "wants to call wipe" in asked[1] and '"target": "disk"' in asked[1]
        # A deferred result comes from elsewhere: the client is told how to deliver it.
        waiting = await session.call_tool("studio", {"prompt": "render"})
    text = _text(waiting)
    assert not waiting.is_error and "waits for the deferred result of: call call_1_0" in text
    run_id = text.split()[2]
    assert f"`tether runs deliver {run_id} call_1_0 RESULT`" in text
    from served_agents import waiting_agents

    runner = Runner(store=store, telemetry=None, agents=waiting_agents)
    try:
        done = await runner.resolve_deferred(run_id, "call_1_0", "240 frames")
    finally:
        await runner.aclose()
    assert done.state == "completed" and done.output == "rendered: 240 frames"


async def test_a_client_without_elicitation_is_told_what_the_run_waits_for(
    tmp_path: Path,
) -> None:
    store = f"sqlite:///{tmp_path / 'runs.db'}"
    async with stdio_client(_params(store)) as (read, write), ClientSession(read, write) as s:
        await s.initialize()
        question = _text(await s.call_tool("greeter", {"prompt": "hi"}))
        deferred = _text(await s.call_tool("studio", {"prompt": "render"}))
    assert "waits for an answer to: 'What is your name?' (call call_1_0)" in question
    run_id = question.split()[2]
    assert f"`tether runs answer {run_id} call_1_0 TEXT`" in question
    assert "waits for the deferred result of: call call_1_0 (ticket job-intro)" in deferred
    runner = Runner(store=store, telemetry=None)
    try:
        from served_agents import greeter

        resumed = await runner.resume(run_id, greeter, inputs={"call_1_0": "Grace"})
    finally:
        await runner.aclose()
    assert resumed.output == "said: hello Grace"


async def test_without_a_store_questions_are_asked_live_and_a_deferral_is_an_error() -> None:
    from served_agents import waiting_agents

    async def elicit(ctx: Any, params: Any) -> Any:
        if "asks:" in params.message:
            return mcp_types.ElicitResult(action="accept", content={"answer": "Lin"})
        return mcp_types.ElicitResult(action="decline")

    runner = Runner(store=None, telemetry=None, agents=waiting_agents)
    try:
        server = build_server(runner)
        async with Client(server, mode="legacy", elicitation_callback=elicit) as client:
            greeted = await client.call_tool("greeter", {"prompt": "hi"})
            declined = await client.call_tool("boss", {"prompt": "go"})
            deferred = await client.call_tool("studio", {"prompt": "render"})
    finally:
        await runner.aclose()
    assert _text(greeted) == "said: hello Lin"
    assert "The call was rejected: the user answered 'decline'" in _text(declined)
    assert deferred.is_error and "render deferred its result, which needs a store" in (
        _text(deferred)
    )


async def test_a_client_with_no_back_channel_is_told_not_asked(tmp_path: Path) -> None:
    """A 2026-07-28 client (requests without a back-channel) that declares elicitation cannot
    be sent an elicitation request: the stored run waits and the answer says so."""
    from served_agents import waiting_agents

    async def elicit(ctx: Any, params: Any) -> Any:
        raise AssertionError("a client without a back-channel is never asked")

    runner = Runner(store=f"sqlite:///{tmp_path / 'runs.db'}", telemetry=None)
    for agent in waiting_agents:
        runner.register_agent(agent)
    try:
        async with Client(build_server(runner), elicitation_callback=elicit) as client:
            waiting = await client.call_tool("boss", {"prompt": "go"})
    finally:
        await runner.aclose()
    assert not waiting.is_error
    assert "waits for approval of: wipe (call call_1_0.call_1_0)" in _text(waiting)


async def test_cancelling_the_request_while_the_user_is_asked_cancels_the_run(
    tmp_path: Path,
) -> None:
    import anyio
    from served_agents import waiting_agents

    asked = anyio.Event()

    async def elicit(ctx: Any, params: Any) -> Any:
        asked.set()
        await anyio.sleep_forever()  # the person never answers: the client gives up

    runner = Runner(store=f"sqlite:///{tmp_path / 'runs.db'}", telemetry=None)
    for agent in waiting_agents:
        runner.register_agent(agent)
    try:
        server = build_server(runner)
        async with Client(server, mode="legacy", elicitation_callback=elicit) as client:
            async with anyio.create_task_group() as group:
                group.start_soon(client.call_tool, "boss", {"prompt": "go"})
                with anyio.fail_after(30):
                    await asked.wait()
                group.cancel_scope.cancel()
            assert runner.store is not None
            (top,) = [r for r in await runner.store.list_runs() if r.parent_run_id is None]
            states: list[str] = []
            for _ in range(200):  # the server records the cancel right after the client's notice
                states = [r.status for r in await runner.store.list_runs()]
                if set(states) == {"cancelled"}:
                    break
                await anyio.sleep(0.05)
    finally:
        await runner.aclose()
    assert top.agent == "boss" and set(states) == {"cancelled"}  # the subagent's run too
