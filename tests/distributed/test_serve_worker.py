"""The Ray worker of `tether serve --engine ray`, in this process: what it does when Ray retries
a call (the run is in the store already, a decision is recorded already), and a Runner's agents
sent to it pickled (cloudpickle, as Ray sends them)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tether import Agent, Runner
from tether.distributed._serve import _ServeWorker, worker_source
from tether.errors import UserError
from tether.models import FunctionModel


def _payer(ledger: Path) -> Agent:
    """The model asks to pay, then answers (once the file `<ledger>.go` exists); each model call
    and payment is a ledger line (a file: the agent reaches the worker as a copy, pickled)."""

    async def answer(messages: list[Any], info: Any) -> Any:
        with ledger.open("a") as out:
            out.write("asked\n")
        if any(m.role == "tool" for m in messages):
            # A file, not an Event: the agent is a pickled copy. The worker is stopped here.
            while not Path(f"{ledger}.go").exists():  # noqa: ASYNC110, ASYNC240
                await asyncio.sleep(0.01)
            return "paid"
        return FunctionModel.tool_call("pay", {"item": "book"})

    agent = Agent("payer", model=FunctionModel(answer))

    @agent.tool(needs_approval=True)
    def pay(item: str) -> str:
        """Pay (needs approval)."""
        with ledger.open("a") as out:
            out.write(f"paid {item}\n")
        return f"paid for {item}"

    return agent


@pytest.mark.allow_blocking  # the ledger file
async def test_a_retried_call_continues_the_run_and_makes_no_decision_twice(
    tmp_path: Path,
) -> None:
    ledger = tmp_path / "ledger.txt"
    runner = Runner(store=f"sqlite:///{tmp_path}/runs.db", telemetry=None, agents=[_payer(ledger)])
    from ray import cloudpickle  # the pickler Ray sends actor arguments with

    # What the server sends its workers, through a pickle round trip as Ray does.
    source = cloudpickle.loads(cloudpickle.dumps(worker_source(runner, None)))
    worker = _ServeWorker(source)
    first = await worker.run("payer", "buy it", "r1", None)
    assert first.state == "awaiting_approval"
    call_id = first.pending_approvals[0].call_id
    again = await worker.run("payer", "buy it", "r1", None)  # Ray retried the start
    assert again.state == "awaiting_approval"
    assert ledger.read_text().split("\n")[:-1] == ["asked"]  # no model call asked twice

    after = (await runner.store.load("r1"))[-1].seq  # type: ignore[union-attr]
    # The worker is stopped after it recorded the approval and the payment, while the model answers.
    first_try = asyncio.create_task(worker.resume("r1", {call_id: True}, None, after))
    # Waiting for the model's second call, not the payment line: the payment is recorded only
    # after the tool returns, so a stop right after "paid book" may find it cut short.
    while ledger.read_text().count("asked") < 2:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    first_try.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first_try
    # Ray retries the call on a new worker: the recorded approval is not made again (it would
    # be refused: no approval is pending any more) and the payment is not made again.
    Path(f"{ledger}.go").touch()  # noqa: ASYNC240
    retried = await _ServeWorker(source).resume("r1", {call_id: True}, None, after)
    assert (retried.state, retried.output) == ("completed", "paid")
    assert ledger.read_text().count("paid book") == 1
    await runner.aclose()


def test_the_workers_need_a_store_url_they_can_share() -> None:
    runner = Runner(store="memory://", telemetry=None, agents=[_payer(Path("unused"))])
    with pytest.raises(UserError, match="needs a store the workers share"):
        worker_source(runner, None)
