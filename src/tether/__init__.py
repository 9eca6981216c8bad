"""tether: run LLM agents with tools, structured output and streaming, under hard limits, with
every run durable, traceable and replayable.

Everything users need is importable from here::

    from tether import Agent, Runner, Context, Retry, RunConfig
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .agent import Agent
    from .context import Context
    from .errors import (
        AgentsException,
        ApprovalDenied,
        BudgetExceeded,
        CircuitOpen,
        InputGuardrailTripwireTriggered,
        LogFormatError,
        MaxTurnsExceeded,
        ModelBehaviorError,
        ModelProviderError,
        OutputGuardrailTripwireTriggered,
        ReplayDivergence,
        Retry,
        RunCancelled,
        RunInterrupted,
        RunLimitExceeded,
        RunTimeout,
        TetherError,
        ToolTimeout,
        UserError,
    )
    from .events import Event, event_from_dict
    from .governance.approval import Approval
    from .guardrails import (
        GuardrailResult,
        InputGuardrail,
        OutputGuardrail,
        input_guardrail,
        output_guardrail,
    )
    from .handoffs import Handoff, handoff
    from .memory import (
        HistorySlidingWindow,
        HistorySummarize,
        HistoryTokenBudget,
        Memory,
        MemorySQLite,
    )
    from .messages import (
        Message,
        ReasoningPart,
        RefusalPart,
        TextPart,
        ToolCallPart,
        ToolResultPart,
    )
    from .models.base import ModelSettings
    from .results import (
        PendingApproval,
        PendingInput,
        Result,
        RunState,
        SubagentExecutionRecord,
        ToolExecutionRecord,
    )
    from .run.config import FailSafeConfig, RunConfig, RunnerConfig
    from .run.handle import RunHandle
    from .run.runner import Runner
    from .tools import Deferred, Tool, ToolOptions, tool
    from .usage import Usage

_LAZY: dict[str, str] = {
    "HistorySlidingWindow": ".memory",
    "HistorySummarize": ".memory",
    "HistoryTokenBudget": ".memory",
    "Memory": ".memory",
    "MemorySQLite": ".memory",
    "Agent": ".agent",
    "Approval": ".governance.approval",
    "Context": ".context",
    "AgentsException": ".errors",
    "ApprovalDenied": ".errors",
    "BudgetExceeded": ".errors",
    "CircuitOpen": ".errors",
    "InputGuardrailTripwireTriggered": ".errors",
    "LogFormatError": ".errors",
    "MaxTurnsExceeded": ".errors",
    "ModelBehaviorError": ".errors",
    "ModelProviderError": ".errors",
    "OutputGuardrailTripwireTriggered": ".errors",
    "ReplayDivergence": ".errors",
    "Retry": ".errors",
    "RunCancelled": ".errors",
    "RunInterrupted": ".errors",
    "RunLimitExceeded": ".errors",
    "RunTimeout": ".errors",
    "TetherError": ".errors",
    "ToolTimeout": ".errors",
    "UserError": ".errors",
    "Event": ".events",
    "event_from_dict": ".events",
    "GuardrailResult": ".guardrails",
    "InputGuardrail": ".guardrails",
    "OutputGuardrail": ".guardrails",
    "input_guardrail": ".guardrails",
    "output_guardrail": ".guardrails",
    "Handoff": ".handoffs",
    "handoff": ".handoffs",
    "Message": ".messages",
    "ReasoningPart": ".messages",
    "RefusalPart": ".messages",
    "TextPart": ".messages",
    "ToolCallPart": ".messages",
    "ToolResultPart": ".messages",
    "ModelSettings": ".models.base",
    "PendingApproval": ".results",
    "PendingInput": ".results",
    "Result": ".results",
    "RunState": ".results",
    "SubagentExecutionRecord": ".results",
    "ToolExecutionRecord": ".results",
    "FailSafeConfig": ".run.config",
    "RunConfig": ".run.config",
    "RunnerConfig": ".run.config",
    "RunHandle": ".run.handle",
    "Runner": ".run.runner",
    "Deferred": ".tools",
    "Tool": ".tools",
    "ToolOptions": ".tools",
    "tool": ".tools",
    "Usage": ".usage",
}

__version__ = "0.1.0"

__all__ = [
    "Agent",
    "AgentsException",
    "Approval",
    "ApprovalDenied",
    "BudgetExceeded",
    "CircuitOpen",
    "Context",
    "Deferred",
    "Event",
    "FailSafeConfig",
    "GuardrailResult",
    "Handoff",
    "HistorySlidingWindow",
    "HistorySummarize",
    "HistoryTokenBudget",
    "InputGuardrail",
    "InputGuardrailTripwireTriggered",
    "LogFormatError",
    "MaxTurnsExceeded",
    "Memory",
    "MemorySQLite",
    "Message",
    "ModelBehaviorError",
    "ModelProviderError",
    "ModelSettings",
    "OutputGuardrail",
    "OutputGuardrailTripwireTriggered",
    "PendingApproval",
    "PendingInput",
    "ReasoningPart",
    "RefusalPart",
    "ReplayDivergence",
    "Result",
    "Retry",
    "RunCancelled",
    "RunConfig",
    "RunHandle",
    "RunInterrupted",
    "RunLimitExceeded",
    "RunState",
    "RunTimeout",
    "Runner",
    "RunnerConfig",
    "SubagentExecutionRecord",
    "TetherError",
    "TextPart",
    "Tool",
    "ToolCallPart",
    "ToolExecutionRecord",
    "ToolOptions",
    "ToolResultPart",
    "ToolTimeout",
    "Usage",
    "UserError",
    "__version__",
    "event_from_dict",
    "handoff",
    "input_guardrail",
    "output_guardrail",
    "tool",
]


def __getattr__(name: str) -> Any:
    # Public names load on first use, so `import tether` stays light (pydantic alone costs
    # ~150 ms to import on a small machine).
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tether' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
