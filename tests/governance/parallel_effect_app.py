"""Two ``effect="external"`` calls of one turn, running at once, cut short by a SIGKILL.

``python parallel_effect_app.py STORE_URL RUN_ID KEYS_FILE`` starts the run; each call writes
``CALL_ID KEY`` to KEYS_FILE, and the second to start kills the process while both are in
flight. ``build(keys_file, kill=False)`` is the same agent for the resuming side.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from tether import Agent, Context, Message, Runner
from tether.messages import ToolCallPart
from tether.models import FunctionModel
from tether.models.base import ModelResponse
from tether.models.testing import AgentInfo


def build(keys: Path, *, kill: bool) -> Agent:
    both = threading.Barrier(2)

    def answer(messages: list[Message], info: AgentInfo) -> Any:
        if any(m.tool_results for m in messages):
            return "; ".join(r.content for m in messages for r in m.tool_results)
        return ModelResponse(
            [
                ToolCallPart("r1", "refund", '{"amount": 1}'),
                ToolCallPart("r2", "refund", '{"amount": 2}'),
            ]
        )

    agent = Agent("payer", model=FunctionModel(answer), max_turns=4)

    @agent.tool(effect="external")
    def refund(ctx: Context[Any], amount: int) -> str:
        """Refund an amount through an external service."""
        with keys.open("a") as log:
            log.write(f"{amount} {ctx.idempotency_key}\n")
        if kill:
            both.wait(timeout=30)  # both calls are in flight: die now
            os.kill(os.getpid(), signal.SIGKILL)
        return f"refunded {amount}"

    return agent


async def _main(url: str, run_id: str, keys: Path) -> None:
    runner = Runner(store=url, telemetry=None)
    await runner.run(build(keys, kill=True), "refund both", run_id=run_id)


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1], sys.argv[2], Path(sys.argv[3])))
