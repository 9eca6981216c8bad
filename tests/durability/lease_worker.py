"""A process that resumes one run under the run's lease (tests/durability/test_lease.py).

``python lease_worker.py STORE_URL RUN_ID CALL_ID WORKDIR fail|wait|plain``: takes the lease (at
once, or waiting for it), resumes the run approving CALL_ID, and prints one JSON line: the run's
state, or the error that stopped it. ``plain`` calls ``runner.resume`` alone (it takes the lease
itself); CALL_ID ``-`` resumes without a decision.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from tether import Agent, Runner
from tether.models import FunctionModel
from tether.store import RunLeaseHeld, run_lease


def build_agent(work: Path) -> Agent:
    """Turn 1 asks for ``slow`` (approval needed); turn 2 answers with its result."""

    def answer(messages: list, info: object) -> object:
        results = [r.content for m in messages for r in m.tool_results]
        if not results:
            return FunctionModel.tool_call("slow", {"item": "x"})
        return "done: " + results[0]

    agent = Agent("leased", model=FunctionModel(answer), max_turns=4)

    @agent.tool(needs_approval=True)
    def slow(item: str) -> str:
        """Record the item (a side effect) and take a while."""
        with (work / "ledger.txt").open("a") as ledger:
            ledger.write(item + "\n")
        (work / "started").touch()
        for _ in range(400):  # until the test lets it finish (bounded: 20 s)
            if (work / "release").exists():
                break
            time.sleep(0.05)
        return f"recorded {item}"

    return agent


async def main(url: str, run_id: str, call_id: str, work: Path, mode: str) -> dict[str, object]:
    runner = Runner(store=url, telemetry=None, agents=[build_agent(work)])
    (work / f"trying-{mode}").touch()
    approvals = None if call_id == "-" else {call_id: True}
    try:
        if mode == "plain":
            result = await runner.resume(run_id, approvals=approvals)
            return {"state": result.state, "text": result.final_text}
        async with run_lease(runner.store, run_id, wait=mode == "wait", timeout=30):
            result = await runner.resume(run_id, approvals=approvals)
            return {"state": result.state, "text": result.final_text}
    except RunLeaseHeld as exc:
        return {"error": type(exc).__name__, "message": str(exc)}
    finally:
        await runner.aclose()


if __name__ == "__main__":
    url, run_id, call_id, work, mode = sys.argv[1:6]
    print(json.dumps(asyncio.run(main(url, run_id, call_id, Path(work), mode))), flush=True)
