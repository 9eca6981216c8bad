"""tether: run LLM agents with tools, structured output and streaming, under hard limits, with
every run durable, traceable and replayable.

Everything users need is importable from here::

    from tether import Agent, Runner, Context, Retry, RunConfig
"""

from __future__ import annotations

from .agent import Agent
from .context import Context
from .errors import (
    AgentsException,
    ApprovalDenied,
    BudgetExceeded,
    CircuitOpen,
    InputGuardrailTripwireTriggered,
    MaxTurnsExceeded,
    ModelBehaviorError,
    ModelProviderError,
    OutputGuardrailTripwireTriggered,
    ReplayDivergence,
    Retry,
    RunCancelled,
    RunInterrupted,
    TetherError,
    ToolTimeout,
    UserError,
)
from .events import Event, event_from_dict
from .guardrails import (
    GuardrailResult,
    InputGuardrail,
    OutputGuardrail,
    input_guardrail,
    output_guardrail,
)
from .handoffs import Handoff, handoff
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
    Result,
    RunState,
    SubagentExecutionRecord,
    ToolExecutionRecord,
)
from .run.config import RunConfig, RunnerConfig
from .run.handle import RunHandle
from .run.runner import Runner
from .tools import Tool, tool
from .usage import Usage

__version__ = "0.1.0"

__all__ = [
    "Agent",
    "AgentsException",
    "ApprovalDenied",
    "BudgetExceeded",
    "CircuitOpen",
    "Context",
    "Event",
    "GuardrailResult",
    "Handoff",
    "InputGuardrail",
    "InputGuardrailTripwireTriggered",
    "MaxTurnsExceeded",
    "Message",
    "ModelBehaviorError",
    "ModelProviderError",
    "ModelSettings",
    "OutputGuardrail",
    "OutputGuardrailTripwireTriggered",
    "PendingApproval",
    "ReasoningPart",
    "RefusalPart",
    "ReplayDivergence",
    "Result",
    "Retry",
    "RunCancelled",
    "RunConfig",
    "RunHandle",
    "RunInterrupted",
    "RunState",
    "Runner",
    "RunnerConfig",
    "SubagentExecutionRecord",
    "TetherError",
    "TextPart",
    "Tool",
    "ToolCallPart",
    "ToolExecutionRecord",
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
