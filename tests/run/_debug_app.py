"""An agent whose one tool, ``transfer``, a debugger edits at a ``tool:transfer`` breakpoint;
the tool appends the amount it sent to ``$DEBUG_LEDGER`` (one line per execution; ``sent`` in
process). Its model is a FunctionModel (answers decided by the messages), so a fresh process
continues a stored run exactly.

Run as a script:

- ``python _debug_app.py pause STORE GATED``: starts a run under the breakpoint (``GATED``:
  ``1`` when the tool needs approval, approved when asked), edits the amount to 5 at the
  pause, prints ``{"run_id": ...}`` and waits there for ever (the test SIGKILLs it);
- ``python _debug_app.py resume STORE GATED RUN_ID [CALL_ID]``: resumes the run (with
  ``CALL_ID`` approved) and prints its outcome as JSON.

``boss`` delegates to the banker as a subagent (its tool ``bank``): ``pause-sub STORE`` starts
the boss's run under ``tool:transfer``, which pauses inside the banker's own run; it edits the
amount to 5 there, prints ``{"run_id": <the boss's>, "child": <the banker's>}`` and waits.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tether import Agent, Runner
from tether.models import FunctionModel


def build(gated: bool, sent: list[int] | None = None) -> Agent:
    """The agent (``sent``: where the tool also notes the amounts, in process)."""

    def answer(messages: list[Any], info: Any) -> Any:
        last = messages[-1]
        if last.role == "user":
            return FunctionModel.tool_call("transfer", {"amount": 500})
        return f"bank says: {last.parts[-1].content}"

    agent = Agent("banker", model=FunctionModel(answer))

    @agent.tool(needs_approval=gated)
    def transfer(amount: int) -> str:
        """Send money."""
        if sent is not None:
            sent.append(amount)
        path = os.environ.get("DEBUG_LEDGER")
        if path:
            with open(path, "a", encoding="utf-8") as ledger:
                ledger.write(f"{amount}\n")
        return f"sent {amount}"

    return agent


def boss(sent: list[int] | None = None) -> Agent:
    """An agent that hands the bill to the banker (``build(False, sent)``) as a subagent."""

    def answer(messages: list[Any], info: Any) -> Any:
        last = messages[-1]
        if last.role == "user":
            return FunctionModel.tool_call("bank", {"input": last.text})
        return f"boss heard: {last.parts[-1].content}"

    return Agent("boss", model=FunctionModel(answer), tools=[build(False, sent).as_tool("bank")])


async def _pause_sub(store: str) -> None:
    runner = Runner(store=store, telemetry=None)
    handle = await runner.start(boss(), "pay the bill", breakpoints=["tool:transfer"])
    async for event in handle.events:
        if event.type == "breakpoint_hit":
            assert handle.debugger is not None
            await handle.debugger.edit_args({"amount": 5})
            print(json.dumps({"run_id": handle.run_id, "child": event.run_id}), flush=True)
            await asyncio.Event().wait()  # paused inside the banker's run until killed


def spawn(*args: str, ledger: Path) -> subprocess.Popen[str]:
    """This script run in a fresh interpreter with ``args``, its tool writing to ``ledger``."""
    env = {**os.environ, "DEBUG_LEDGER": str(ledger)}
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def _pause(store: str, gated: bool) -> None:
    runner = Runner(store=store, telemetry=None)
    handle = await runner.start(build(gated), "pay the bill", breakpoints=["tool:transfer"])
    async for event in handle.events:
        if event.type == "approval_requested":
            await handle.approve(event.call_id)  # type: ignore[attr-defined]
        elif event.type == "breakpoint_hit":
            assert handle.debugger is not None
            await handle.debugger.edit_args({"amount": 5})
            print(json.dumps({"run_id": handle.run_id}), flush=True)
            await asyncio.Event().wait()  # paused here until killed


async def _resume(store: str, gated: bool, run_id: str, approve: str | None) -> None:
    runner = Runner(store=store, telemetry=None)
    runner.register_agent(build(gated))
    approvals = {approve: True} if approve else None
    result = await runner.resume(run_id, approvals=approvals)
    pending = [{"call_id": p.call_id, "args": p.args} for p in result.pending_approvals]
    print(json.dumps({"state": result.state, "output": result.output, "pending": pending}))
    await runner.aclose()


if __name__ == "__main__":
    mode, url, gated = sys.argv[1], sys.argv[2], sys.argv[3:4] == ["1"]
    if mode == "pause":
        asyncio.run(_pause(url, gated))
    elif mode == "pause-sub":
        asyncio.run(_pause_sub(url))
    else:
        asyncio.run(_resume(url, gated, sys.argv[4], sys.argv[5] if len(sys.argv) > 5 else None))
