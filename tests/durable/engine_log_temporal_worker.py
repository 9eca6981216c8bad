"""A Temporal worker for tests/durable/test_engine_log_crash.py (a real, killable process).

``python engine_log_temporal_worker.py ADDRESS TASK_QUEUE`` (WORKDIR from
$TETHER_TEST_WORKDIR; with $TETHER_TEST_GO set, it starts polling only once that file exists):
serves the ``TallyWorkflow`` (a run on the thread ``tally-thread``), its run's tether log and
thread kept in WORKDIR/runs.db
(``TemporalDurability(..., store=...)``), until killed. The tally's crash files (see
_tally.py) kill the worker right after a log write committed, and after the thread's save.
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
    from _tally import DyingStore, make_tally

    from tether.durable.temporal import TemporalDurability

WORK = Path(os.environ.get("TETHER_TEST_WORKDIR", "."))

agent = make_tally(WORK)
durable = TemporalDurability(
    [agent],
    activity_timeout=timedelta(seconds=2),
    store=DyingStore(str(WORK / "runs.db"), WORK),
)


@workflow.defn(name="TallyWorkflow")
class TallyWorkflow:
    """One durable agent run, logged."""

    @workflow.run
    async def run(self, question: str) -> str:
        """Run the tally."""
        result = await durable.run(agent, question, thread_id="tally-thread")
        return str(result.output)


async def _serve(address: str, queue: str) -> None:
    from temporalio.client import Client
    from temporalio.worker import Worker

    client = await Client.connect(address)
    worker = Worker(
        client,
        task_queue=queue,
        workflows=[TallyWorkflow],
        plugins=[durable.plugin],
        max_cached_workflows=0,  # no sticky queue: a dead worker's workflow moves on at once
        build_id="tether-log-crash-test",  # else the worker hashes every loaded module's code
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
