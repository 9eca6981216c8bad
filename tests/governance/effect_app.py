"""A run whose tool has an external effect (a refund at a loopback "payments" service).

``python effect_app.py STORE_URL RUN_ID SERVICE_URL WORKDIR MODE KIND``. KIND says how the tool
is declared: ``0`` (nothing), ``1`` (``idempotent=True``) or ``ext`` (``effect="external"``).
MODE ``run`` starts the run and SIGKILLs this process right after the refund went out (before
the tool returns); ``before`` kills it right before the refund goes out; ``after`` kills it once
the tool returned, when its ``tool_call_finished`` is streamed but not yet stored. MODE
``resume`` resumes the run in a fresh process and, for each call the crash cut short, asks the
service by the call's idempotency key whether the refund already happened (``look`` resumes
and leaves the interruption undecided). Prints a JSON
report (with the effect ledger's rows for ``ext``).
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
from tether.models import FunctionModel
from tether.models.testing import AgentInfo
from tether.store import open_store


def build(work: Path, service: str, mode: str, kind: str) -> Agent:
    def answer(messages: list[Message], info: AgentInfo) -> Any:
        if any(m.tool_results for m in messages):
            return "done: " + "; ".join(r.content for m in messages for r in m.tool_results)
        return FunctionModel.tool_call("refund", {"amount": 42})

    agent = Agent("payer", model=FunctionModel(answer), max_turns=4)
    declared: dict[str, Any] = {"0": {}, "1": {"idempotent": True}, "ext": {"effect": "external"}}

    @agent.tool(**declared[kind])
    def refund(ctx: Context[Any], amount: int) -> str:
        """Refund an amount, once, through the payments service."""
        key = ctx.idempotency_key
        with (work / "keys.log").open("a") as log:
            log.write(key + "\n")
        if mode == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        request = urllib.request.Request(
            f"{service}/refunds",
            data=json.dumps({"amount": amount}).encode(),
            headers={"Idempotency-Key": key, "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            applied = json.loads(response.read())["applied"]
        if mode == "run":
            os.kill(os.getpid(), signal.SIGKILL)
        return f"refunded {amount} ({'new' if applied else 'already done'})"

    return agent


def exists(service: str, key: str) -> bool:
    with urllib.request.urlopen(f"{service}/refunds/{key}", timeout=10) as response:
        return bool(json.loads(response.read())["exists"])


async def ledger(runner: Runner, run_id: str) -> list[dict[str, Any]]:
    effects = getattr(runner.store, "effects", None)
    if effects is None:
        return []
    return [
        {"status": r.status, "attempts": r.attempts, "key": r.key} for r in await effects(run_id)
    ]


async def ledger_finished(runner: Runner, run_id: str) -> bool:
    """Whether every ledger row of the run has an end time (no row left ``started``)."""
    effects = getattr(runner.store, "effects", None)
    return effects is not None and all(r.finished_at is not None for r in await effects(run_id))


async def main(url: str, run_id: str, service: str, work: Path, mode: str, kind: str) -> None:
    runner = Runner(store=open_store(url))
    report: dict[str, Any] = {}
    agent = build(work, service, mode, kind)
    if mode in ("run", "before"):
        await runner.run(agent, "refund 42", run_id=run_id)
        report["state"] = "not killed"
    elif mode == "after":
        async for event in runner.run_stream(agent, "refund 42", run_id=run_id):
            if event.type == "tool_call_finished":  # streamed before its checkpoint
                os.kill(os.getpid(), signal.SIGKILL)
        report["state"] = "not killed"
    else:  # resume (or look: resume, and leave an interruption undecided)
        report["ledger_after_crash"] = await ledger(runner, run_id)
        result = await runner.resume(run_id, agent)
        report["first_state"] = result.state
        report["first_error"] = result.error
        report["interrupted"] = list(result.interrupted_calls)
        report["keys"] = dict(result.interrupted_keys)
        if result.state == "interrupted" and mode != "look":  # look: left for a person
            decisions: dict[str, bool | str] = {
                call: "it already went through" if exists(service, key) else True
                for call, key in result.interrupted_keys.items()
            }
            report["decisions"] = decisions
            result = await runner.resume(run_id, agent, approvals=decisions)
        report["state"] = result.state
        report["final_text"] = result.final_text
        report["ledger"] = await ledger(runner, run_id)
        report["ledger_finished"] = await ledger_finished(runner, run_id)
    await runner.aclose()
    print(json.dumps(report))


if __name__ == "__main__":
    url, run_id, service, work, mode, kind = sys.argv[1:7]
    asyncio.run(main(url, run_id, service, Path(work), mode, kind))
