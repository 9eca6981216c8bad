"""Policies: how an agent proceeds (ReAct, strict function calling, plan-then-execute,
supervisor of workers, graph workflows), all driven by the one loop."""

from __future__ import annotations

from .base import Policy
from .function_calling import FunctionCallingPolicy
from .graph import END, Graph, GraphPolicy
from .plan_execute import PlanExecutePolicy
from .react import ReActPolicy
from .supervisor import SupervisorPolicy

__all__ = [
    "END",
    "FunctionCallingPolicy",
    "Graph",
    "GraphPolicy",
    "PlanExecutePolicy",
    "Policy",
    "ReActPolicy",
    "SupervisorPolicy",
]
