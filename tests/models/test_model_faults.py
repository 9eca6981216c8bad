"""What real APIs do, on real loopback servers: rate limits, server errors, resets, broken
streams, bad tool arguments, slowness and bad keys; each ends as the runtime's rules say."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from provider_helpers import PROVIDERS, model_for
from servers import CutBody, Delay, HTTPError, ModelServer, Reset, Truncate, Turn

from tether import Agent
from tether.errors import CircuitOpen, ModelProviderError, UserError
from tether.events import Event
from tether.messages import Message
from tether.models.base import ModelRequest, ModelSettings
from tether.models.resilience import CircuitBreaker, ModelRuntime, RetryPolicy
from tether.run.config import RunConfig, RunnerConfig
from tether.run.runner import Runner


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


async def collect(agent: Agent, prompt: str = "hi", **kw: Any) -> tuple[Any, list[Event]]:
    """Run streamed; returns (result, events)."""
    events = [e async for e in agent.run_stream(prompt, **kw)]
    return events[-1].result, events  # type: ignore[attr-defined]


def of(events: list[Event], kind: str) -> list[Any]:
    """The events of one type."""
    return [e for e in events if e.type == kind]


def request_of(text: str = "hi", **settings: Any) -> tuple[ModelRequest, list[Event]]:
    """A bare model request whose runtime events land in the returned list."""
    seen: list[Event] = []
    request = ModelRequest(
        messages=[Message.user(text)], settings=ModelSettings(**settings), observer=seen.append
    )
    return request, seen


async def test_429_with_retry_after_is_honoured(chat_server: ModelServer) -> None:
    chat_server.add(HTTPError(429, {"error": {"message": "slow down"}}, {"retry-after-ms": "40"}))
    chat_server.add_text("ok")
    started = time.monotonic()
    result, events = await collect(Agent("a", model=model_for(chat_server)))
    assert result.state == "completed" and result.output == "ok"
    [retry] = of(events, "model_retry")
    assert retry.status == 429 and retry.delay == pytest.approx(0.04)
    assert "slow down" in retry.error
    assert time.monotonic() - started >= 0.04
    assert len(chat_server.requests) == 2


async def test_retry_after_in_seconds_non_streamed(chat_server: ModelServer) -> None:
    chat_server.add(HTTPError(503, headers={"retry-after": "0.02"}), Turn(text="fine"))
    request, seen = request_of()
    response = await model_for(chat_server).request(request)
    assert response.text == "fine"
    assert [(e.type, e.status, e.delay) for e in seen] == [("model_retry", 503, 0.02)]


async def test_500_then_success(provider: tuple[ModelServer, Any]) -> None:
    server, make = provider
    server.add(HTTPError(500), Turn(text="recovered"))
    result, events = await collect(Agent("a", model=make()))
    assert result.output == "recovered"
    assert [e.status for e in of(events, "model_retry")] == [500]
    # The retry is in the durable log, before the response it led to.
    kinds = [e.type for e in events]
    assert kinds.index("model_retry") < kinds.index("model_response")


async def test_500_every_time_fails_after_the_attempts(chat_server: ModelServer) -> None:
    chat_server.add(*[HTTPError(500)] * 3)
    result, events = await collect(Agent("a", model=model_for(chat_server)))
    assert result.state == "failed" and result.error_type == "ModelProviderError"
    assert [e.attempt for e in of(events, "model_retry")] == [1, 2]
    assert len(chat_server.requests) == 3
    chat_server.add(*[HTTPError(502)] * 3)
    with pytest.raises(ModelProviderError) as caught:
        await Agent("a", model=model_for(chat_server)).run("hi")
    assert caught.value.status == 502


async def test_connection_reset_is_retried(provider: tuple[ModelServer, Any]) -> None:
    server, make = provider
    server.add(Reset(), Turn(text="after reset"))
    request, seen = request_of()
    response = await make().request(request)
    assert response.text == "after reset"
    [retry] = seen
    assert retry.type == "model_retry" and retry.status is None
    assert "connection" in retry.error


@pytest.mark.parametrize("status", [200, 500])
async def test_connection_dropped_while_reading_a_json_body_on_the_stream_path_is_retried(
    provider: tuple[ModelServer, Any], status: int
) -> None:
    # Asked for a stream, the server answers JSON (200: a proxy's error page; 500: an error)
    # and the connection drops halfway through its body: a retryable ModelProviderError that
    # says so, never the transport's own ReadError.
    server, make = provider
    server.add(CutBody(status), Turn(text="after the drop"))
    result, events = await collect(Agent("a", model=make()))
    assert result.state == "completed" and result.output == "after the drop"
    [retry] = of(events, "model_retry")
    assert "ReadError" not in retry.error or "broke" in retry.error
    assert retry.error.strip(), "the retry names what happened"
    server.add(*[CutBody(status)] * 3)
    failed, _ = await collect(Agent("a", model=make()))
    assert failed.state == "failed" and failed.error_type == "ModelProviderError"
    assert failed.error and "ReadError" not in failed.error.split(":")[0]


# Events of each protocol before its first text delta (cut there: nothing was passed on).
_BEFORE_TEXT = {"openai-chat": 1, "openai": 4, "anthropic": 3}


@pytest.mark.parametrize("prefix", list(PROVIDERS))
async def test_stream_cut_before_output_is_retried_from_start(prefix: str) -> None:
    server = PROVIDERS[prefix][0]().start()
    try:
        turn = Turn(text="Hello there world")
        server.add(Truncate(turn, after=_BEFORE_TEXT[prefix]), turn)
        result, events = await collect(Agent("a", model=model_for(server, prefix)))
    finally:
        server.stop()
    assert result.state == "completed" and result.output == "Hello there world"
    assert len(of(events, "model_retry")) == 1
    assert "".join(e.delta for e in of(events, "text_delta")) == "Hello there world"


@pytest.mark.parametrize("prefix", list(PROVIDERS))
async def test_stream_cut_after_output_fails_without_duplicating(prefix: str) -> None:
    server = PROVIDERS[prefix][0]().start()
    try:
        turn = Turn(text="Hello there world")
        server.add(Truncate(turn, after=_BEFORE_TEXT[prefix] + 2), turn)
        result, events = await collect(Agent("a", model=model_for(server, prefix)))
    finally:
        server.stop()
    assert result.state == "failed" and result.error_type == "ModelProviderError"
    assert "not retried" in result.error
    assert of(events, "model_retry") == []
    assert len(of(events, "text_delta")) == 2  # what came before the break, once
    assert len(server.requests) == 1


@pytest.mark.parametrize("prefix", list(PROVIDERS))
async def test_invalid_tool_arguments_go_back_to_the_model(prefix: str) -> None:
    server = PROVIDERS[prefix][0]().start()
    try:
        server.add_tool_calls(("add", '{"a": 1, "b": '))
        server.add_tool_calls(("add", {"a": 1, "b": 2}))
        server.add_text("3")
        result, events = await collect(Agent("a", model=model_for(server, prefix), tools=[add]))
    finally:
        server.stop()
    assert result.state == "completed" and result.output == "3"
    first = of(events, "tool_call_finished")[0]
    assert first.error_kind == "retry" and "not a valid JSON" in first.content
    assert "not a valid JSON" in str(server.requests[1].body)
    assert [r.output for r in result.tool_executions if r.error is None] == [3]


async def test_server_slower_than_the_timeout(chat_server: ModelServer) -> None:
    chat_server.add(Delay(2.0, Turn(text="late")), Delay(2.0, Turn(text="late")))
    runtime = ModelRuntime(retry=RetryPolicy(max_attempts=2, initial_delay=0.001), breaker=None)
    agent = Agent(
        "a",
        model=model_for(chat_server, runtime=runtime),
        model_settings=ModelSettings(timeout=0.15),
    )
    started = time.monotonic()
    result, events = await collect(agent)
    assert time.monotonic() - started < 1.5
    assert result.state == "failed" and "timed out" in result.error
    [retry] = of(events, "model_retry")
    assert "timed out" in retry.error and retry.status is None


@pytest.mark.parametrize("status", [400, 401, 403, 404])
async def test_client_errors_fail_at_once(chat_server: ModelServer, status: int) -> None:
    chat_server.add(HTTPError(status, {"error": {"message": "Incorrect API key provided"}}))
    chat_server.add_text("never")
    with pytest.raises(ModelProviderError) as caught:
        await Agent("a", model=model_for(chat_server)).run("hi")
    assert caught.value.status == status
    assert caught.value.body == {"error": {"message": "Incorrect API key provided"}}
    assert "Incorrect API key" in str(caught.value)
    assert len(chat_server.requests) == 1 and chat_server.pending == 1
    result, _ = await collect(Agent("a", model=model_for(chat_server)))
    assert result.state == "completed"  # the scripted answer was still there: nothing retried


async def test_circuit_breaker_opens_fails_fast_and_recovers(chat_server: ModelServer) -> None:
    breaker = CircuitBreaker("chat", failure_threshold=2, cooldown=60)
    runtime = ModelRuntime(retry=RetryPolicy(max_attempts=1), breaker=breaker)
    agent = Agent("a", model=model_for(chat_server, runtime=runtime))
    chat_server.add(HTTPError(500), HTTPError(500))
    first, _ = await collect(agent)
    second, events = await collect(agent)
    assert first.state == second.state == "failed"
    [opened] = of(events, "model_circuit_changed")
    assert (opened.state, opened.endpoint, opened.failures) == ("open", "chat", 2)
    with pytest.raises(CircuitOpen):
        await agent.run("hi")
    assert len(chat_server.requests) == 2  # failed fast: the server never saw it
    breaker._opened_at -= 61  # the cool-down has passed
    chat_server.add_text("back")
    result, events = await collect(agent)
    assert result.output == "back"
    assert [e.state for e in of(events, "model_circuit_changed")] == ["half_open", "closed"]


async def test_runner_model_runtime_applies_to_model_strings(chat_server: ModelServer) -> None:
    chat_server.add(*[HTTPError(500)] * 4, Turn(text="fifth time lucky"))
    runtime = ModelRuntime(retry=RetryPolicy(max_attempts=5, initial_delay=0.001), breaker=None)
    runner = Runner(store=None, config=RunnerConfig(model_runtime=runtime))
    agent = Agent("a", model="openai-chat:gpt-4o-mini", api_key="k", base_url=chat_server.base_url)
    events = [e async for e in runner.run_stream(agent, "hi")]
    assert events[-1].result.output == "fifth time lucky"  # type: ignore[attr-defined]
    assert len(of(events, "model_retry")) == 4


async def test_max_cost_on_unknown_prices_is_refused_at_start(chat_server: ModelServer) -> None:
    model = model_for(chat_server, name="my-local-finetune")
    # (The first price look-up reads the table from files: off the event loop.)
    assert await asyncio.to_thread(lambda: model.prices_known) is False  # type: ignore[attr-defined]
    with pytest.raises(UserError, match="price of model 'openai-chat:my-local-finetune'"):
        await Agent("a", model=model, max_cost=0.5).run("hi")
    with pytest.raises(UserError, match="unknown"):
        await Agent("a", model=model).run("hi", run_config=RunConfig(max_cost=0.5))
    assert chat_server.requests == []


async def test_unknown_price_costs_none_with_one_warning(
    chat_server: ModelServer, caplog: pytest.LogCaptureFixture
) -> None:
    model = model_for(chat_server, name="another-unpriced-model")
    chat_server.add_text("a").add_text("b")
    agent = Agent("a", model=model)
    with caplog.at_level("WARNING", logger="tether.models.pricing"):
        _, first = await collect(agent)
        _, second = await collect(agent)
    for events in (first, second):
        [response] = of(events, "model_response")
        assert response.usage.cost is None
    warnings = [r for r in caplog.records if "another-unpriced-model" in r.getMessage()]
    assert len(warnings) == 1


async def test_known_price_is_computed_per_response(chat_server: ModelServer) -> None:
    chat_server.add(
        Turn(text="x", input_tokens=1_000_000, output_tokens=1_000_000, cached_tokens=0)
    )
    result = await Agent("a", model=model_for(chat_server)).run("hi")
    assert result.usage.cost == pytest.approx(0.15 + 0.6)  # gpt-4o-mini list prices


def test_runtime_rejects_nonsense() -> None:
    with pytest.raises(UserError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(UserError):
        CircuitBreaker(failure_threshold=0)
