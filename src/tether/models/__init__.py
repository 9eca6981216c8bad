"""Models: the Model protocol, test models, and (lazily) the real providers."""

from __future__ import annotations

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
from .testing import AgentInfo, FakeModel, FunctionModel, TestModel

__all__ = [
    "AgentInfo",
    "FakeModel",
    "FunctionModel",
    "Model",
    "ModelRequest",
    "ModelResponse",
    "ModelSettings",
    "OutputSpec",
    "ReasoningDelta",
    "TestModel",
    "TextDelta",
    "ToolCallDelta",
    "ToolSpec",
]
