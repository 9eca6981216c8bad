"""A child process for test_write_points.py: a one-tool run that kills itself (SIGKILL) once,
at a chosen point, and its resume in another process.

``python write_points_app.py STORE_URL WORKDIR KILL_AT`` forks a child that runs it (and is
killed), then one that resumes it, and prints a JSON report. ``KILL_AT`` is ``tool``
(inside the tool call, once it has started) or ``validator`` (inside a slow output validator:
the model has answered and its answer is not stored yet). The model and the tool append a
line to ``model.log`` / ``tool.log`` in WORKDIR each time they are called, in any process.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from tether import Agent, Runner
from tether.models import FunctionModel


def build(work: Path, kill_at: str) -> Agent:
    def die_once(point: str) -> None:
        marker = work / f"killed-at-{point}"
        if kill_at == point and not marker.exists():
            marker.write_text("")
            os.kill(os.getpid(), signal.SIGKILL)

    def answer(messages: list[Any], info: Any) -> Any:
        turn = sum(m.role == "assistant" for m in messages) + 1
        with open(work / "model.log", "a") as log:
            log.write(f"turn {turn}\n")
        if turn == 1:
            return FunctionModel.tool_call("add", {"a": 1, "b": 2})
        return "3"

    agent = Agent("calc", model=FunctionModel(answer))

    @agent.tool(idempotent=True)
    def add(a: int, b: int) -> int:
        """Add two integers."""
        with open(work / "tool.log", "a") as log:
            log.write("add\n")
        die_once("tool")
        return a + b

    @agent.output_validator
    async def checked(ctx: Any, output: str) -> str:
        await asyncio.sleep(0.01)  # slow user code, after the model answered
        die_once("validator")
        return output

    return agent


async def _run(url: str, work: Path, kill_at: str, mode: str) -> dict[str, Any]:
    runner = Runner(store=url)
    agent = build(work, kill_at)
    out: dict[str, Any] = {}
    if mode == "run":
        result = await runner.run(agent, "1+2?", run_id="r1")
    else:
        assert runner.store is not None
        out["stored"] = [e.type for e in await runner.store.load("r1")]
        result = await runner.resume("r1", agent)
    await runner.aclose()
    out.update(state=result.state, output=result.output)
    return out


def _in_child(url: str, work: Path, kill_at: str, mode: str) -> int:
    """Fork; the child runs ``mode`` and writes its JSON to WORKDIR/MODE.json; the wait status."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            report = asyncio.run(_run(url, work, kill_at, mode))
            (work / f"{mode}.json").write_text(json.dumps(report))
            code = 0
        finally:
            os._exit(code)
    return os.waitpid(pid, 0)[1]


def main(url: str, work: Path, kill_at: str) -> None:
    """Fork the run (killed), then its resume; print what each did, as JSON."""
    if url.startswith("postgres"):
        import tether.store.postgres  # noqa: F401 - imported once here, not in each child
    crashed = _in_child(url, work, kill_at, "run")
    resumed = _in_child(url, work, kill_at, "resume")
    report = json.loads((work / "resume.json").read_text()) if resumed == 0 else {}
    report.update(
        killed=os.WIFSIGNALED(crashed) and os.WTERMSIG(crashed) == signal.SIGKILL,
        resumed=resumed,
    )
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), sys.argv[3])
