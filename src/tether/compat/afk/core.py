"""``afk.core`` under tether: afk's :class:`~tether.compat.afk.Runner` and its configuration."""

from __future__ import annotations

from . import (
    AgentResult,
    FailSafeConfig,
    PolicyEngine,
    PolicyRule,
    PolicyVerdict,
    RunHandle,
    Runner,
    RunnerConfig,
    SubagentExecutionRecord,
    ToolExecutionRecord,
    UsageAggregate,
)

__all__ = [
    "AgentResult",
    "FailSafeConfig",
    "PolicyEngine",
    "PolicyRule",
    "PolicyVerdict",
    "RunHandle",
    "Runner",
    "RunnerConfig",
    "SubagentExecutionRecord",
    "ToolExecutionRecord",
    "UsageAggregate",
]
