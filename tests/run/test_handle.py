"""RunHandle: events for several consumers, pause/resume, cancel, interrupt, approvals, status."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tether import Agent, RunConfig, Runner, UserError
from tether.messages import TextPart
from tether.models import FakeModel, ModelRequest, ModelResponse
from tether.models.base import ModelStreamEvent, TextDelta


class SlowStreamModel:
    """Streams words with a pause between them, and tells when the stream has begun."""

    def __init__(self, words: list[str], pause: float = 30.0) -> None:
        self.words = words
        self.pause = pause
        self.streaming = asyncio.Event()
        self.closed = False

    @property
    def name(self) -> str:
        return "slow-stream"

    async def request(self, request: ModelRequest) -> ModelResponse:
        return ModelResponse([TextPart(" ".join(self.words))])

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        try:
            for word in self.words:
                yield TextDelta(word + " ")
                self.streaming.set()
                await asyncio.sleep(self.pause)
            yield ModelResponse([TextPart(" ".join(self.words))])
        finally:
            self.closed = True


def _blocking_tool_agent(model: FakeModel) -> tuple[Agent, asyncio.Event, list[str]]:
    agent = Agent("worker", model=model)
    entered = asyncio.Event()
    log: list[str] = []

    @agent.tool
    async def work() -> str:
        entered.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            log.append("cancelled")
            raise
        return "worked"

    return agent, entered, log


async def test_two_consumers_see_the_same_events() -> None:
    model = FakeModel()
    model.add_response("hello there")
    handle = await Agent("a", model=model).start("hi")

    async def collect() -> list[str]:
        return [f"{ev.seq}:{ev.type}" async for ev in handle.events]

    first, second = await asyncio.gather(collect(), collect())
    assert first == second
    assert first[-1].endswith("run_finished")
    late = [ev.type async for ev in handle.events]  # a late subscriber gets the whole log
    assert len(late) == len(first)
    result = await handle.result()
    assert result.state == "completed" and handle.status == "completed" and handle.done()


async def test_cancel_during_a_tool_call() -> None:
    model = FakeModel()
    model.add_tool_call("work", {}).add_response("never")
    agent, entered, log = _blocking_tool_agent(model)
    handle = await agent.start("go")
    await entered.wait()
    assert handle.status == "running"
    await handle.cancel()
    result = await handle.result()
    assert result.state == "cancelled"
    assert result.error_type == "RunCancelled"  # a public name, not the loop's StopRun
    assert log == ["cancelled"]
    assert model.remaining == 1


async def test_interrupt_during_a_streaming_model_call_keeps_partial_output() -> None:
    model = SlowStreamModel(["partial", "answer", "never", "seen"])
    handle = await Agent("streamer", model=model).start("talk")
    deltas: list[str] = []

    async def watch() -> None:
        async for ev in handle.events:
            if ev.type == "text_delta":
                deltas.append(ev.delta)

    watcher = asyncio.create_task(watch())
    await model.streaming.wait()
    await handle.interrupt()
    result = await handle.result()
    await watcher
    assert result.state == "interrupted"
    assert result.error == "interrupted by the caller"
    assert result.error_type == "RunInterrupted"
    assert deltas == ["partial "]
    assert model.closed
    # what the cut-short call had streamed is the run's text, not lost with the call
    assert result.final_text == "partial " and result.output == "partial "
    assert str(result) == "partial "


async def test_cancel_during_a_streaming_model_call_keeps_what_was_streamed() -> None:
    model = SlowStreamModel(["half", "a", "sentence"])
    runner = Runner(store=None, telemetry=None)
    handle = await runner.start(Agent("streamer", model=model), "talk")
    await model.streaming.wait()
    await handle.cancel()
    result = await handle.result()
    assert result.state == "cancelled" and result.final_text == "half "
    finished = [ev async for ev in handle.events][-1]
    assert finished.type == "run_finished" and finished.final_text == "half "


async def test_pause_takes_effect_at_the_next_step_then_resume() -> None:
    model = FakeModel()
    model.add_tool_call("work", {}).add_response("done")
    agent = Agent("pausable", model=model)
    release = asyncio.Event()
    entered = asyncio.Event()

    @agent.tool
    async def work() -> str:
        entered.set()
        await release.wait()
        return "worked"

    handle = await agent.start("go")
    await entered.wait()
    await handle.pause()
    assert handle.status == "paused"
    release.set()  # the tool in flight finishes; the run stops before the next model call
    types: list[str] = []
    async for ev in handle.events:
        types.append(ev.type)
        if ev.type == "run_paused":
            break
    assert "tool_call_finished" in types
    assert model.remaining == 1
    await handle.resume()
    result = await handle.result()
    assert result.state == "completed" and result.output == "done"
    assert [ev.type async for ev in handle.events].count("run_resumed") == 1


async def test_pause_then_cancel() -> None:
    model = FakeModel()
    model.add_tool_call("work", {}).add_response("never")
    agent = Agent("p", model=model)
    gate = asyncio.Event()

    @agent.tool
    async def work() -> str:
        await gate.wait()
        return "ok"

    handle = await agent.start("go")
    await handle.pause()
    gate.set()
    async for ev in handle.events:
        if ev.type == "run_paused":
            break
    await handle.cancel()
    result = await handle.result()
    assert result.state == "cancelled"
    assert model.remaining == 2  # paused before the first model call, then cancelled


def _approval_agent(model: FakeModel, **tool_options: Any) -> tuple[Agent, list[str]]:
    agent = Agent("mailer", model=model)
    sent: list[str] = []

    @agent.tool(needs_approval=True, **tool_options)
    async def send_email(to: str) -> str:
        """Send an email."""
        sent.append(to)
        return f"sent to {to}"

    return agent, sent


async def test_approve_runs_the_tool() -> None:
    model = FakeModel()
    model.add_tool_call("send_email", {"to": "ana@example.com"}).add_response("mail sent")
    agent, sent = _approval_agent(model)
    handle = await agent.start("mail ana")
    async for ev in handle.events:
        if ev.type == "approval_requested":
            assert (ev.tool_name, ev.args) == ("send_email", {"to": "ana@example.com"})
            assert handle.status == "awaiting_approval"
            assert handle.pending_approvals == [ev.call_id]
            await handle.approve(ev.call_id)
    result = await handle.result()
    assert result.state == "completed"
    assert sent == ["ana@example.com"]


async def test_reject_sends_the_reason_to_the_model() -> None:
    model = FakeModel()
    model.add_tool_call("send_email", {"to": "boss@example.com"}).add_response("ok, not sent")
    agent, sent = _approval_agent(model)
    handle = await agent.start("mail the boss")
    async for ev in handle.events:
        if ev.type == "approval_requested":
            await handle.reject(ev.call_id, "not on a Sunday")
    result = await handle.result()
    assert sent == []
    # a denial handled by continue_with_error (the default) ends the run degraded, saying why
    assert result.state == "degraded"
    assert result.degraded_reasons == ["tool 'send_email' was not approved: not on a Sunday"]
    tool_message = model.requests[1].messages[-1]
    assert tool_message.tool_results[0].content == "The call was rejected: not on a Sunday"
    assert tool_message.tool_results[0].is_error


async def test_approve_after_the_approval_timeout_is_refused() -> None:
    model = FakeModel()
    model.add_tool_call("send_email", {"to": "x@example.com"}).add_response("gave up")
    agent, sent = _approval_agent(model)
    handle = await agent.start("mail", run_config=RunConfig(approval_timeout=0.05))
    call_id = None
    async for ev in handle.events:
        if ev.type == "approval_requested":
            call_id = ev.call_id
        if ev.type == "approval_decided":
            assert not ev.approved and ev.reason == "no decision within 0.05s"
            break
    assert call_id is not None
    with pytest.raises(UserError, match="no approval is pending"):
        await handle.approve(call_id)
    result = await handle.result()
    assert sent == [] and result.state == "degraded"


async def test_approval_predicate_decides_per_call() -> None:
    model = FakeModel()
    model.add_tool_calls([("pay", {"amount": 5}), ("pay", {"amount": 500})]).add_response("paid")
    agent = Agent("payer", model=model)
    paid: list[int] = []

    @agent.tool(needs_approval=lambda ctx, args: args["amount"] > 100)
    async def pay(amount: int) -> str:
        paid.append(amount)
        return "ok"

    result = await agent.run("pay both")  # headless: the big one waits
    assert result.state == "awaiting_approval"
    assert paid == [5]
    assert [(p.tool_name, p.args) for p in result.pending_approvals] == [("pay", {"amount": 500})]


async def test_unknown_call_id_is_a_user_error() -> None:
    model = FakeModel()
    model.add_tool_call("send_email", {"to": "a@b.c"}).add_response("x")
    agent, _ = _approval_agent(model)
    handle = await agent.start("mail")
    with pytest.raises(UserError, match="no approval is pending for call 'nope'"):
        await handle.approve("nope")
    await handle.cancel()
    assert (await handle.result()).state == "cancelled"


async def test_runner_start_by_registered_name() -> None:
    model = FakeModel()
    model.add_response("named")
    runner = Runner(store=None)
    runner.register_agent(Agent("named-agent", model=model))
    handle = await runner.start("named-agent", "hi")
    assert (await handle.result()).output == "named"
    with pytest.raises(UserError, match="no agent named 'missing'"):
        await runner.start("missing", "hi")


async def test_afk_style_aliases() -> None:
    runner = Runner(store=None)
    handle = await runner.run_handle(Agent("a", model=FakeModel().add_response("x")), "hi")
    assert (await handle.await_result()).output == "x"


async def test_a_runner_knows_the_agents_it_ran() -> None:
    runner = Runner(store="memory://")
    agent = Agent("remembered", model=FakeModel().add_response("ok"))
    result = await runner.run(agent, "hi")
    assert runner.get_agent("remembered") is agent
    assert (await runner.resume(result.run_id)).output == "ok"
