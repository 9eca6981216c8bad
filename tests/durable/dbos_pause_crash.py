"""The DBOS pause crash driver: a paused run's worker SIGKILLed, the run still paused in a new one.

Run as ``python dbos_pause_crash.py WORKDIR``. The driver forks two real worker processes and
steers the run from its own process with a ``DBOSClient``:

1. the first worker starts the workflow; while its first tool call runs, the driver pauses the
   run, lets the call finish, sees that no model call follows, and SIGKILLs the worker;
2. the second worker launches DBOS, which recovers the workflow: the recorded steps return
   their results, and the run waits at the same step boundary, still paused; the driver sees
   that nothing runs, then resumes it, and the second worker finishes the run.

Every model call and tool call appends ``<what>@<pid>`` to WORKDIR/calls.log. The driver
prints a JSON report.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from _forks import start
from dbos import DBOS, DBOSClient, SetWorkflowID

from tether import Agent, Message
from tether.durable import DBOSDurability
from tether.durable._dbos_lifecycle import _seen
from tether.models import FunctionModel
from tether.models.testing import AgentInfo

WORK = Path(sys.argv[1]) if __name__ == "__main__" else Path(".")
WORKFLOW_ID = "pause-crash-1"


def _log(line: str) -> None:
    with open(WORK / "calls.log", "a") as f:
        f.write(f"{line}@{os.getpid()}\n")
        f.flush()
        os.fsync(f.fileno())


def _answer(messages: list[Message], info: AgentInfo) -> Any:
    done = sum(1 for m in messages if m.role == "tool")
    _log(f"model:{done}")
    return FunctionModel.tool_call("step", {"n": done}) if done < 2 else "two steps"


walker = Agent("walker", model=FunctionModel(_answer))


@walker.tool
async def step(n: int) -> str:
    """Take step ``n``; the first waits for WORKDIR/release, then until this worker has seen
    the pause the driver sent (each at most 20 s), so the next step is sure to find it."""
    if n == 0:
        (WORK / "in-tool").touch()
        for _ in range(400):
            if (WORK / "release").exists() and _seen.get(WORKFLOW_ID) == "pause":
                break
            await asyncio.sleep(0.05)
    _log(f"tool:{n}")
    return f"step {n}"


durable = DBOSDurability()


@DBOS.workflow()
async def walk_workflow(question: str) -> str:
    """One durable run (each execution of it marks WORKDIR/started-<pid>)."""
    (WORK / f"started-{os.getpid()}").touch()
    return str((await durable.run(walker, question)).output)


def _url() -> str:
    return f"sqlite:///{WORK}/dbos.db"


def _launch() -> None:
    config: Any = {
        "name": "tether-pause",
        "system_database_url": _url(),
        "notification_listener_polling_interval_sec": 0.05,
    }
    DBOS(config=config)
    DBOS.launch()


async def _first() -> None:
    _launch()
    with SetWorkflowID(WORKFLOW_ID):
        handle = await DBOS.start_workflow_async(walk_workflow, "walk")
    await handle.get_result()  # never returns: killed while paused


async def _second() -> None:
    _launch()  # recovers the paused workflow
    handle = await DBOS.retrieve_workflow_async(WORKFLOW_ID)
    output = await asyncio.wait_for(handle.get_result(polling_interval_sec=0.05), 30)
    (WORK / "report.json").write_text(json.dumps({"output": output}))


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + 30
    while not path.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"{path.name} never appeared")
        time.sleep(0.02)


def _calls() -> list[str]:
    log = WORK / "calls.log"
    return log.read_text().split() if log.exists() else []


async def _control(action: str) -> tuple[str, str]:
    client = DBOSClient(system_database_url=_url())
    try:
        await getattr(DBOSDurability, action)(WORKFLOW_ID, client=client)
        return action, await DBOSDurability.status(WORKFLOW_ID, client=client)
    finally:
        client.destroy()


if __name__ == "__main__":
    report: dict[str, Any] = {"statuses": []}
    first = start(_first)
    _wait_for(WORK / "in-tool")
    report["statuses"].append(asyncio.run(_control("pause")))
    (WORK / "release").touch()  # the call in flight finishes once the worker saw the pause
    time.sleep(0.6)
    report["before_kill"] = _calls()
    os.kill(first, signal.SIGKILL)
    _, status = os.waitpid(first, 0)
    report["first_signal"] = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    second = start(_second)
    _wait_for(WORK / f"started-{second}")  # the recovered execution began
    time.sleep(0.6)  # and is still paused
    report["while_recovered"] = _calls()
    report["statuses"].append(asyncio.run(_control("resume")))
    _, status = os.waitpid(second, 0)
    report["second_exit"] = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    written = WORK / "report.json"
    report.update(json.loads(written.read_text()) if written.exists() else {})
    report["pids"] = [first, second]
    report["calls"] = _calls()
    print(json.dumps(report))
