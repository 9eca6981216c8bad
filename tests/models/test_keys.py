"""A key goes only to its own provider; keyless local servers work; rotation; name hints.

Every test talks to a real loopback server and reads the headers it received.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from servers import ModelServer

from tether import Agent
from tether.errors import ModelProviderError, UserError
from tether.messages import Message
from tether.models.base import ModelRequest
from tether.models.keys import MissingKeyError
from tether.models.resolve import resolve_model

ENV_SECRET = "sk-env-secret-never-sent"


def write_config(text: str) -> None:
    path = Path(os.environ["HOME"]) / ".tether" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def auth_of(server: ModelServer) -> list[str | None]:
    """The credentials each request carried (Authorization or x-api-key)."""
    return [r.headers.get("authorization") or r.headers.get("x-api-key") for r in server.requests]


def ask(spec: str, **kw: object) -> str:
    """Resolve (reading config.toml: off any event loop), then one request on a fresh loop."""
    model = resolve_model(spec, runtime=None, **kw)  # type: ignore[arg-type]
    return asyncio.run(model.request(ModelRequest([Message.user("hi")]))).text


def test_a_custom_base_url_never_gets_the_environments_key(
    chat_server: ModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", ENV_SECRET)
    chat_server.add_text("one").add_text("two")
    assert ask("vllm:llama-3.1-8b", base_url=chat_server.base_url) == "one"
    assert ask("openai-chat:gpt-4o-mini", base_url=chat_server.base_url) == "two"
    assert auth_of(chat_server) == [None, None]  # no key at all: a keyless server is fine
    assert chat_server.requests[0].body["model"] == "llama-3.1-8b"  # the part after the prefix
    assert all(ENV_SECRET not in str(r.headers) for r in chat_server.requests)


def test_an_explicit_key_goes_to_the_custom_url(
    chat_server: ModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", ENV_SECRET)
    chat_server.add_text("ok")
    assert ask("vllm:llama", base_url=chat_server.base_url, api_key="box-key") == "ok"
    assert auth_of(chat_server) == ["Bearer box-key"]


def test_the_config_key_of_that_base_url(
    chat_server: ModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", ENV_SECRET)
    write_config(
        f'[providers.gpu]\nbase_url = "{chat_server.base_url}/"\napi_key = "gpu-key"\n'
        f'[providers.openai]\nbase_url = "{chat_server.base_url}"\n'
    )
    chat_server.add_text("a").add_text("b").add_text("c")
    assert ask("gpu:qwen") == "a"  # the prefix's table gives base_url and key
    assert ask("vllm:qwen", base_url=chat_server.base_url) == "b"  # matched by URL
    # [providers.openai] points at a custom URL with no key of its own: the env key stays home
    assert ask("openai-chat:gpt-4o-mini") == "c"
    assert auth_of(chat_server) == ["Bearer gpu-key", "Bearer gpu-key", "Bearer gpu-key"]


def test_config_for_a_custom_url_with_no_key_sends_none(
    chat_server: ModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", ENV_SECRET)
    write_config(f'[providers.openai]\nbase_url = "{chat_server.base_url}"\n')
    chat_server.add_text("x")
    assert ask("openai-chat:gpt-4o-mini") == "x"
    assert auth_of(chat_server) == [None]


def test_anthropic_sdk_does_not_fall_back_to_the_environment(
    anthropic_server: ModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", ENV_SECRET)
    anthropic_server.add_text("hello")
    assert ask("anthropic:claude-haiku-4-5", base_url=anthropic_server.base_url) == "hello"
    assert auth_of(anthropic_server) == [None]
    assert all(ENV_SECRET not in str(r.headers) for r in anthropic_server.requests)


async def test_the_environment_key_goes_to_its_own_provider_and_rotation_is_seen(
    chat_server: ModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # OPENAI_BASE_URL is the user's own environment: the key and the URL both come from it.
    monkeypatch.setenv("OPENAI_BASE_URL", chat_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-first")
    agent = Agent("rot", model="openai-chat:gpt-4o-mini")
    chat_server.add_text("1").add_text("2")
    assert (await agent.run("hi")).output == "1"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-rotated")
    assert (await agent.run("hi")).output == "2"
    assert auth_of(chat_server) == ["Bearer sk-first", "Bearer sk-rotated"]


def test_a_custom_prefix_without_any_base_url_is_a_user_error() -> None:
    with pytest.raises(UserError, match=r"\[providers.vllm\]"):
        resolve_model("vllm:llama")


@pytest.mark.parametrize(
    ("spec", "suggestion"),
    [
        ("gpt-4o", "'openai:gpt-4o'"),
        ("o3-mini", "'openai:o3-mini'"),
        ("openai/gpt-4o", "'openai:gpt-4o'"),
        ("claude-sonnet-4-5", "'anthropic:claude-sonnet-4-5'"),
        ("anthropic/claude-haiku-4-5", "'anthropic:claude-haiku-4-5'"),
        ("meta-llama/llama-3-70b", None),
    ],
)
def test_a_bare_name_without_a_key_says_openrouter_and_suggests_a_prefix(
    spec: str, suggestion: str | None
) -> None:
    with pytest.raises(MissingKeyError) as caught:
        resolve_model(spec)
    message = str(caught.value)
    assert "OPENROUTER_API_KEY" in message and "goes to OpenRouter" in message
    if suggestion is None:
        assert "openai:" not in message and "anthropic:" not in message
    else:
        assert suggestion in message


def test_a_prefixed_name_without_a_key_has_no_openrouter_hint() -> None:
    with pytest.raises(MissingKeyError) as caught:
        resolve_model("openai:gpt-4o")
    assert "OpenRouter" not in str(caught.value)


@pytest.mark.parametrize("stream", [False, True])
async def test_responses_against_a_chat_only_server_hints_openai_chat(
    chat_server: ModelServer, stream: bool
) -> None:
    model = resolve_model("openai:llama", base_url=chat_server.base_url, api_key="k", runtime=None)
    request = ModelRequest([Message.user("hi")])

    async def call() -> None:
        if stream:
            async for _ in model.stream(request):
                pass
        else:
            await model.request(request)

    with pytest.raises(ModelProviderError) as caught:
        await call()
    error = caught.value
    assert error.status == 404 and not error.retryable
    assert "'openai-chat:llama'" in str(error) and "no Responses API" in str(error)
    assert str(error).endswith("(HTTP 404)")
