"""tether: run LLM agents with tools, structured output and streaming, under hard limits, with
every run durable, traceable and replayable.

Everything users need is importable from here::

    from tether import Agent, Runner, Context, Retry, RunConfig
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .agent import Agent as Agent
    from .config import FailSafeConfig as FailSafeConfig
    from .config import RunConfig as RunConfig
    from .config import RunnerConfig as RunnerConfig
    from .context import Context as Context
    from .errors import (
        AgentsException as AgentsException,
    )
    from .errors import (
        ApprovalDenied as ApprovalDenied,
    )
    from .errors import (
        BudgetExceeded as BudgetExceeded,
    )
    from .errors import (
        CircuitOpen as CircuitOpen,
    )
    from .errors import (
        InputGuardrailTripwireTriggered as InputGuardrailTripwireTriggered,
    )
    from .errors import (
        LogFormatError as LogFormatError,
    )
    from .errors import (
        MaxTurnsExceeded as MaxTurnsExceeded,
    )
    from .errors import (
        ModelBehaviorError as ModelBehaviorError,
    )
    from .errors import (
        ModelProviderError as ModelProviderError,
    )
    from .errors import (
        OutputGuardrailTripwireTriggered as OutputGuardrailTripwireTriggered,
    )
    from .errors import (
        ReplayDivergence as ReplayDivergence,
    )
    from .errors import (
        Retry as Retry,
    )
    from .errors import (
        RunCancelled as RunCancelled,
    )
    from .errors import (
        RunInterrupted as RunInterrupted,
    )
    from .errors import (
        RunLimitExceeded as RunLimitExceeded,
    )
    from .errors import (
        RunTimeout as RunTimeout,
    )
    from .errors import (
        TetherError as TetherError,
    )
    from .errors import (
        ToolTimeout as ToolTimeout,
    )
    from .errors import (
        UserError as UserError,
    )
    from .events import Event as Event
    from .events import event_from_dict as event_from_dict
    from .governance.approval import Approval as Approval
    from .guardrails import (
        GuardrailResult as GuardrailResult,
    )
    from .guardrails import (
        InputGuardrail as InputGuardrail,
    )
    from .guardrails import (
        OutputGuardrail as OutputGuardrail,
    )
    from .guardrails import (
        input_guardrail as input_guardrail,
    )
    from .guardrails import (
        output_guardrail as output_guardrail,
    )
    from .handoffs import Handoff as Handoff
    from .handoffs import handoff as handoff
    from .memory import (
        HistorySlidingWindow as HistorySlidingWindow,
    )
    from .memory import (
        HistorySummarize as HistorySummarize,
    )
    from .memory import (
        HistoryTokenBudget as HistoryTokenBudget,
    )
    from .memory import (
        Memory as Memory,
    )
    from .memory import (
        MemorySQLite as MemorySQLite,
    )
    from .messages import (
        Message as Message,
    )
    from .messages import (
        ReasoningPart as ReasoningPart,
    )
    from .messages import (
        RefusalPart as RefusalPart,
    )
    from .messages import (
        TextPart as TextPart,
    )
    from .messages import (
        ToolCallPart as ToolCallPart,
    )
    from .messages import (
        ToolResultPart as ToolResultPart,
    )
    from .models.base import ModelSettings as ModelSettings
    from .results import (
        PendingApproval as PendingApproval,
    )
    from .results import (
        PendingInput as PendingInput,
    )
    from .results import (
        Result as Result,
    )
    from .results import (
        RunState as RunState,
    )
    from .results import (
        SubagentExecutionRecord as SubagentExecutionRecord,
    )
    from .results import (
        ToolExecutionRecord as ToolExecutionRecord,
    )
    from .run.handle import RunHandle as RunHandle
    from .run.runner import Runner as Runner
    from .tools import Deferred as Deferred
    from .tools import Tool as Tool
    from .tools import ToolOptions as ToolOptions
    from .tools import tool as tool
    from .usage import Usage as Usage

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
    "FailSafeConfig": ".config",
    "RunConfig": ".config",
    "RunnerConfig": ".config",
    "RunHandle": ".run.handle",
    "Runner": ".run.runner",
    "Deferred": ".tools",
    "Tool": ".tools",
    "ToolOptions": ".tools",
    "tool": ".tools",
    "Usage": ".usage",
}

__version__ = "0.1.0"

#: Every public name once: the lazily loaded ones, and the version.
__all__ = sorted([*_LAZY, "__version__"])


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
