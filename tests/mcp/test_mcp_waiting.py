"""A run served by `tether mcp serve` that waits for an approval (the client cannot elicit) is
decided and resumed with the very command the tool result names, in another process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client

from tether import Runner

pytestmark = pytest.mark.allow_blocking  # the MCP SDK spawns and reads its subprocess itself

HERE = str(Path(__file__).parent)


async def _waiting_text(store: str, target: str) -> str:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "tether.cli", "mcp", "serve", target, "--store", store],
        cwd=HERE,
        env=dict(os.environ),  # the tree under test's tether (the SDK passes few variables on)
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        result = await session.call_tool("guarded", {"prompt": "wipe it"})
    assert not result.is_error
    return "".join(block.text for block in result.content if block.type == "text")


@pytest.mark.parametrize("target", ["served_agents:agents", "served_agents:guarded"])
async def test_the_named_command_approves_and_resumes_the_run(tmp_path: Path, target: str) -> None:
    store = f"sqlite:///{tmp_path / 'runs.db'}"
    text = await _waiting_text(store, target)
    found = re.search(r"`tether runs approve (\S+) (\S+)`", text)
    assert found is not None, text
    run_id, call_id = found.groups()
    assert text.startswith(f"The run {run_id} waits for approval of: wipe (call {call_id})")

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([HERE, os.environ.get("PYTHONPATH", "")])}
    done = await anyio.to_thread.run_sync(
        lambda: subprocess.run(
            [sys.executable, "-m", "tether.cli", "runs", "approve", run_id, call_id],
            env={**env, "TETHER_STORE": store},
            cwd=tmp_path,  # not where the agents' module is: the run says where it lives
            capture_output=True,
            text=True,
            timeout=120,
        )
    )
    assert done.returncode == 0, done.stderr
    assert f"run {run_id} resumed" in done.stdout
    runner = Runner(store=store, telemetry=None)
    try:
        state = await runner.load_state(run_id)
    finally:
        await runner.aclose()
    assert state.status == "completed" and state.final_text == "done: wiped disk"
