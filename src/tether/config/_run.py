"""RunConfig: settings for one run; RunnerConfig: the defaults a Runner gives its runs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal, get_args

from ..errors import UserError
from ..models.base import ModelSettings

if TYPE_CHECKING:
    from ..guardrails import InputGuardrail, OutputGuardrail
    from ..messages import Message
    from ..models.base import Model
    from ..policies.base import Policy

InteractionMode = Literal["headless", "interactive"]
FailureAction = Literal[
    "fail_run", "retry_then_fail", "retry_then_degrade", "continue_with_error", "skip_action"
]
#: The parts of a run a failure policy is set for.
Component = Literal["model", "tool", "subagent", "approval_denied"]
#: What to do about one failure: try again, fail the run, go on with the error, or skip.
FailureDecision = Literal["retry", "fail", "continue", "skip"]
_ACTIONS: tuple[str, ...] = get_args(FailureAction)


@dataclass(frozen=True, kw_only=True)
class FailSafeConfig:
    """What a run does when a component fails.

    - ``model``: a model call that failed after the model runtime's own retries (default
      ``fail_run``). ``retry_then_*`` asks again (not after a stream showed text);
      ``*_degrade`` / ``continue_with_error`` / ``skip_action`` end the run ``degraded`` with the
      partial output kept.
    - ``tool`` / ``subagent``: a tool (or agent-as-tool) that raised (default
      ``continue_with_error``: the model is told and the run ends ``degraded`` if it finishes).
      ``retry_then_*`` runs it again; ``fail_run`` fails the run with the tool's error;
      ``skip_action`` tells the model the call was skipped.
    - ``approval_denied``: a rejected call (default ``continue_with_error``: the reason goes to
      the model); ``fail_run`` raises ApprovalDenied; ``skip_action`` says it was skipped.
    - ``max_retries``: how often ``retry_then_*`` tries again.
    """

    model: FailureAction = "fail_run"
    tool: FailureAction = "continue_with_error"
    subagent: FailureAction = "continue_with_error"
    approval_denied: FailureAction = "continue_with_error"
    max_retries: int = 2

    def __post_init__(self) -> None:
        for name in get_args(Component):
            if getattr(self, name) not in _ACTIONS:
                raise UserError(
                    f"FailSafeConfig.{name} must be one of {', '.join(_ACTIONS)}, "
                    f"got {getattr(self, name)!r}"
                )
        if self.max_retries < 0:
            raise UserError(f"FailSafeConfig.max_retries must be >= 0, got {self.max_retries}")

    def decide(
        self, component: Component, attempt: int = 0, *, retryable: bool = True
    ) -> FailureDecision:
        """What to do about a failure of ``component`` on its ``attempt``-th retry (0: the first
        try failed): ``retry`` while a ``retry_then_*`` action has retries left (and the failure
        can be retried at all: not a stream that showed text, never a denial); then ``fail``
        for ``fail_run``/``retry_then_fail``, ``skip`` for ``skip_action``, else ``continue``.
        The one place the actions are read: the model turn and the tool phase ask it."""
        action: FailureAction = getattr(self, component)
        if retryable and action.startswith("retry") and attempt < self.max_retries:
            return "retry"
        if action in ("fail_run", "retry_then_fail"):
            return "fail"
        return "skip" if action == "skip_action" else "continue"


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """Per-run settings. Every field left ``None`` falls back to the agent, then the Runner.

    - ``model`` / ``model_settings``: override the agent's model, or merge over its settings.
    - ``max_turns`` / ``max_cost``: override the agent's limits.
    - ``timeout``: seconds the whole run may take; past it the run ends ``interrupted``.
    - ``interaction_mode``: ``"headless"`` ends a run that needs an approval in
      ``awaiting_approval``; ``"interactive"`` waits for ``handle.approve()``.
    - ``tool_output_max_chars``: longer tool output is cut, saying so to the model.
    - ``sanitize_tool_output``: tool output is sanitized before the model reads it (escapes,
      control characters, chat-template tokens, role headers) unless this is ``False``.
    - ``max_concurrency``: tool calls of one turn run at most this many at once.
    - ``max_tool_calls``: tool calls the whole run may make (RunLimitExceeded past it).
    - ``max_subagent_depth``: how deep agents-as-tools may nest (default 5); a deeper call
      fails and the model is told so.
    - ``policy``: how the agent proceeds (overrides ``Agent(policy=...)``); see docs/policies.md.
    - ``lenient_output``: when output retries run out, accept the last output a validator
      rejected and end the run ``degraded`` instead of failing it.
    - ``model_runtime``: a :class:`~tether.models.resilience.ModelRuntime` (retries, breaker,
      rate limiter, cache) for models given as strings; see docs/models.md.
    - ``durability``: a ``tether.durable`` engine (``DBOSDurability()``,
      ``TemporalDurability([...])``): the run is handed to it, to run inside the current
      workflow with each model and tool call a step; see docs/durable-engines.md.
    """

    model: str | Model | None = None
    model_settings: ModelSettings | None = None
    model_runtime: Any = None
    #: Turns a model name into a Model (instead of tether's resolver), e.g. a custom gateway.
    model_provider: Callable[[str], Model] | None = None
    #: Edits the transcript a handoff target sees, for handoffs without a filter of their own.
    handoff_input_filter: Callable[[list[Message]], list[Message]] | None = None
    max_turns: int | None = None
    max_cost: float | None = None
    timeout: float | None = None
    interaction_mode: InteractionMode | None = None
    approval_timeout: float | None = None
    input_guardrails: Sequence[InputGuardrail] = ()
    output_guardrails: Sequence[OutputGuardrail] = ()
    max_tool_calls: int | None = None
    max_subagent_depth: int | None = None
    lenient_output: bool | None = None
    fail_safe: FailSafeConfig | None = None
    policy: Policy | None = None
    tool_output_max_chars: int | None = None
    sanitize_tool_output: bool | None = None
    max_concurrency: int | None = None
    tracing_disabled: bool | None = None
    trace_include_sensitive_data: bool | None = None
    workflow_name: str | None = None
    trace_id: str | None = None
    group_id: str | None = None
    trace_metadata: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    durability: Any = None

    def __post_init__(self) -> None:
        for name in ("max_turns", "max_concurrency", "tool_output_max_chars", "max_tool_calls"):
            value = getattr(self, name)
            least = 0 if name == "max_tool_calls" else 1  # 0: no tool call at all
            if value is not None and (not isinstance(value, int) or value < least):
                kind = "non-negative" if least == 0 else "positive"
                raise UserError(f"RunConfig.{name} must be a {kind} integer, got {value!r}")
        for name in ("max_cost", "timeout", "approval_timeout"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise UserError(f"RunConfig.{name} must be positive, got {value!r}")
        if self.interaction_mode not in (None, "headless", "interactive"):
            raise UserError(
                f"RunConfig.interaction_mode must be 'headless' or 'interactive', "
                f"got {self.interaction_mode!r}"
            )

    def over(self, base: RunConfig | None) -> RunConfig:
        """This config with every unset field taken from ``base``."""
        if base is None:
            return self
        values: dict[str, Any] = {}
        for f in fields(self):
            mine = getattr(self, f.name)
            theirs = getattr(base, f.name)
            if f.name == "model_settings":
                values[f.name] = (
                    (theirs or ModelSettings()).merge(mine) if (mine or theirs) else None
                )
            elif f.name in ("input_guardrails", "output_guardrails"):
                values[f.name] = (*theirs, *mine)
            elif f.name == "extra":
                values[f.name] = {**theirs, **mine}
            else:
                values[f.name] = theirs if mine is None else mine
        return RunConfig(**values)


class RunnerConfig(RunConfig):
    """The defaults a :class:`~tether.Runner` applies to every run it starts."""


DEFAULT_TOOL_OUTPUT_MAX_CHARS = 50_000
DEFAULT_MAX_CONCURRENCY = 8
DEFAULT_MAX_SUBAGENT_DEPTH = 5
DEFAULT_FAIL_SAFE = FailSafeConfig()
