"""A run with a history summary, SIGKILLed inside a tool, resumed and replayed in fresh processes.

``python _summary_app.py MODE STORE_URL`` with MODE ``run`` (killed in the second tool call,
after the first summary is stored), ``resume`` or ``replay``; the last two print a JSON report:
the Result's state and usage, and how often the model and the summarizer were asked.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

from tether import Agent, HistorySummarize, Runner
from tether.models import FakeModel

RUN_ID = "summary-run"


def build(mode: str) -> tuple[Agent, FakeModel, FakeModel]:
    # each process is scripted with what is left for it to answer (replay: nothing)
    summarizer, model = FakeModel(cost_per_call=0.5), FakeModel(cost_per_call=0.03)
    if mode == "run":
        summarizer.add_response("they looked once")
        model.add_tool_call("look", {"n": 1}).add_tool_call("look", {"n": 2})
    elif mode == "resume":
        summarizer.add_response("they looked twice")
        model.add_response("done")
    history = HistorySummarize(summarizer, trigger_tokens=5, keep_last=1)
    agent = Agent("reader", model=model, history=history)

    @agent.tool(idempotent=True)
    def look(n: int) -> str:
        """Look around."""
        if n == 2 and mode == "run":
            os.kill(os.getpid(), signal.SIGKILL)
        return "a long description of everything in the room " * 3

    return agent, model, summarizer


async def main(mode: str, url: str) -> None:
    agent, model, summarizer = build(mode)
    runner = Runner(store=url, telemetry=None)
    if mode == "run":
        await runner.run(agent, "please look around the room", run_id=RUN_ID)
        return
    if mode == "resume":
        result = await runner.resume(RUN_ID, agent)
    else:
        result = await runner.replay(RUN_ID, agent=agent)
    await runner.aclose()
    report = {
        "state": result.state,
        "usage": result.usage.to_dict(),
        "model": len(model.requests),
        "summarizer": len(summarizer.requests),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
