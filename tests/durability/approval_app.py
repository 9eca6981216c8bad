"""A small app for the cross-process tests: start a run headless, or resume it with decisions.

    python approval_app.py STORE_URL LEDGER start RUN_ID
    python approval_app.py STORE_URL LEDGER resume RUN_ID '{"call_1_0": true}'

Prints the Result as JSON. The ``send`` tool needs approval and appends to LEDGER when it runs.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from tether import Agent, Message, Runner
from tether.models import FunctionModel
from tether.models.testing import AgentInfo


def answer(messages: list[Message], info: AgentInfo) -> Any:
    results = [r for m in messages for r in m.tool_results]
    if not results:
        return FunctionModel.tool_calls([("send", {"to": "ann"}), ("send", {"to": "bob"})])
    return "; ".join(r.content for r in results)


def build(ledger: Path) -> Agent:
    agent = Agent("mailer", model=FunctionModel(answer))

    @agent.tool(needs_approval=True)
    def send(to: str) -> str:
        """Send a mail."""
        with ledger.open("a") as f:
            f.write(f"{to}\n")
        return f"sent to {to}"

    return agent


async def main(url: str, ledger: Path, action: str, run_id: str, decisions: str) -> None:
    runner = Runner(store=url)
    agent = runner.register_agent(build(ledger))
    if action == "start":
        result = await runner.run(agent, "mail everyone", run_id=run_id)
    else:
        result = await runner.resume(run_id, approvals=json.loads(decisions or "{}"))
    await runner.aclose()
    print(
        json.dumps({**result.to_dict(), "pending": [p.call_id for p in result.pending_approvals]})
    )


if __name__ == "__main__":
    args = [*sys.argv[1:], ""]
    asyncio.run(main(args[0], Path(args[1]), args[2], args[3], args[4]))
