"""Shared helpers of the provider tests: the provider table, a fast runtime, model_for."""

from __future__ import annotations

from typing import Any

from servers import AnthropicServer, ChatCompletionsServer, ModelServer, ResponsesServer

from tether.models.base import Model
from tether.models.resilience import ModelRuntime, RetryPolicy
from tether.models.resolve import resolve_model

#: Prefix -> (server class, a model name the price table knows).
PROVIDERS: dict[str, tuple[type[ModelServer], str]] = {
    "openai-chat": (ChatCompletionsServer, "gpt-4o-mini"),
    "openai": (ResponsesServer, "gpt-4o-mini"),
    "anthropic": (AnthropicServer, "claude-haiku-4-5"),
}

#: Retries without waiting, no shared breaker: what fault tests start from.
FAST = ModelRuntime(retry=RetryPolicy(initial_delay=0.001, max_delay=0.005), breaker=None)


def model_for(
    server: ModelServer,
    prefix: str = "openai-chat",
    name: str | None = None,
    runtime: ModelRuntime | None = FAST,
    **kw: Any,
) -> Model:
    """A model of ``prefix`` talking to ``server``."""
    name = name or PROVIDERS[prefix][1]
    return resolve_model(
        f"{prefix}:{name}", api_key="test-key", base_url=server.base_url, runtime=runtime, **kw
    )
