"""A run whose tool has an external effect (a refund at a loopback "payments" service).

``python effect_app.py STORE_URL RUN_ID SERVICE_URL WORKDIR MODE IDEMPOTENT``: MODE ``run``
starts the run and SIGKILLs this process right after the refund went out (before the tool
returns); MODE ``resume`` resumes it in a fresh process and, for each call the crash cut short,
asks the service by the call's idempotency key whether the refund already happened. Prints a
JSON report.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import urllib.request
from pathlib import Path
from typing import Any

from tether import Agent, Context, Message, Runner
from tether.context import idempotency_key
from tether.models import FunctionModel
from tether.models.testing import AgentInfo
from tether.store import open_store


def build(work: Path, service: str, kill: bool, idempotent: bool) -> Agent:
    def answer(messages: list[Message], info: AgentInfo) -> Any:
        if any(m.tool_results for m in messages):
            return "done: " + "; ".join(r.content for m in messages for r in m.tool_results)
        return FunctionModel.tool_call("refund", {"amount": 42})

    agent = Agent("payer", model=FunctionModel(answer), max_turns=4)

    @agent.tool(idempotent=idempotent)
    def refund(ctx: Context[Any], amount: int) -> str:
        """Refund an amount, once, through the payments service."""
        key = ctx.idempotency_key
        with (work / "keys.log").open("a") as log:
            log.write(key + "\n")
        request = urllib.request.Request(
            f"{service}/refunds",
            data=json.dumps({"amount": amount}).encode(),
            headers={"Idempotency-Key": key, "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            applied = json.loads(response.read())["applied"]
        if kill:
            os.kill(os.getpid(), signal.SIGKILL)
        return f"refunded {amount} ({'new' if applied else 'already done'})"

    return agent


def exists(service: str, key: str) -> bool:
    with urllib.request.urlopen(f"{service}/refunds/{key}", timeout=10) as response:
        return bool(json.loads(response.read())["exists"])


async def main(url: str, run_id: str, service: str, work: Path, mode: str, idem: bool) -> None:
    runner = Runner(store=open_store(url))
    report: dict[str, Any] = {}
    if mode == "run":
        await runner.run(build(work, service, True, idem), "refund 42", run_id=run_id)
        report["state"] = "not killed"
    else:
        agent = build(work, service, False, idem)
        result = await runner.resume(run_id, agent)
        report["first_state"] = result.state
        report["interrupted"] = list(result.interrupted_calls)
        if result.state == "interrupted":
            decisions: dict[str, bool | str] = {
                call: "it already went through"
                if exists(service, idempotency_key(run_id, call))
                else True
                for call in result.interrupted_calls
            }
            report["decisions"] = decisions
            result = await runner.resume(run_id, agent, approvals=decisions)
        report["state"] = result.state
        report["final_text"] = result.final_text
    await runner.aclose()
    print(json.dumps(report))


if __name__ == "__main__":
    url, run_id, service, work, mode, idem = sys.argv[1:7]
    asyncio.run(main(url, run_id, service, Path(work), mode, idem == "1"))
