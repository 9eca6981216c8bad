"""The runtime pieces: retry policy, breaker, rate limiter, response cache, fallback."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from provider_helpers import model_for
from servers import HTTPError, ModelServer, Truncate, Turn

from tether import Agent
from tether.errors import CircuitOpen, ModelProviderError, UserError
from tether.events import Event
from tether.messages import Message
from tether.models import FakeModel, FallbackModel
from tether.models.base import ModelRequest, ModelSettings, ToolSpec
from tether.models.resilience import (
    CircuitBreaker,
    MemoryResponseCache,
    ModelRuntime,
    RateLimiter,
    ResilientModel,
    RetryPolicy,
    SQLiteResponseCache,
    request_key,
)


def of(events: list[Event], kind: str) -> list[Any]:
    """The events of one type."""
    return [e for e in events if e.type == kind]


async def collect(agent: Agent, prompt: str = "hi") -> tuple[Any, list[Event]]:
    """Run streamed; returns (result, events)."""
    events = [e async for e in agent.run_stream(prompt)]
    return events[-1].result, events  # type: ignore[attr-defined]


def test_backoff_grows_with_jitter_and_stops() -> None:
    policy = RetryPolicy(
        max_attempts=4, initial_delay=1.0, multiplier=2.0, max_delay=3.0, jitter=0.1
    )
    error = ModelProviderError("boom", status=500)
    delays = [policy.delay(attempt, error) for attempt in (1, 2, 3)]
    assert 0.9 <= delays[0] <= 1.1  # type: ignore[operator]
    assert 1.8 <= delays[1] <= 2.2  # type: ignore[operator]
    assert 2.7 <= delays[2] <= 3.3  # type: ignore[operator]  (capped at max_delay)
    assert policy.delay(4, error) is None  # attempts used up


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_never_retried(status: int) -> None:
    assert RetryPolicy().delay(1, ModelProviderError("no", status=status)) is None


@pytest.mark.parametrize("status", [None, 408, 409, 429, 500, 502, 503, 529])
def test_transient_errors_are_retried(status: int | None) -> None:
    assert RetryPolicy().delay(1, ModelProviderError("again", status=status)) is not None


def test_retry_after_wins_unless_too_long() -> None:
    policy = RetryPolicy(max_retry_after=10)
    assert policy.delay(1, ModelProviderError("x", status=429, retry_after=7.0)) == 7.0
    assert policy.delay(1, ModelProviderError("x", status=429, retry_after=11.0)) is None


def test_parse_retry_after_forms() -> None:
    from email.utils import formatdate

    from tether.models._http import parse_retry_after

    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert 8 <= parse_retry_after({"retry-after": formatdate(time.time() + 10)}) <= 10  # type: ignore[operator]
    assert parse_retry_after({}) is None


def cool_down(breaker: CircuitBreaker) -> None:
    """Pretend the breaker's cool-down has passed."""
    breaker._opened_at -= breaker.cooldown + 1


def test_breaker_state_machine() -> None:
    breaker = CircuitBreaker("e", failure_threshold=2, cooldown=30)
    assert breaker.failure(ModelProviderError("bad request", status=400)) is None
    assert breaker.failures == 0  # client errors say nothing about the endpoint
    assert breaker.failure(ModelProviderError("down", status=503)) is None
    assert breaker.failure(ModelProviderError("down", status=None)) == "open"
    with pytest.raises(CircuitOpen) as caught:
        breaker.before()
    assert caught.value.endpoint == "e" and 29 < caught.value.retry_in <= 30
    cool_down(breaker)
    assert breaker.before() == "half_open"
    with pytest.raises(CircuitOpen):
        breaker.before()  # only one trial call while half-open
    assert breaker.failure(ModelProviderError("still down", status=500)) == "open"
    cool_down(breaker)
    assert breaker.before() == "half_open"
    assert breaker.success() == "closed"
    assert breaker.before() is None


async def test_rate_limiter_spaces_requests_and_tokens() -> None:
    limiter = RateLimiter(requests_per_minute=1200, burst_seconds=0.05)  # 1 at once, 20/s
    assert await limiter.acquire() == 0
    waited = await limiter.acquire()
    assert 0.03 <= waited <= 0.1
    tokens = RateLimiter(tokens_per_minute=60_000, burst_seconds=0.1)  # 100 at once, 1000/s
    assert await tokens.acquire(100) == 0
    tokens.settle(100, 150)  # the call used 50 more than estimated
    assert 0.1 <= await tokens.acquire(100) <= 0.25
    with pytest.raises(UserError):
        RateLimiter()


async def test_rate_limiter_shows_in_events(chat_server: ModelServer) -> None:
    limiter = RateLimiter(requests_per_minute=600, burst_seconds=0.01)  # 1 at once, 10/s
    model = model_for(chat_server, runtime=ModelRuntime(limiter=limiter, breaker=None))
    chat_server.add_tool_calls(("add", {"a": 1, "b": 2})).add_text("3")
    await limiter.acquire()  # someone else just used the allowance: the run must wait

    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    result, events = await collect(Agent("a", model=model, tools=[add]))
    assert result.output == "3"
    throttled = of(events, "model_throttled")
    assert throttled and throttled[0].waited > 0
    assert throttled[0].model == "openai-chat:gpt-4o-mini"


def test_request_key_normalizes() -> None:
    def req(text: str, **settings: Any) -> ModelRequest:
        return ModelRequest(
            messages=[Message.user(text)],
            settings=ModelSettings(**settings),
            tools=[ToolSpec("t", "d", {"type": "object"})],
        )

    assert request_key("m", req("hi")) == request_key("m", req("hi", timeout=5))
    assert request_key("m", req("hi")) != request_key("m", req("hi", temperature=0.5))
    assert request_key("m", req("hi")) != request_key("m", req("ho"))
    assert request_key("m", req("hi")) != request_key("n", req("hi"))


@pytest.mark.parametrize("stream", [False, True])
async def test_memory_cache_serves_repeats(chat_server: ModelServer, stream: bool) -> None:
    cache = MemoryResponseCache()
    agent = Agent("a", model=model_for(chat_server, runtime=ModelRuntime(cache=cache)))
    chat_server.add(Turn(text="cached answer", input_tokens=1000))
    first, events = await collect(agent) if stream else (await agent.run("hi"), [])
    second, events = await collect(agent)
    assert first.output == second.output == "cached answer"
    assert len(chat_server.requests) == 1
    [hit] = of(events, "model_cache_hit")
    assert hit.model == "openai-chat:gpt-4o-mini" and len(hit.key) == 64
    assert second.usage.cost == 0 and second.usage.input_tokens == 0
    assert "".join(e.delta for e in of(events, "text_delta")) == "cached answer"


async def test_sqlite_cache_persists(chat_server: ModelServer, tmp_path: Path) -> None:
    path = tmp_path / "cache" / "responses.db"
    chat_server.add_text("from disk")
    cache = SQLiteResponseCache(path)
    await Agent("a", model=model_for(chat_server, runtime=ModelRuntime(cache=cache))).run("q")
    cache.close()
    reopened = SQLiteResponseCache(path)
    agent = Agent("a", model=model_for(chat_server, runtime=ModelRuntime(cache=reopened)))
    result, events = await collect(agent, "q")
    reopened.close()
    assert result.output == "from disk" and len(of(events, "model_cache_hit")) == 1
    assert len(chat_server.requests) == 1


async def test_cache_keeps_failures_out(chat_server: ModelServer) -> None:
    cache = MemoryResponseCache(max_entries=1)
    runtime = ModelRuntime(retry=RetryPolicy(max_attempts=1), breaker=None, cache=cache)
    agent = Agent("a", model=model_for(chat_server, runtime=runtime))
    chat_server.add(HTTPError(500), Turn(text="real"))
    with pytest.raises(ModelProviderError):
        await agent.run("x")
    assert (await agent.run("x")).output == "real"


@pytest.mark.parametrize("stream", [False, True])
async def test_fallback_moves_on_after_retries(
    chat_server: ModelServer, anthropic_server: ModelServer, stream: bool
) -> None:
    chat_server.add(*[HTTPError(503)] * 3)
    anthropic_server.add_text("from the fallback")
    model = FallbackModel(model_for(chat_server), model_for(anthropic_server, "anthropic"))
    agent = Agent("a", model=model)
    if stream:
        result, events = await collect(agent)
        assert len(of(events, "model_retry")) == 2
        [moved] = of(events, "model_fallback")
        assert moved.from_model == "openai-chat:gpt-4o-mini"
        assert moved.to_model == "anthropic:claude-haiku-4-5"
    else:
        result = await agent.run("hi")
    assert result.output == "from the fallback"
    assert model.prices_known and model.name == "openai-chat:gpt-4o-mini"


async def test_fallback_never_after_output_was_streamed(
    chat_server: ModelServer, anthropic_server: ModelServer
) -> None:
    chat_server.add(Truncate(Turn(text="partial answer here"), after=3))
    anthropic_server.add_text("never")
    model = FallbackModel(model_for(chat_server), model_for(anthropic_server, "anthropic"))
    result, events = await collect(Agent("a", model=model))
    assert result.state == "failed" and of(events, "model_fallback") == []
    assert anthropic_server.requests == []


async def test_fallback_on_open_circuit(anthropic_server: ModelServer) -> None:
    breaker = CircuitBreaker("down", failure_threshold=1, cooldown=60)
    breaker.failure(ModelProviderError("down", status=500))
    primary = ResilientModel(FakeModel(), breaker=breaker)
    model = FallbackModel(primary, model_for(anthropic_server, "anthropic"))
    anthropic_server.add_text("fallback")
    result, events = await collect(Agent("a", model=model))
    assert result.output == "fallback"
    assert "circuit open" in of(events, "model_fallback")[0].error


async def test_resilient_model_bounds_models_without_their_own_timeout() -> None:
    async def slow(messages: list[Message], info: Any) -> Any:
        await asyncio.sleep(1)

    from tether.models import FunctionModel

    model = ResilientModel(
        FunctionModel(slow), retry=RetryPolicy(max_attempts=2, initial_delay=0.001)
    )
    seen: list[Event] = []
    request = ModelRequest(
        messages=[Message.user("x")], settings=ModelSettings(timeout=0.05), observer=seen.append
    )
    with pytest.raises(ModelProviderError, match="timed out"):
        await model.request(request)
    assert len(of(seen, "model_retry")) == 1


def test_fallback_needs_two_models() -> None:
    with pytest.raises(UserError):
        FallbackModel(FakeModel())


async def test_cancelled_trial_call_frees_the_half_open_circuit() -> None:
    from tether.models import FunctionModel

    async def hang(messages: list[Message], info: Any) -> Any:
        await asyncio.sleep(10)

    breaker = CircuitBreaker("hang", failure_threshold=1, cooldown=0.0)
    breaker.failure(ModelProviderError("down", status=500))
    model = ResilientModel(FunctionModel(hang), breaker=breaker)
    call = asyncio.ensure_future(model.request(ModelRequest(messages=[Message.user("x")])))
    await asyncio.sleep(0.01)
    assert breaker.state == "half_open"
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert breaker.before() is None  # the next call may be the trial


def test_rate_limiter_serves_several_event_loops() -> None:
    limiter = RateLimiter(requests_per_minute=6000, burst_seconds=0.01)  # 1 at once, 100/s

    async def two_at_once() -> None:
        await asyncio.gather(limiter.acquire(), limiter.acquire())

    asyncio.run(two_at_once())
    asyncio.run(two_at_once())  # a new loop: the limiter still works
