"""The DBOS streaming crash driver: a published run's worker SIGKILLed while its model streams.

Run as ``python dbos_stream_crash.py WORKDIR``. The driver forks two real worker processes:

1. the first worker starts the published workflow; its model streams "Hel" (which the stream
   holds at once) and then hangs; the driver SIGKILLs the worker;
2. the second worker launches DBOS, which recovers the workflow: the model step, never
   recorded, runs again and streams "Hel", "lo" and its response; the run ends.

The driver then reads the workflow's whole stream with a ``DBOSClient`` and prints a JSON report
of what a reader saw (each event's type and delta).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from _forks import start
from dbos import DBOS, DBOSClient, SetWorkflowID

from tether import Agent
from tether.durable import DBOSDurability
from tether.messages import TextPart
from tether.models.base import ModelRequest, ModelResponse, ModelStreamEvent, TextDelta

WORK = Path(sys.argv[1]) if __name__ == "__main__" else Path(".")
WORKFLOW_ID = "stream-crash-1"


class Speaker:
    """Streams "Hel"; the first worker's call then hangs (it is killed), the second's goes on."""

    name = "speaker"

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Not used: the run streams."""
        raise AssertionError("the run was expected to stream")

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        """ "Hel" (then a hang in the first worker), "lo", the response."""
        yield TextDelta("Hel")
        first = not (WORK / "streamed-once").exists()
        (WORK / "streamed-once").touch()
        if first:
            await asyncio.sleep(60)  # killed meanwhile
        yield TextDelta("lo")
        yield ModelResponse([TextPart("Hello")], model_name="speaker", finish_reason="stop")


speaker = Agent("speaker", model=Speaker())  # type: ignore[arg-type]
durable = DBOSDurability()


@DBOS.workflow()
async def speak_workflow(question: str) -> str:
    """One published run."""
    return str((await durable.run_published(speaker, question, "events")).output)


def _url() -> str:
    return f"sqlite:///{WORK}/dbos.db"


def _launch() -> None:
    config: Any = {
        "name": "tether-stream-crash",
        "system_database_url": _url(),
        "notification_listener_polling_interval_sec": 0.05,
    }
    DBOS(config=config)
    DBOS.launch()


async def _first() -> None:
    _launch()
    with SetWorkflowID(WORKFLOW_ID):
        handle = await DBOS.start_workflow_async(speak_workflow, "say hello")
    await handle.get_result()  # never returns: killed while the model streams


async def _second() -> None:
    _launch()  # recovers the workflow
    handle = await DBOS.retrieve_workflow_async(WORKFLOW_ID)
    output = await asyncio.wait_for(handle.get_result(polling_interval_sec=0.05), 30)
    (WORK / "report.json").write_text(json.dumps({"output": output}))


async def _read() -> list[list[Any]]:
    client = DBOSClient(system_database_url=_url())
    try:
        seen = []
        async for event in client.read_stream_async(WORKFLOW_ID, "events"):
            seen.append([event.type, getattr(event, "delta", getattr(event, "attempt", None))])
        return seen
    finally:
        client.destroy()


async def _streamed_first_delta() -> None:
    client = DBOSClient(system_database_url=_url())
    try:
        async for event in client.read_stream_async(WORKFLOW_ID, "events"):
            if event.type == "text_delta":
                return
    finally:
        client.destroy()


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + 30
    while not path.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"{path.name} never appeared")
        time.sleep(0.02)


if __name__ == "__main__":
    report: dict[str, Any] = {}
    first = start(_first)
    _wait_for(WORK / "streamed-once")
    asyncio.run(asyncio.wait_for(_streamed_first_delta(), 30))  # the reader had "Hel"
    os.kill(first, signal.SIGKILL)
    _, status = os.waitpid(first, 0)
    report["first_signal"] = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    second = start(_second)
    _, status = os.waitpid(second, 0)
    report["second_exit"] = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    written = WORK / "report.json"
    report.update(json.loads(written.read_text()) if written.exists() else {})
    report["seen"] = asyncio.run(asyncio.wait_for(_read(), 30))
    print(json.dumps(report))
