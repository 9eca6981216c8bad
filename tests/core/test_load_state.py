"""Reading a waiting run from another process (runner.load_state) is read-only: the log is the
same afterwards, and the run can still be resumed with its decisions."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tether import Agent, Runner
from tether.errors import UserError
from tether.models import FakeModel

READER = textwrap.dedent(
    """
    import asyncio, json, sys
    from tether import Runner

    state = asyncio.run(Runner(store=sys.argv[1]).load_state(sys.argv[2]))
    print(json.dumps({
        "status": state.status,
        "agent": state.agent_name,
        "pending": [[p.call_id, p.tool_name, p.args] for p in state.pending_approvals.values()],
        "seq": state.seq,
    }))
    """
)


def support_agent() -> Agent:
    model = FakeModel().add_tool_call("refund", {"amount": 30}).add_response("Refunded $30.")
    agent = Agent("support", model=model)

    @agent.tool(needs_approval=True)
    def refund(amount: int) -> str:
        """Refund the customer."""
        return f"refunded {amount}"

    return agent


async def logged(runner: Runner, run_id: str) -> list[dict[str, object]]:
    assert runner.store is not None
    return [event.to_dict() for event in await runner.store.load(run_id)]


async def test_load_state_from_another_process_writes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    agent = support_agent()
    runner = Runner(store=url, agents=[agent])
    paused = await runner.run(agent, "I want my money back")
    assert paused.state == "awaiting_approval"
    before = await logged(runner, paused.run_id)

    for _ in range(2):  # reading twice changes nothing either
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-c", READER, url, paused.run_id],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        seen = json.loads(done.stdout)
        call = paused.pending_approvals[0]
        assert seen == {
            "status": "awaiting_approval",
            "agent": "support",
            "pending": [[call.call_id, "refund", {"amount": 30}]],
            "seq": before[-1]["seq"],
        }
    assert await logged(runner, paused.run_id) == before

    here = await runner.load_state(paused.run_id)
    assert here.status == "awaiting_approval" and list(here.pending_approvals) == [call.call_id]
    assert await logged(runner, paused.run_id) == before

    finished = await Runner(store=url, agents=[agent]).resume(
        paused.run_id, approvals={call.call_id: True}
    )
    assert finished.state == "completed" and finished.output == "Refunded $30."
    assert len(await logged(runner, paused.run_id)) > len(before)  # resume is what writes


async def test_load_state_of_an_unknown_run_or_without_a_store(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no run 'nope'"):
        await Runner(store=f"sqlite:///{tmp_path / 'runs.db'}").load_state("nope")
    with pytest.raises(UserError, match="has no store"):
        await Runner(store=None).load_state("any")
