"""The fresh processes of tests/run/test_resume_stream.py.

    python _resume_stream_app.py STORE_URL start RUN_ID        # runs until the approval
    python _resume_stream_app.py STORE_URL resume-kill RUN_ID  # approves; SIGKILL at a delta
    python _resume_stream_app.py STORE_URL resume RUN_ID       # streams the rest

Prints the Result as JSON (with ``deltas``: the streamed text). The ``send`` tool needs
approval and appends to ``$LEDGER`` when it runs.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from tether import Agent, Message, Runner
from tether.models import FunctionModel
from tether.models.testing import AgentInfo


def answer(messages: list[Message], info: AgentInfo) -> Any:
    results = [r.content for m in messages for r in m.tool_results]
    if not results:
        return FunctionModel.tool_call("send", {"to": "ann"})
    return "mail went out: " + "; ".join(results)


def build() -> Agent:
    agent = Agent("mailer", model=FunctionModel(answer))

    @agent.tool(needs_approval=True)
    def send(to: str) -> str:
        """Send a mail."""
        with Path(os.environ["LEDGER"]).open("a") as f:
            f.write(f"{to}\n")
        return f"sent to {to}"

    return agent


async def main(url: str, action: str, run_id: str) -> None:
    runner = Runner(store=url, telemetry=None)
    agent = runner.register_agent(build())
    if action == "start":
        result = await runner.run(agent, "mail ann", run_id=run_id)
        print(json.dumps(result.to_dict()))
        return
    state = await runner.load_state(run_id)
    approvals = {call_id: True for call_id in state.pending_approvals}
    deltas: list[str] = []
    last: Any = None
    async for event in runner.resume_stream(run_id, approvals=approvals):
        if event.type == "text_delta":
            if action == "resume-kill":
                os.kill(os.getpid(), signal.SIGKILL)
            deltas.append(event.delta)  # type: ignore[attr-defined]
        last = event
    await runner.aclose()
    print(json.dumps({**last.result.to_dict(), "deltas": "".join(deltas)}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
