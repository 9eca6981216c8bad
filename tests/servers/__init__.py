"""Loopback servers that speak the model providers' wire protocols, for tests and benchmarks."""

from ._base import (
    CutBody,
    Delay,
    Events,
    HTTPError,
    ModelServer,
    Raw,
    RecordedRequest,
    Reset,
    Truncate,
    Turn,
)
from .anthropic import AnthropicServer
from .openai_chat import ChatCompletionsServer, add_tool_responder
from .openai_responses import ResponsesServer

__all__ = [
    "AnthropicServer",
    "ChatCompletionsServer",
    "CutBody",
    "Delay",
    "Events",
    "HTTPError",
    "ModelServer",
    "Raw",
    "RecordedRequest",
    "Reset",
    "ResponsesServer",
    "Truncate",
    "Turn",
    "add_tool_responder",
]
