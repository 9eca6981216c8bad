"""Temporal workers for tests/durable/test_engine_log_crash.py (real, killable processes).

``python engine_log_temporal_worker.py ADDRESS TASK_QUEUE`` (WORKDIR from
$TETHER_TEST_WORKDIR) imports temporalio and tether once, then forks three workers one after
another (cheap: no second interpreter start-up; nothing of Temporal's runtime exists yet in
this process when it forks), each serving the ``TallyWorkflow`` (a run on the thread
``tally-thread``), its run's tether log and thread kept in WORKDIR/runs.db
(``TemporalDurability(..., store=...)``). The tally's crash files (see _tally.py) kill the
first right after a log write committed and the second after the thread's save; the next is
forked when one dies. Each worker's pid goes to WORKDIR/worker.<n>, a dead one's signal to
WORKDIR/signal.<n>; the third serves until this process gets SIGTERM.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
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


def _fork(address: str, queue: str) -> int:
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            asyncio.run(_serve(address, queue))
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 1
        os._exit(code)
    return pid


def _stop(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    os._exit(0)


def main(address: str, queue: str) -> None:
    """Fork the workers, one after another."""
    for n in range(3):
        pid = _fork(address, queue)
        (WORK / f"worker.{n}").write_text(str(pid))
        if n == 2:
            signal.signal(signal.SIGTERM, lambda *_, last=pid: _stop(last))
            os.waitpid(pid, 0)
            return
        _, status = os.waitpid(pid, 0)
        (WORK / f"signal.{n}").write_text(str(os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
