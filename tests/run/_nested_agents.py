"""Three agents nested as tools (top -> mid -> leaf) whose leaf tools wait: for an approval
(``pay``), a person's answer (``ask``) or a deferred result (``render``). Their models are
FunctionModels (answers decided by the messages), so a fresh process rebuilding them continues
a stored run exactly. Tools record what they did in ``ran`` (or the file ``$NESTED_LEDGER``).

Run as a script (``python _nested_agents.py STORE RUN_ID CALL_ID``) it resumes RUN_ID with
CALL_ID approved and prints the outcome as JSON: the fresh process of the restart tests;
``python _nested_agents.py start STORE RUN_ID TEXT`` starts a run (the crash tests kill it
inside ``hold``/``hold_again``, which wait once: until the file ``$NESTED_MARKER`` exists).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from tether import Agent, Context, Deferred
from tether.models import FunctionModel


def _record(ran: list[str] | None, line: str) -> None:
    if ran is not None:
        ran.append(line)
    path = os.environ.get("NESTED_LEDGER")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


def _delegate(tool: str, name: str) -> FunctionModel:
    def answer(messages: list[Any], info: Any) -> Any:
        last = messages[-1]
        if last.role == "user":
            return FunctionModel.tool_call(tool, {"input": last.text})
        return f"{name} heard: {last.parts[-1].content}"

    return FunctionModel(answer, name=f"{name}-model")


async def _held() -> None:
    """The first time (no marker file yet), make the marker and wait to be killed."""
    marker = os.environ.get("NESTED_MARKER")
    if marker and not await asyncio.to_thread(Path(marker).exists):
        await asyncio.to_thread(Path(marker).touch)
        await asyncio.sleep(60)


def _leaf_model(messages: list[Any], info: Any) -> Any:
    last = messages[-1]
    if last.role == "user":
        for word in ("hold_again", "hold", "pay", "ask", "render"):
            if word in last.text:
                return FunctionModel.tool_call(word, {"amount": 7} if word == "pay" else {})
        return "leaf did nothing"
    return f"leaf got {last.parts[-1].content}"


def leaf(ran: list[str] | None = None) -> Agent:
    """The agent whose tools wait."""
    agent = Agent("leaf", model=FunctionModel(_leaf_model, name="leaf-model"))

    @agent.tool(needs_approval=True)
    def pay(amount: int) -> str:
        """Pay an amount (a person approves it first)."""
        _record(ran, f"pay {amount}")
        return f"paid {amount}"

    @agent.tool
    def ask(ctx: Context[Any]) -> str:
        """Ask the person for a colour."""
        colour = ctx.request_input("Which colour?")
        _record(ran, f"ask {colour}")
        return f"colour {colour}"

    @agent.tool
    async def hold() -> str:
        """Work a long time (the crash tests kill the process meanwhile)."""
        _record(ran, "hold")
        await _held()
        return "held"

    @agent.tool(idempotent=True)
    async def hold_again() -> str:
        """Work a long time; safe to run again."""
        _record(ran, "hold_again")
        await _held()
        return "held again"

    @agent.tool
    def render() -> Deferred:
        """Start a render job answered later."""
        _record(ran, "render")
        return Deferred(ticket="job-1")

    return agent


def mid(ran: list[str] | None = None) -> Agent:
    """Delegates to leaf."""
    return Agent("mid", model=_delegate("leaf", "mid"), tools=[leaf(ran).as_tool()])


def top(ran: list[str] | None = None, *, depth: int = 2) -> Agent:
    """Delegates to mid (depth 2) or straight to leaf (depth 1)."""
    below = mid(ran) if depth == 2 else leaf(ran)
    return Agent("top", model=_delegate(below.name, "top"), tools=[below.as_tool()])


async def _start(store: str, run_id: str, text: str) -> None:
    from tether import Runner

    await Runner(store=store, telemetry=None).run(top(), text, run_id=run_id)


async def _resume(store: str, run_id: str, call_id: str) -> None:
    from tether import Runner

    runner = Runner(store=store, telemetry=None)
    done = await runner.resume(run_id, top(), approvals={call_id: True})
    paths = sorted((r.tool_name, r.agent_path) for r in done.tool_executions)
    print(json.dumps({"state": done.state, "output": done.output, "paths": paths}))
    await runner.aclose()


if __name__ == "__main__":
    if sys.argv[1] == "start":  # start STORE RUN_ID TEXT (the crash tests kill it)
        asyncio.run(_start(*sys.argv[2:5]))
    else:
        asyncio.run(_resume(*sys.argv[1:4]))
