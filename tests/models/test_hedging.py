"""Hedged requests and coalescing of identical concurrent requests."""

from __future__ import annotations

import asyncio

import pytest

from tether import Agent, UserError
from tether.messages import Message
from tether.models import FunctionModel, ModelRequest
from tether.models.hedging import CoalescingModel, HedgedModel
from tether.models.testing import AgentInfo


def _request(text: str, seen: list) -> ModelRequest:  # type: ignore[type-arg]
    return ModelRequest(messages=[Message.user(text)], observer=seen.append)


async def test_hedge_wins_when_the_first_call_is_slow() -> None:
    calls: list[int] = []
    cancelled: list[int] = []

    async def answer(messages: list[Message], info: AgentInfo) -> str:
        calls.append(1)
        number = len(calls)
        try:
            await asyncio.sleep(5 if number == 1 else 0)
        except asyncio.CancelledError:
            cancelled.append(number)
            raise
        return f"answer {number}"

    seen: list = []  # type: ignore[type-arg]
    response = await HedgedModel(FunctionModel(answer), after=0.02).request(_request("hi", seen))
    assert response.text == "answer 2"
    assert cancelled == [1]
    assert [(e.type, e.winner) for e in seen] == [("model_hedged", "hedge")]


async def test_no_hedge_when_the_first_call_is_quick() -> None:
    calls: list[int] = []

    def answer(messages: list[Message], info: AgentInfo) -> str:
        calls.append(1)
        return "quick"

    response = await HedgedModel(FunctionModel(answer), after=1.0).request(_request("hi", []))
    assert response.text == "quick" and len(calls) == 1


async def test_hedge_reports_the_error_when_both_fail() -> None:
    async def answer(messages: list[Message], info: AgentInfo) -> str:
        await asyncio.sleep(0.05)
        raise ConnectionError("down")

    with pytest.raises(ConnectionError, match="down"):
        await HedgedModel(FunctionModel(answer), after=0.01).request(_request("hi", []))
    with pytest.raises(UserError, match="after must be positive"):
        HedgedModel(FunctionModel(answer), after=0)


async def test_identical_concurrent_requests_share_one_call() -> None:
    calls: list[str] = []
    gate = asyncio.Event()

    async def answer(messages: list[Message], info: AgentInfo) -> str:
        calls.append(messages[-1].text)
        await gate.wait()
        return f"re: {messages[-1].text}"

    model = CoalescingModel(FunctionModel(answer, cost_per_call=0.5))
    seen: list = []  # type: ignore[type-arg]
    tasks = [asyncio.ensure_future(model.request(_request(t, seen))) for t in ("a", "a", "b")]
    await asyncio.sleep(0.01)
    gate.set()
    first, second, other = await asyncio.gather(*tasks)
    assert calls == ["a", "b"]
    assert (first.text, second.text, other.text) == ("re: a", "re: a", "re: b")
    assert (first.usage.cost, second.usage.cost) == (0.5, 0.0)  # the sharer spent nothing
    assert [e.type for e in seen] == ["model_coalesced"]


async def test_coalesced_error_reaches_every_caller() -> None:
    gate = asyncio.Event()

    async def answer(messages: list[Message], info: AgentInfo) -> str:
        await gate.wait()
        raise ConnectionError("boom")

    model = CoalescingModel(FunctionModel(answer))
    tasks = [asyncio.ensure_future(model.request(_request("x", []))) for _ in range(2)]
    await asyncio.sleep(0.01)
    gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert [type(r) for r in results] == [ConnectionError, ConnectionError]


async def test_a_cancelled_leader_does_not_cancel_the_waiters() -> None:
    calls: list[int] = []

    async def answer(messages: list[Message], info: AgentInfo) -> str:
        calls.append(1)
        await asyncio.sleep(0.05)
        return "done"

    model = CoalescingModel(FunctionModel(answer))
    leader = asyncio.ensure_future(model.request(_request("x", [])))
    await asyncio.sleep(0)
    waiter = asyncio.ensure_future(model.request(_request("x", [])))
    await asyncio.sleep(0.01)
    leader.cancel()
    assert (await waiter).text == "done"
    assert len(calls) == 2


async def test_wrapped_models_drive_an_agent_run() -> None:
    model = HedgedModel(CoalescingModel(FunctionModel(lambda m, i: "hello")), after=1.0)
    result = await Agent("a", model=model).run("hi")
    assert result.output == "hello"
    streamed = [e async for e in Agent("a", model=model).run_stream("hi")]
    assert streamed[-1].result.output == "hello"
