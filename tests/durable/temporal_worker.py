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
import sys
import time
from datetime import timedelta
from pathlib import Path

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from _clerk import make_clerk

    from tether.durable.temporal import TemporalDurability

WORK = Path(os.environ.get("TETHER_TEST_WORKDIR", "."))


agent = make_clerk(WORK)


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
