"""Prices you give (Agent, resolve_model, config.toml) make max_cost enforceable for local and
self-hosted models; Anthropic cache writes are priced at their own rate; warnings once."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path

import pytest
from servers import Raw, Turn
from servers._base import ModelServer

from tether import Agent
from tether.errors import BudgetExceeded, UserError
from tether.messages import Message
from tether.models.base import ModelRequest
from tether.models.pricing import ModelPrice, Pricer, as_price, pricer_for
from tether.models.resolve import resolve_model
from tether.usage import Usage


def write_config(text: str) -> None:
    path = Path(os.environ["HOME"]) / ".tether" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def cost_of(spec: str, **kw: object) -> float | None:
    """One request's cost (resolving, and so reading config.toml, off any event loop)."""
    model = resolve_model(spec, runtime=None, **kw)  # type: ignore[arg-type]
    _ = model.pricer  # type: ignore[attr-defined]  # the look-up reads files: here, not on a loop
    return asyncio.run(model.request(ModelRequest([Message.user("hi")]))).usage.cost


def test_a_price_on_the_agent_makes_max_cost_enforceable(
    chat_server: ModelServer, caplog: pytest.LogCaptureFixture
) -> None:
    chat_server.add(Turn(text="hi", input_tokens=1000, output_tokens=500))
    agent = Agent(
        "local",
        model="vllm:llama-3.1-8b",
        base_url=chat_server.base_url,
        price=ModelPrice(input=2.0, output=10.0),
        max_cost=1.0,
    )
    with caplog.at_level(logging.WARNING, logger="tether.models.pricing"):
        result = agent.run_sync("hi")
    assert result.usage.cost == pytest.approx(1000 * 2e-6 + 500 * 10e-6)
    assert "no price known" not in caplog.text


def test_without_a_price_max_cost_is_refused_and_names_the_fix(chat_server: ModelServer) -> None:
    agent = Agent("local", model="vllm:llama", base_url=chat_server.base_url, max_cost=1.0)
    with pytest.raises(UserError, match=r"price=0 for a free local model"):
        agent.run_sync("hi")
    assert chat_server.requests == []  # refused before any call


def test_the_limit_trips_on_a_given_price(chat_server: ModelServer) -> None:
    for _ in range(3):
        chat_server.add(Turn(tool_calls=[("ping", {})], input_tokens=1_000_000, output_tokens=0))

    def ping() -> str:
        """Ping."""
        return "pong"

    agent = Agent(
        "local",
        model="vllm:llama",
        base_url=chat_server.base_url,
        tools=[ping],
        price={"input": 1.0, "output": 1.0},  # $1 a call
        max_cost=1.5,
    )
    with pytest.raises(BudgetExceeded):
        agent.run_sync("go")
    assert len(chat_server.requests) == 2


def test_price_zero_is_free(chat_server: ModelServer) -> None:
    chat_server.add_text("free")
    agent = Agent(
        "local", model="vllm:llama", base_url=chat_server.base_url, price=0, max_cost=0.01
    )
    result = agent.run_sync("hi")
    assert result.output == "free" and result.usage.cost == 0.0
    assert agent.price == ModelPrice(0.0, 0.0)


def test_config_prices_by_model_and_by_provider(
    chat_server: ModelServer, caplog: pytest.LogCaptureFixture
) -> None:
    write_config(
        '[prices]\n"vllm:big" = { input = 3.0, output = 4.0 }\n'
        f'[providers.lmstudio]\nbase_url = "{chat_server.base_url}"\nprice = 0\n'
        f'[providers.vllm]\nbase_url = "{chat_server.base_url}"\n'
    )
    chat_server.add(Turn(text="a", input_tokens=100, output_tokens=10)).add_text("b").add_text("c")
    with caplog.at_level(logging.WARNING, logger="tether.models.pricing"):
        assert cost_of("vllm:big") == pytest.approx(100 * 3e-6 + 10 * 4e-6)
        assert cost_of("lmstudio:any-model") == 0.0
        # The price given in code wins over the file.
        assert cost_of("vllm:big", price=0) == 0.0
    assert "no price known" not in caplog.text


def test_an_unpriced_model_warns_once_per_model(
    chat_server: ModelServer, caplog: pytest.LogCaptureFixture
) -> None:
    chat_server.add_text("a").add_text("b")
    name = f"unpriced-{id(caplog)}"
    with caplog.at_level(logging.WARNING, logger="tether.models.pricing"):
        assert cost_of(f"vllm:{name}", base_url=chat_server.base_url) is None
        assert cost_of(f"vllm:{name}", base_url=chat_server.base_url) is None
    assert caplog.text.count("no price known") == 1


def test_a_broken_price_is_a_clear_error() -> None:
    with pytest.raises(UserError, match="not a price"):
        Agent("a", model="test", price=5)
    with pytest.raises(UserError, match="not a price"):
        as_price({"input": 1.0})
    with pytest.raises(UserError, match="not a price"):
        as_price({"input": 1.0, "output": 1.0, "currency": "EUR"})
    with pytest.raises(UserError, match=r"ModelPrice.output must be a number >= 0"):
        ModelPrice(1.0, -1.0)
    write_config('[prices]\n"vllm:x" = "cheap"\n')
    model = resolve_model("vllm:x", base_url="http://127.0.0.1:9/v1", runtime=None)
    with pytest.raises(UserError, match=r'\[prices\] "vllm:x"'):
        _ = model.pricer  # type: ignore[attr-defined]


def test_cache_reads_and_writes_have_their_own_rates() -> None:
    given = Pricer.given("x", "m", ModelPrice(1.0, 2.0, cached_input=0.1, cache_write=1.25))
    usage = Usage(requests=1, input_tokens=1000, output_tokens=10, cached_tokens=100)
    assert given.cost(usage, cache_write_tokens=400) == pytest.approx(
        (500 * 1.0 + 100 * 0.1 + 400 * 1.25 + 10 * 2.0) / 1e6
    )
    table = pricer_for("anthropic", "claude-haiku-4-5")
    assert table.cache_write_rate is not None and table.cache_write_rate > table.input_rate


def test_anthropic_cache_writes_are_priced_at_the_cache_write_rate(
    anthropic_server: ModelServer,
) -> None:
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5",
        "content": [{"type": "text", "text": "cached"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 500,
            "cache_read_input_tokens": 100,
            "cache_creation_input_tokens": 400,
            "output_tokens": 10,
        },
    }
    anthropic_server.add(Raw(200, json.dumps(message).encode()))
    cost = cost_of("anthropic:claude-haiku-4-5", base_url=anthropic_server.base_url, api_key="k")
    table = pricer_for("anthropic", "claude-haiku-4-5")
    assert table.cache_rate is not None and table.cache_write_rate is not None
    expected = (
        500 * table.input_rate
        + 100 * table.cache_rate
        + 400 * table.cache_write_rate
        + 10 * table.output_rate
    )
    assert cost == pytest.approx(expected)
    assert cost != pytest.approx(expected - 400 * (table.cache_write_rate - table.input_rate))


def test_openrouter_prices_a_bare_vendor_model_at_its_vendors_price() -> None:
    """OpenRouter lists models as ``vendor/model`` and bills the vendor's price: a bare name
    (``claude-sonnet-4``, the default routing of bare names) is priced as the vendor's model."""
    from tether.models.pricing import pricer_for

    bare = pricer_for("openrouter", "claude-sonnet-4")
    vendor = pricer_for("anthropic", "claude-sonnet-4")
    assert bare.known and vendor.known
    assert (bare.input_rate, bare.output_rate) == (vendor.input_rate, vendor.output_rate)
    assert pricer_for("openrouter", "no-such-model-anywhere").known is False
    assert pricer_for("openai", "claude-sonnet-4").known is False  # only pass-through routers
