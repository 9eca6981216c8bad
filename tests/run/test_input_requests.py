"""Requests for user input: a tool asks a person for a value with ctx.request_input."""

from __future__ import annotations

import pytest

from tether import Agent, Context, Runner, UserError
from tether.models import FakeModel


def _transfer_agent(model: FakeModel, runs: list[str]) -> Agent:
    agent = Agent("bank", model=model)

    @agent.tool
    async def transfer(ctx: Context, amount: int) -> str:
        """Transfer money from an account the person picks."""
        runs.append("started")
        account = ctx.request_input(f"From which account should {amount} EUR go?")
        runs.append(f"answered {account}")
        return f"sent {amount} from {account}"

    return agent


async def test_interactive_run_waits_for_the_answer() -> None:
    model = FakeModel()
    model.add_tool_call("transfer", {"amount": 50}).add_response("done")
    runs: list[str] = []
    handle = await _transfer_agent(model, runs).start("send 50")
    async for event in handle.events:
        if event.type == "input_requested":
            assert event.prompt == "From which account should 50 EUR go?"
            assert handle.status == "awaiting_input"
            assert handle.pending_inputs == [event.call_id]
            await handle.respond(event.call_id, "savings")
    result = await handle.result()
    assert result.state == "completed"
    assert runs == ["started", "started", "answered savings"]
    assert result.tool_executions[0].output == "sent 50 from savings"


async def test_headless_run_stops_and_resumes_with_the_answer() -> None:
    model = FakeModel()
    model.add_tool_call("transfer", {"amount": 20})
    runs: list[str] = []
    runner = Runner(store="memory://")
    agent = runner.register_agent(_transfer_agent(model, runs))
    first = await runner.run(agent, "send 20")
    assert first.state == "awaiting_input"
    [pending] = first.pending_inputs
    assert (pending.tool_name, pending.prompt) == (
        "transfer",
        "From which account should 20 EUR go?",
    )

    with pytest.raises(UserError, match="no question pending for call 'nope'"):
        await runner.resume(first.run_id, inputs={"nope": "x"})
    model.add_response("sent it")
    done = await runner.resume(first.run_id, inputs={pending.call_id: "checking"})
    assert done.state == "completed"
    assert done.output == "sent it"
    assert runs == ["started", "started", "answered checking"]
    assert model.requests[-1].messages[-1].tool_results[0].content == "sent 20 from checking"


async def test_respond_to_an_unknown_call_is_a_user_error() -> None:
    model = FakeModel()
    model.add_response("hi")
    handle = await Agent("a", model=model).start("x")
    await handle.result()
    with pytest.raises(UserError, match="no question is pending"):
        await handle.respond("call_1_0", "value")


async def test_a_tool_cannot_swallow_the_question() -> None:
    model = FakeModel()
    model.add_tool_call("careless", {})
    agent = Agent("a", model=model)

    @agent.tool
    def careless(ctx: Context) -> str:
        try:
            return str(ctx.request_input("name?"))
        except Exception:
            return "swallowed"

    result = await agent.run("go")
    assert result.state == "awaiting_input"
