"""A Temporal worker for tests/durable/test_temporal.py (run as a real, killable process).

``python temporal_worker.py ADDRESS TASK_QUEUE`` (WORKDIR from $TETHER_TEST_WORKDIR; with
$TETHER_TEST_GO set, it starts polling only once that file exists): serves the
``ClerkWorkflow`` and the agent's activities until killed. The agent's third tool call kills
the worker with SIGKILL when WORKDIR/crash exists (removing it first, so the next worker
goes on); its fourth needs an approval (the test kills that worker while the run waits, and
approves once a third serves). Every finished
model call and tool call appends ``<what>@<pid>`` to WORKDIR/calls.log.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from tether import Agent, Message
    from tether.durable.temporal import TemporalDurability
    from tether.models import FunctionModel
    from tether.models.testing import AgentInfo

WORK = Path(os.environ.get("TETHER_TEST_WORKDIR", "."))


def _log(line: str) -> None:
    with open(WORK / "calls.log", "a") as f:
        f.write(f"{line}@{os.getpid()}\n")
        f.flush()
        os.fsync(f.fileno())


def _answer(messages: list[Message], info: AgentInfo) -> Any:
    done = sum(1 for m in messages if m.role == "tool")
    if done == 0:
        reply: Any = FunctionModel.tool_calls([("record", {"key": "a"}), ("record", {"key": "b"})])
    elif done == 1:
        reply = FunctionModel.tool_call("record", {"key": "c"})
    elif done == 2:
        reply = FunctionModel.tool_call("publish", {"key": "d"})
    else:
        reply = "recorded a, b and c; published d"
    _log(f"model:{done}")
    return reply


agent = Agent("clerk", model=FunctionModel(_answer))


@agent.tool
def record(key: str) -> str:
    """Record ``key`` (a side effect that must happen once)."""
    if key == "c" and (WORK / "crash").exists():
        (WORK / "crash").unlink()
        os.kill(os.getpid(), signal.SIGKILL)  # the worker dies mid-activity, mid-workflow
    _log(f"tool:{key}")
    return f"recorded {key}"


@agent.tool(needs_approval=True)
def publish(key: str) -> str:
    """Publish ``key`` (a side effect a person approves first)."""
    _log(f"tool:{key}")
    return f"published {key}"


durable = TemporalDurability([agent], activity_timeout=timedelta(seconds=2))


@workflow.defn(name="ClerkWorkflow")
class ClerkWorkflow:
    """One durable agent run."""

    @workflow.run
    async def run(self, question: str) -> str:
        """Run the clerk."""
        result = await durable.run(agent, question)
        return str(result.output)


async def _serve(address: str, queue: str) -> None:
    from temporalio.client import Client
    from temporalio.worker import UnsandboxedWorkflowRunner, Worker

    client = await Client.connect(address)
    worker = Worker(
        client,
        task_queue=queue,
        workflows=[ClerkWorkflow],
        activities=durable.activities,
        workflow_runner=UnsandboxedWorkflowRunner(),
        max_cached_workflows=0,  # no sticky queue: a dead worker's workflow moves on at once
        build_id="tether-crash-test",  # else the worker hashes every loaded module's code
    )
    await worker.run()


def _wait_for_go() -> None:
    """Signal that the imports are done; a standby worker then waits until told to serve."""
    (WORK / f"ready.{os.getpid()}").touch()
    go = os.environ.get("TETHER_TEST_GO")
    for _ in range(600):
        if go is None or os.path.exists(go):
            return
        time.sleep(0.1)
    raise SystemExit("never told to serve")


if __name__ == "__main__":
    _wait_for_go()
    asyncio.run(_serve(sys.argv[1], sys.argv[2]))
