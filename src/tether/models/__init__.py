"""Models: the Model protocol, test models, and (lazily) the real providers."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .base import (
    Model,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    OutputSpec,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    ToolSpec,
)

if TYPE_CHECKING:
    from .testing import AgentInfo, FakeModel, FunctionModel, TestModel

# The test models, providers and the runtime load on first use, so ``import tether`` and
# ``from tether import Agent`` stay light.
_LAZY = {
    "AgentInfo": ".testing",
    "FakeModel": ".testing",
    "FunctionModel": ".testing",
    "TestModel": ".testing",
    "AnthropicModel": ".anthropic",
    "CircuitBreaker": ".breaker",
    "FallbackModel": ".fallback",
    "HedgedModel": ".hedging",
    "CoalescingModel": ".hedging",
    "MemoryResponseCache": ".cache",
    "ModelPrice": ".pricing",
    "ModelRuntime": ".resilience",
    "OpenAIChatModel": ".openai_chat",
    "OpenAIResponsesModel": ".openai_responses",
    "RateLimiter": ".limiter",
    "ResilientModel": ".resilience",
    "RetryPolicy": ".retry",
    "SQLiteResponseCache": ".cache",
    "aclose_clients": "._http",
    "available_model": ".resolve",
    "resolve_model": ".resolve",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tether.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "AgentInfo",
    "AnthropicModel",
    "CircuitBreaker",
    "CoalescingModel",
    "FakeModel",
    "FallbackModel",
    "FunctionModel",
    "HedgedModel",
    "MemoryResponseCache",
    "Model",
    "ModelPrice",
    "ModelRequest",
    "ModelResponse",
    "ModelRuntime",
    "ModelSettings",
    "OpenAIChatModel",
    "OpenAIResponsesModel",
    "OutputSpec",
    "RateLimiter",
    "ReasoningDelta",
    "ResilientModel",
    "RetryPolicy",
    "SQLiteResponseCache",
    "TestModel",
    "TextDelta",
    "ToolCallDelta",
    "ToolSpec",
    "aclose_clients",
    "available_model",
    "resolve_model",
]
