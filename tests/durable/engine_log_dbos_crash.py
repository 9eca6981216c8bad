"""The DBOS engine-log crash driver: workers SIGKILLed mid-run, the run's tether log complete.

Run as ``python engine_log_dbos_crash.py WORKDIR``. It imports dbos and tether once, then
forks three real worker processes, each launching DBOS on a SQLite system database in WORKDIR
with the tally's run (on a thread) logged to WORKDIR/runs.db (``DBOSDurability(store=...)``):

1. the first starts the workflow and dies right after the ``tether.log`` step's append
   committed (before DBOS recorded the step), so the recovered run writes the same events
   again;
2. the second recovers the workflow and dies right after the thread's save committed (before
   DBOS recorded the ``tether.thread.save`` step), so the next saves it again;
3. the third recovers it and finishes the run.

(A worker killed mid-tool is tests/durable/test_dbos_crash.py's case.)

The driver then prints a JSON report: the workflow's output, the stored log (seq and type of
each event), the thread's messages, the steps, and WORKDIR/calls.log.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from _forks import run as run_worker
from _tally import DyingStore, make_tally
from dbos import DBOS, SetWorkflowID

from tether.durable import DBOSDurability
from tether.store.sqlite import SQLiteStore

WORKFLOW_ID = "tether-log-crash-1"
THREAD_ID = "tally-thread"
WORK = Path(sys.argv[1]) if __name__ == "__main__" else Path(".")

agent = make_tally(WORK)
durable = DBOSDurability(store=DyingStore(str(WORK / "runs.db"), WORK))


@DBOS.workflow()
async def tally_workflow(question: str) -> str:
    """The workflow: one durable agent run, its log kept in WORKDIR/runs.db."""
    result = await durable.run(agent, question, thread_id=THREAD_ID)
    return str(result.output)


def _launch() -> None:
    config: Any = {"name": "tether-log-crash", "system_database_url": f"sqlite:///{WORK}/dbos.db"}
    DBOS(config=config)
    DBOS.launch()


async def _first() -> None:
    _launch()
    with SetWorkflowID(WORKFLOW_ID):
        handle = await DBOS.start_workflow_async(tally_workflow, "note a, b, c")
    await handle.get_result()  # never returns: the store kills the process


async def _recover() -> None:
    _launch()  # recovers the pending workflow of the dead worker
    handle = await DBOS.retrieve_workflow_async(WORKFLOW_ID)
    output = await asyncio.wait_for(handle.get_result(), 30)  # the second dies before this
    steps = await DBOS.list_workflow_steps_async(WORKFLOW_ID)
    report = {"output": output, "steps": [s["function_name"] for s in steps]}
    (WORK / "report.json").write_text(json.dumps(report))


async def _stored() -> tuple[list[list[Any]], list[list[Any]]]:
    store = SQLiteStore(WORK / "runs.db")
    try:
        log = [[e.seq, e.type, e.run_id] for e in await store.load(WORKFLOW_ID)]
        thread = [[m.role, m.text] for m in await store.load_thread(THREAD_ID)]
        return log, thread
    finally:
        await store.close()


if __name__ == "__main__":
    (WORK / "crash-log").touch()
    (WORK / "crash-thread").touch()
    statuses = [run_worker(main) for main in (_first, _recover, _recover)]
    report = (
        json.loads((WORK / "report.json").read_text()) if (WORK / "report.json").exists() else {}
    )
    report["pids"] = [pid for pid, _ in statuses]
    report["signals"] = [os.WTERMSIG(s) if os.WIFSIGNALED(s) else None for _, s in statuses]
    report["exit"] = os.WEXITSTATUS(statuses[-1][1]) if os.WIFEXITED(statuses[-1][1]) else None
    report["calls"] = (WORK / "calls.log").read_text().split()
    report["log"], report["thread"] = asyncio.run(_stored())
    print(json.dumps(report))
