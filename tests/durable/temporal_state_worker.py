"""A Temporal worker for tests/durable/test_temporal_state_crash.py (a real, killable process).

``python temporal_state_worker.py ADDRESS TASK_QUEUE`` (WORKDIR from $TETHER_TEST_WORKDIR)
serves ``LedgerWorkflow`` until killed (the test's own process serves it after, with
:func:`make_worker`). The ledger's tools keep a running total in
``ctx.state``; the second ``tally`` call SIGKILLs its worker when WORKDIR/crash exists
(removing it first, after changing the state it was given), so another worker runs it again
with the state the workflow's history holds. Every finished tool call appends
``<what>@<pid>`` to WORKDIR/calls.log.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from tether import Agent, Context, Message
    from tether.durable.temporal import TemporalDurability
    from tether.models import FunctionModel
    from tether.models.testing import AgentInfo


def _work() -> Path:
    return Path(os.environ.get("TETHER_TEST_WORKDIR", "."))


def _log(line: str) -> None:
    with open(_work() / "calls.log", "a") as f:
        f.write(f"{line}@{os.getpid()}\n")


def _answer(messages: list[Message], info: AgentInfo) -> Any:
    results = [p.content for m in messages if m.role == "tool" for p in m.parts]  # type: ignore[attr-defined]
    if len(results) < 2:
        return FunctionModel.tool_call("tally", {"n": len(results) + 1})
    if len(results) == 2:
        return FunctionModel.tool_call("report", {})
    return results[-1]


ledger = Agent("ledger", model=FunctionModel(_answer))


@ledger.tool
def tally(ctx: Context[None], n: int) -> str:
    """Add ``n`` to the running total."""
    ctx.state["total"] = ctx.state.get("total", 0) + n
    ctx.state.setdefault("seen", []).append(n)
    if n == 2 and (_work() / "crash").exists():
        (_work() / "crash").unlink()
        os.kill(os.getpid(), signal.SIGKILL)  # dies with the state changed, the call unfinished
    _log(f"tally:{n}")
    return f"total {ctx.state['total']}"


@ledger.tool
def report(ctx: Context[None]) -> str:
    """What the state holds."""
    _log("report")
    return f"total={ctx.state['total']} seen={ctx.state['seen']}"


durable = TemporalDurability([ledger], activity_timeout=timedelta(seconds=1))


@workflow.defn(name="LedgerWorkflow")
class LedgerWorkflow:
    """One durable run of the ledger."""

    @workflow.run
    async def run(self, question: str) -> str:
        """Run the ledger."""
        return str((await durable.run(ledger, question)).output)


def make_worker(client: Any, queue: str) -> Any:
    """A worker serving the ledger on ``queue``."""
    from temporalio.worker import Worker

    return Worker(
        client,
        task_queue=queue,
        workflows=[LedgerWorkflow],
        plugins=[durable.plugin],
        max_cached_workflows=0,  # no sticky queue: a dead worker's workflow moves on at once
        build_id="tether-state-crash-test",  # else the worker hashes every loaded module's code
    )


async def _serve(address: str, queue: str) -> None:
    from temporalio.client import Client

    worker = make_worker(await Client.connect(address), queue)
    (_work() / f"ready.{os.getpid()}").touch()
    await worker.run()


if __name__ == "__main__":
    asyncio.run(_serve(sys.argv[1], sys.argv[2]))
