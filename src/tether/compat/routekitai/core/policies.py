"""``routekitai.core.policies``: tether's policies under routekitai's module path."""

from __future__ import annotations

from .. import (
    FunctionCallingPolicy,
    GraphPolicy,
    PlanExecutePolicy,
    ReActPolicy,
    SupervisorPolicy,
)

__all__ = [
    "FunctionCallingPolicy",
    "GraphPolicy",
    "PlanExecutePolicy",
    "ReActPolicy",
    "SupervisorPolicy",
]
