"""The DBOS crash driver: workers SIGKILLed mid-workflow, the workflow recovered by others.

Run as ``python dbos_crash.py WORKDIR``. The driver imports dbos and tether once, then forks
three real worker processes (cheap: no second interpreter start-up, and nothing is running
yet in the driver when it forks):

1. the first launches DBOS on a SQLite system database in WORKDIR and starts the workflow; the
   agent's third tool call kills the process with SIGKILL before it finishes;
2. the second launches DBOS on the same database; DBOS recovers the pending workflow, which
   runs the agent loop again with every finished step returning its recorded result; its
   fourth tool call needs an approval, and while the run waits for it the driver kills the
   second worker too;
3. the third recovers the workflow again, which waits for the approval once more; the driver
   (another process) sends it with a DBOSClient, and the third worker finishes the run.

Every finished model call and tool call appends a line to WORKDIR/calls.log, so the test can
check that none ran twice. The driver prints a JSON report.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from _clerk import make_clerk
from _forks import run as run_worker
from _forks import start
from dbos import DBOS, DBOSClient, SetWorkflowID

from tether.durable import DBOSDurability
from tether.durable._dbos_channel import WAITING_EVENT

WORKFLOW_ID = "tether-crash-1"
WORK = Path(sys.argv[1]) if __name__ == "__main__" else Path(".")


agent = make_clerk(WORK)


durable = DBOSDurability()


@DBOS.workflow()
async def clerk_workflow(question: str) -> str:
    """The workflow: one durable agent run."""
    result = await durable.run(agent, question)
    return str(result.output)


def _url() -> str:
    return f"sqlite:///{WORK}/dbos.db"


def _launch() -> None:
    config: Any = {
        "name": "tether-crash",
        "system_database_url": _url(),
        "notification_listener_polling_interval_sec": 0.05,  # the approval arrives soon
    }
    DBOS(config=config)
    DBOS.launch()


async def _first() -> None:
    _launch()
    with SetWorkflowID(WORKFLOW_ID):
        handle = await DBOS.start_workflow_async(clerk_workflow, "record a, b, c")
    await handle.get_result()  # never returns: the tool kills the process


async def _second() -> None:
    _launch()  # recovers the pending workflow of the dead worker
    handle = await DBOS.retrieve_workflow_async(WORKFLOW_ID)
    await handle.get_result()  # never returns: killed while the run waits for the approval


async def _third() -> None:
    _launch()  # recovers it again: the run waits for the approval once more
    handle = await DBOS.retrieve_workflow_async(WORKFLOW_ID)
    output = await asyncio.wait_for(handle.get_result(), 30)
    steps = await DBOS.list_workflow_steps_async(WORKFLOW_ID)
    report = {"output": output, "steps": [s["function_name"] for s in steps]}
    (WORK / "report.json").write_text(json.dumps(report))
    # no DBOS.destroy(): the process ends at once (os._exit), and joining its threads is slow


def _waiting_call() -> str:
    """The call the run waits for an approval of (read by another process, the driver)."""
    client = DBOSClient(system_database_url=_url())
    try:
        for _ in range(300):
            waiting = client.get_event(WORKFLOW_ID, WAITING_EVENT, timeout_seconds=1)
            if waiting and waiting.get("approve"):
                return str(waiting["approve"][0])
        raise SystemExit("the run never waited for the approval")
    finally:
        client.destroy()


def _approve(call_id: str) -> None:
    client = DBOSClient(system_database_url=_url())
    try:
        asyncio.run(DBOSDurability.approve(WORKFLOW_ID, call_id, client=client))
    finally:
        client.destroy()


if __name__ == "__main__":
    (WORK / "crash").touch()
    first_pid, first = run_worker(_first)
    second_pid = start(_second)
    call_id = _waiting_call()
    os.kill(second_pid, signal.SIGKILL)  # killed while the run waits
    _, second = os.waitpid(second_pid, 0)
    third_pid = start(_third)
    _approve(call_id)  # from this process, while the third worker recovers the workflow
    _, third = os.waitpid(third_pid, 0)
    report = (
        json.loads((WORK / "report.json").read_text()) if (WORK / "report.json").exists() else {}
    )
    report["pids"] = [first_pid, second_pid, third_pid]
    report["first_signal"] = os.WTERMSIG(first) if os.WIFSIGNALED(first) else None
    report["second_signal"] = os.WTERMSIG(second) if os.WIFSIGNALED(second) else None
    report["third_exit"] = os.WEXITSTATUS(third) if os.WIFEXITED(third) else None
    report["calls"] = (WORK / "calls.log").read_text().split()
    print(json.dumps(report))
