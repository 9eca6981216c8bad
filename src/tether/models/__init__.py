"""Models: the Model protocol, test models, and (lazily) the real providers."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for type checkers; every name loads on first use (the table below)
    from ._http import aclose_clients as aclose_clients
    from .anthropic import AnthropicModel as AnthropicModel
    from .base import Model as Model
    from .base import ModelRequest as ModelRequest
    from .base import ModelResponse as ModelResponse
    from .base import ModelSettings as ModelSettings
    from .base import OutputSpec as OutputSpec
    from .base import ReasoningDelta as ReasoningDelta
    from .base import TextDelta as TextDelta
    from .base import ToolCallDelta as ToolCallDelta
    from .base import ToolSpec as ToolSpec
    from .breaker import CircuitBreaker as CircuitBreaker
    from .cache import MemoryResponseCache as MemoryResponseCache
    from .cache import SQLiteResponseCache as SQLiteResponseCache
    from .fallback import FallbackModel as FallbackModel
    from .hedging import CoalescingModel as CoalescingModel
    from .hedging import HedgedModel as HedgedModel
    from .limiter import RateLimiter as RateLimiter
    from .openai_chat import OpenAIChatModel as OpenAIChatModel
    from .openai_responses import OpenAIResponsesModel as OpenAIResponsesModel
    from .pricing import ModelPrice as ModelPrice
    from .resilience import ModelRuntime as ModelRuntime
    from .resilience import ResilientModel as ResilientModel
    from .resolve import available_model as available_model
    from .resolve import resolve_model as resolve_model
    from .retry import RetryPolicy as RetryPolicy
    from .testing import AgentInfo as AgentInfo
    from .testing import FakeModel as FakeModel
    from .testing import FunctionModel as FunctionModel
    from .testing import TestModel as TestModel

# Every public name once: the protocol, the test models, the providers and the runtime load on
# first use, so ``import tether`` and ``from tether import Agent`` stay light.
_LAZY = {
    "AnthropicModel": ".anthropic",
    "Model": ".base",
    "ModelRequest": ".base",
    "ModelResponse": ".base",
    "ModelSettings": ".base",
    "OutputSpec": ".base",
    "ReasoningDelta": ".base",
    "TextDelta": ".base",
    "ToolCallDelta": ".base",
    "ToolSpec": ".base",
    "CircuitBreaker": ".breaker",
    "MemoryResponseCache": ".cache",
    "SQLiteResponseCache": ".cache",
    "FallbackModel": ".fallback",
    "CoalescingModel": ".hedging",
    "HedgedModel": ".hedging",
    "aclose_clients": "._http",
    "RateLimiter": ".limiter",
    "OpenAIChatModel": ".openai_chat",
    "OpenAIResponsesModel": ".openai_responses",
    "ModelPrice": ".pricing",
    "ModelRuntime": ".resilience",
    "ResilientModel": ".resilience",
    "available_model": ".resolve",
    "resolve_model": ".resolve",
    "RetryPolicy": ".retry",
    "AgentInfo": ".testing",
    "FakeModel": ".testing",
    "FunctionModel": ".testing",
    "TestModel": ".testing",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tether.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
