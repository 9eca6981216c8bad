"""Model strings, keys (argument, environment, ~/.tether/config.toml) and available_model."""

from __future__ import annotations

import http.server
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tether.errors import UserError
from tether.models import FallbackModel, TestModel
from tether.models.anthropic import AnthropicModel
from tether.models.openai_chat import OpenAIChatModel
from tether.models.openai_responses import OpenAIResponsesModel
from tether.models.resilience import ModelRuntime, ResilientModel
from tether.models.resolve import available_model, resolve_model


def raw(spec: str, **kw: object) -> object:
    """Resolve without the runtime wrapper."""
    return resolve_model(spec, runtime=None, **kw)  # type: ignore[arg-type]


def test_prefixes_pick_protocol_and_base_url() -> None:
    model = raw("openai:gpt-4o", api_key="k")
    assert isinstance(model, OpenAIResponsesModel) and model.name == "openai:gpt-4o"
    assert model.base_url is None  # the SDK's default (api.openai.com)
    chat = raw("openai-chat:gpt-4o", api_key="k")
    assert isinstance(chat, OpenAIChatModel) and chat.name == "openai-chat:gpt-4o"
    claude = raw("anthropic:claude-sonnet-4-5", api_key="k")
    assert isinstance(claude, AnthropicModel)
    router = raw("openrouter:openai/gpt-4o", api_key="k")
    assert isinstance(router, OpenAIChatModel)
    assert router.base_url == "https://openrouter.ai/api/v1"
    bare = raw("meta-llama/llama-3-70b", api_key="k")
    assert isinstance(bare, OpenAIChatModel) and bare.name == "openrouter:meta-llama/llama-3-70b"
    local = raw("ollama:llama3.2:3b")
    assert isinstance(local, OpenAIChatModel) and local.model_name == "llama3.2:3b"
    assert local.base_url == "http://localhost:11434/v1" and local.prices_known
    assert isinstance(resolve_model("test"), TestModel)


def test_any_compatible_server_through_base_url() -> None:
    model = raw("vllm:Qwen/Qwen2.5-7B", base_url="http://127.0.0.1:8000/v1", api_key="x")
    assert isinstance(model, OpenAIChatModel)
    assert model.base_url == "http://127.0.0.1:8000/v1"
    assert model.model_name == "Qwen/Qwen2.5-7B"  # the name sent: the part after the prefix
    assert model.name == "vllm:Qwen/Qwen2.5-7B"
    with pytest.raises(UserError, match="unknown model provider 'vllm'"):
        resolve_model("vllm:Qwen/Qwen2.5-7B")


def test_default_runtime_wraps_and_can_be_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    wrapped = resolve_model("openai-chat:gpt-4o", api_key="k")
    assert isinstance(wrapped, ResilientModel) and wrapped.retry.max_attempts == 3
    assert wrapped.breaker is not None and wrapped.name == "openai-chat:gpt-4o"
    custom = ModelRuntime(retry=None, breaker=None)
    mine = resolve_model("openai-chat:gpt-4o", api_key="k", runtime=custom)
    assert isinstance(mine, ResilientModel) and mine.retry.max_attempts == 1
    assert mine.breaker is None
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    both = FallbackModel("openai-chat:gpt-4o", "openai:gpt-4o")
    assert [m.name for m in both.models] == ["openai-chat:gpt-4o", "openai:gpt-4o"]


def test_missing_key_names_the_variable() -> None:
    with pytest.raises(UserError, match="OPENAI_API_KEY") as caught:
        resolve_model("openai:gpt-4o")
    assert "config.toml" in str(caught.value)
    with pytest.raises(UserError, match="ANTHROPIC_API_KEY"):
        resolve_model("anthropic:claude-sonnet-4-5")
    with pytest.raises(UserError, match="OPENROUTER_API_KEY"):
        resolve_model("mistralai/mistral-large")


def test_bad_strings() -> None:
    with pytest.raises(UserError, match="empty"):
        resolve_model("  ")
    with pytest.raises(UserError, match="names no model"):
        resolve_model("openai:")
    with pytest.raises(UserError, match="transport"):
        resolve_model("openai:gpt-4o", api_key="k", transport="curl")  # type: ignore[arg-type]


def test_key_order_argument_env_config(monkeypatch: pytest.MonkeyPatch) -> None:
    config = Path(os.environ["HOME"]) / ".tether" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        '[providers.openai]\napi_key = "from-config"\nbase_url = "http://127.0.0.1:9/v1"\n'
        '[providers.anthropic]\napi_key = "claude-config"\n'
    )
    from_config = raw("openai-chat:gpt-4o")
    assert from_config._api_key == "from-config"  # type: ignore[attr-defined]
    assert from_config.base_url == "http://127.0.0.1:9/v1"  # type: ignore[attr-defined]
    assert raw("anthropic:claude-haiku-4-5")._api_key == "claude-config"  # type: ignore[attr-defined]
    monkeypatch.setenv("OPENAI_API_KEY", "from-env")
    # The configured base URL is not OpenAI's own host: it gets its own table's key, never
    # the environment's.
    to_config_url = raw("openai:gpt-4o")
    assert to_config_url._api_key == "from-config"  # type: ignore[attr-defined]
    assert to_config_url.base_url == "http://127.0.0.1:9/v1"  # type: ignore[attr-defined]
    config.write_text('[providers.openai]\napi_key = "from-config"\n')
    from_env = raw("openai:gpt-4o")
    assert from_env._api_key == "from-env" and from_env.base_url is None  # type: ignore[attr-defined]
    explicit = raw("openai:gpt-4o", api_key="given")
    assert explicit._api_key == "given" and explicit.base_url is None  # type: ignore[attr-defined]


def test_broken_config_is_a_clear_error() -> None:
    config = Path(os.environ["HOME"]) / ".tether" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("[providers.openai\napi_key=")
    with pytest.raises(UserError, match="not valid TOML"):
        resolve_model("openai:gpt-4o")


def test_available_model_prefers_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:9")  # nothing listens there
    assert available_model() is None
    monkeypatch.setenv("ANTHROPIC_API_KEY", "a")
    assert available_model() == "anthropic:claude-haiku-4-5"
    monkeypatch.setenv("OPENAI_API_KEY", "o")
    assert available_model() == "openai:gpt-4o-mini"


@pytest.fixture
def fake_ollama() -> Iterator[str]:
    """A loopback server answering Ollama's /api/tags."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"models": [{"name": "llama3.2:3b", "model": "llama3.2:3b"}]})
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_available_model_finds_ollama(monkeypatch: pytest.MonkeyPatch, fake_ollama: str) -> None:
    monkeypatch.setenv("OLLAMA_HOST", fake_ollama)
    assert available_model() == "ollama:llama3.2:3b"
    model = raw("ollama:llama3.2:3b")
    assert model.base_url == f"http://{fake_ollama}/v1"  # type: ignore[attr-defined]


def test_pricing_fast_path_matches_genai_prices() -> None:
    from genai_prices import Usage as PriceUsage
    from genai_prices import calc_price

    from tether.models.pricing import pricer_for
    from tether.usage import Usage

    usage = Usage(requests=1, input_tokens=12_345, output_tokens=678, cached_tokens=2_000)
    for provider, name in [
        ("openai", "gpt-4o-mini"),
        ("anthropic", "claude-haiku-4-5"),
        ("openrouter", "openai/gpt-4o"),
    ]:
        expected = calc_price(
            PriceUsage(input_tokens=12_345, output_tokens=678, cache_read_tokens=2_000),
            name,
            provider_id=provider,
        )
        assert pricer_for(provider, name).cost(usage) == pytest.approx(float(expected.total_price))
    assert pricer_for("free", "anything").cost(usage) == 0.0
    assert pricer_for(None, "anything").known is False


def test_import_tether_stays_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, tether, tether.models; "
        "heavy = [m for m in ('openai', 'anthropic', 'aiohttp', 'genai_prices', 'httpx2') "
        "if m in sys.modules]; print(heavy)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


def test_config_with_a_wrong_shape() -> None:
    config = Path(os.environ["HOME"]) / ".tether" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[providers]\nopenai = "sk-in-the-wrong-place"\n')
    with pytest.raises(UserError, match=r"\[providers.openai\] must be a table"):
        resolve_model("openai:gpt-4o")
