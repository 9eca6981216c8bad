"""The OpenAI Agents SDK's API on tether: ``from tether.compat.openai_agents import Agent, Runner``.

- ``Runner.run(agent, input)`` (async), ``Runner.run_sync`` and ``Runner.run_streamed(...)``
  whose ``stream_events()`` yields ``raw_response_event`` / ``run_item_stream_event`` /
  ``agent_updated_stream_event`` objects, are class methods, as in the SDK; they return the
  SDK's :class:`RunResult` / :class:`RunResultStreaming` (``last_agent``, ``new_items``,
  ``raw_responses``, ``final_output_as``, ``to_input_list()``; a streamed run's ``cancel()``);
- ``Agent`` takes the SDK's ``output_type=`` and ``handoff_description=``;
- model names are OpenAI's (``"gpt-4.1"``), served by the Responses API through the default
  :class:`OpenAIProvider`; an agent without a model uses :func:`get_default_model`
  (``OPENAI_DEFAULT_MODEL``, else ``gpt-4.1``). ``RunConfig(model_provider=...)`` takes any
  object with ``get_model(name)``;
- ``with trace(workflow_name, group_id=...)`` gives the runs inside it one trace id, workflow
  name and group (session) id; traces are written as JSONL under ``.tether/traces/``;
- the exceptions are tether's, under the SDK's names (``AgentsException`` is ``TetherError``).
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import model_validator

from ...agent import Agent as _TetherAgent
from ...config import RunConfig
from ...context import Context
from ...errors import (
    AgentsException,
    InputGuardrailTripwireTriggered,
    MaxTurnsExceeded,
    ModelBehaviorError,
    OutputGuardrailTripwireTriggered,
    UserError,
)
from ...guardrails import GuardrailResult, InputGuardrail, OutputGuardrail
from ...handoffs import handoff
from ...models.base import Model, ModelSettings
from ...results import Result
from ...tools import Tool
from ...tools import tool as _tool
from .._openai_items import (
    HandoffCallItem,
    HandoffOutputItem,
    ItemHelpers,
    MessageOutputItem,
    ModelResponse,
    ReasoningItem,
    RunItem,
    RunResult,
    ToolApprovalItem,
    ToolCallItem,
    ToolCallOutputItem,
)
from .._openai_items import responses as _responses
from .._openai_stream import (
    AgentUpdatedStreamEvent,
    RawResponsesStreamEvent,
    RunItemStreamEvent,
    RunResultStreaming,
)
from ._context import RunContextWrapper, with_context_wrapper

# The SDK's item and event types (openai.types.responses) load with this module, as they do
# with the SDK: imported on a run's first streamed event instead, they held the event loop
# for a third of a second.
_responses()

__all__ = [
    "Agent",
    "AgentUpdatedStreamEvent",
    "AgentsException",
    "GuardrailFunctionOutput",
    "HandoffCallItem",
    "HandoffOutputItem",
    "InputGuardrailResult",
    "InputGuardrailTripwireTriggered",
    "ItemHelpers",
    "MaxTurnsExceeded",
    "MessageOutputItem",
    "ModelBehaviorError",
    "ModelProvider",
    "ModelResponse",
    "ModelSettings",
    "OpenAIProvider",
    "OutputGuardrailResult",
    "OutputGuardrailTripwireTriggered",
    "RawResponsesStreamEvent",
    "ReasoningItem",
    "RunConfig",
    "RunContextWrapper",
    "RunItem",
    "RunItemStreamEvent",
    "RunResult",
    "RunResultStreaming",
    "Runner",
    "ToolApprovalItem",
    "ToolCallItem",
    "ToolCallOutputItem",
    "Trace",
    "UserError",
    "function_tool",
    "get_current_trace",
    "get_default_model",
    "handoff",
    "input_guardrail",
    "output_guardrail",
    "set_default_openai_api",
    "set_default_openai_key",
    "set_tracing_disabled",
    "trace",
]

DEFAULT_MODEL = "gpt-4.1"


def get_default_model() -> str:
    """The model of agents that name none: ``OPENAI_DEFAULT_MODEL``, else ``gpt-4.1``."""
    return os.environ.get("OPENAI_DEFAULT_MODEL") or DEFAULT_MODEL


class ModelProvider:
    """Looks up models by name (subclass it, or pass any object with ``get_model``)."""

    def get_model(self, model_name: str | None) -> Model:
        """The model for ``model_name`` (None: the provider's default)."""
        raise NotImplementedError


@dataclass
class _Defaults:
    api_key: str | None = None
    use_responses: bool = True
    tracing_disabled: bool = False


_DEFAULTS = _Defaults()


def set_default_openai_key(key: str) -> None:
    """The API key the default provider uses (instead of ``OPENAI_API_KEY``)."""
    _DEFAULTS.api_key = key
    _PROVIDER._models.clear()


def set_default_openai_api(api: str) -> None:
    """``"responses"`` (default) or ``"chat_completions"`` for the default provider."""
    if api not in ("responses", "chat_completions"):
        raise UserError(f"api must be 'responses' or 'chat_completions', got {api!r}")
    _DEFAULTS.use_responses = api == "responses"
    _PROVIDER._models.clear()


def set_tracing_disabled(disabled: bool) -> None:
    """Switch tracing off (or on) for every run of this facade."""
    _DEFAULTS.tracing_disabled = disabled


class OpenAIProvider(ModelProvider):
    """OpenAI models by bare name (``"gpt-4.1"``); ``"provider:model"`` strings are resolved
    by tether (``"anthropic:..."``, ``"openrouter:..."``). Models are built once per name."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        use_responses: bool | None = None,
    ) -> None:
        self.api_key = api_key
        self.base_url = base_url
        self.use_responses = use_responses
        self._models: dict[str, Model] = {}

    def get_model(self, model_name: str | None) -> Model:
        """The model for ``model_name`` (None: :func:`get_default_model`)."""
        name = model_name or get_default_model()
        model = self._models.get(name)
        if model is None:
            from ...models.resolve import resolve_model

            responses = self.use_responses
            if responses is None:
                responses = _DEFAULTS.use_responses
            spec = name if ":" in name else ("openai:" if responses else "openai-chat:") + name
            model = resolve_model(
                spec, api_key=self.api_key or _DEFAULTS.api_key, base_url=self.base_url
            )
            self._models[name] = model
        return model


_PROVIDER = OpenAIProvider()


# -- tracing -------------------------------------------------------------------------------------


@dataclass
class Trace:
    """A trace that the runs started inside ``with trace(...)`` belong to."""

    workflow_name: str
    trace_id: str = field(default_factory=lambda: f"trace_{uuid.uuid4().hex}")
    group_id: str | None = None
    metadata: dict[str, Any] | None = None
    disabled: bool = False
    _token: contextvars.Token[Trace | None] | None = field(default=None, repr=False)

    def start(self, mark_as_current: bool = True) -> None:
        """Make this the current trace (what ``with`` does on entry)."""
        if mark_as_current:
            self._token = _CURRENT.set(self)

    def finish(self, reset_current: bool = True) -> None:
        """Stop being the current trace (what ``with`` does on exit)."""
        if reset_current and self._token is not None:
            _CURRENT.reset(self._token)
            self._token = None

    def __enter__(self) -> Trace:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()


_CURRENT: contextvars.ContextVar[Trace | None] = contextvars.ContextVar(
    "tether_compat_trace", default=None
)


def trace(
    workflow_name: str,
    trace_id: str | None = None,
    group_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    disabled: bool = False,
) -> Trace:
    """A trace for the runs inside ``with trace(...)``: one trace id, a workflow name, and a
    ``group_id`` (a session id: e.g. a chat thread's id) linking traces across runs."""
    made = Trace(workflow_name, group_id=group_id, metadata=metadata, disabled=disabled)
    if trace_id is not None:
        made.trace_id = trace_id
    return made


def get_current_trace() -> Trace | None:
    """The trace of the enclosing ``with trace(...)``, if any."""
    return _CURRENT.get()


# -- agents, tools, guardrails -------------------------------------------------------------------


class Agent(_TetherAgent):
    """A :class:`tether.Agent` that also takes the SDK's ``output_type`` and
    ``handoff_description``."""

    @model_validator(mode="before")
    @classmethod
    def _sdk_names(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            for sdk, ours in (("output_type", "output"), ("handoff_description", "description")):
                if sdk in data:
                    if data.get(ours) is not None:
                        raise UserError(f"give {sdk}= or {ours}=, not both")
                    data[ours] = data.pop(sdk)
        return data

    def __class_getitem__(cls, context_type: Any) -> Any:
        """``Agent[UserInfo](...)``, the SDK's way to name the context type: the type is for
        type checkers; the class is the same."""
        return cls

    @property
    def output_type(self) -> Any:
        """The SDK's name of ``output``."""
        return self.output

    @property
    def handoff_description(self) -> str | None:
        """The SDK's name of ``description``."""
        return self.description


def function_tool(
    func: Callable[..., Any] | None = None,
    *,
    name_override: str | None = None,
    description_override: str | None = None,
    needs_approval: bool = False,
    timeout: float | None = None,
) -> Any:
    """The SDK's ``@function_tool`` (bare or with arguments): a tether :class:`~tether.Tool`.

    A first parameter annotated ``RunContextWrapper[...]`` receives the run's ``context=`` as
    ``.context`` and is not shown to the model, as in the SDK."""

    def make(fn: Callable[..., Any]) -> Tool[Any]:
        return _tool(
            name=name_override or getattr(fn, "__name__", None),
            description=description_override,
            needs_approval=needs_approval,
            timeout=timeout,
        )(with_context_wrapper(fn))

    return make(func) if func is not None else make


@dataclass
class GuardrailFunctionOutput:
    """An SDK guardrail's answer."""

    output_info: Any
    tripwire_triggered: bool


def _guardrail_function(fn: Callable[..., Any]) -> Callable[[Context[Any], Any], Any]:
    async def check(ctx: Context[Any], value: Any) -> GuardrailResult:
        verdict = fn(RunContextWrapper(ctx.deps, ctx.usage), ctx.agent, value)
        if asyncio.iscoroutine(verdict):
            verdict = await verdict
        if isinstance(verdict, GuardrailResult):
            return verdict
        if isinstance(verdict, bool):
            return GuardrailResult(verdict)
        if not hasattr(verdict, "tripwire_triggered"):
            raise UserError(
                f"guardrail {check.__name__!r} returned {type(verdict).__name__}: return a "
                "GuardrailFunctionOutput(output_info=..., tripwire_triggered=...)"
            )
        return GuardrailResult(
            bool(verdict.tripwire_triggered), getattr(verdict, "output_info", None)
        )

    check.__name__ = getattr(fn, "__name__", "guardrail")
    return check


@dataclass
class InputGuardrailResult:
    """A tripped input guardrail, as ``InputGuardrailTripwireTriggered.guardrail_result``."""

    guardrail: Any
    output: GuardrailFunctionOutput


@dataclass
class OutputGuardrailResult:
    """A tripped output guardrail, as ``OutputGuardrailTripwireTriggered.guardrail_result``."""

    guardrail: Any
    agent_output: Any
    agent: Any
    output: GuardrailFunctionOutput


def _guardrail_named(agent: Any, config: RunConfig, kind: str, name: str) -> Any:
    given = [*getattr(agent, f"{kind}_guardrails", ()), *getattr(config, f"{kind}_guardrails", ())]
    return next((g for g in given if getattr(g, "name", None) == name), name)


def _sdk_error(exc: BaseException, agent: Any, config: RunConfig) -> BaseException:
    """``exc`` with the SDK's ``guardrail_result`` when it is a tripped guardrail."""
    if isinstance(exc, InputGuardrailTripwireTriggered | OutputGuardrailTripwireTriggered):
        kind = "input" if isinstance(exc, InputGuardrailTripwireTriggered) else "output"
        guardrail = _guardrail_named(agent, config, kind, exc.guardrail)
        output = GuardrailFunctionOutput(exc.info, True)
        if kind == "input":
            setattr(exc, "guardrail_result", InputGuardrailResult(guardrail, output))  # noqa: B010
        else:
            result = getattr(exc, "result", None)
            agent_output = getattr(result, "output", None)
            view = OutputGuardrailResult(guardrail, agent_output, agent, output)
            setattr(exc, "guardrail_result", view)  # noqa: B010
    return exc


def input_guardrail(fn: Callable[..., Any]) -> InputGuardrail:
    """The SDK's ``@input_guardrail``: ``fn(ctx, agent, input) -> GuardrailFunctionOutput``."""
    return InputGuardrail(_guardrail_function(fn))


def output_guardrail(fn: Callable[..., Any]) -> OutputGuardrail:
    """The SDK's ``@output_guardrail``: ``fn(ctx, agent, output) -> GuardrailFunctionOutput``."""
    return OutputGuardrail(_guardrail_function(fn))


# -- running -------------------------------------------------------------------------------------

_RUNNER: Any = None


def _runner() -> Any:
    global _RUNNER
    if _RUNNER is None:
        from ...run.runner import Runner as _TetherRunner

        # No store (the SDK keeps nothing), JSONL traces (the SDK traces by default).
        _RUNNER = _TetherRunner(store=None, telemetry="jsonl")
    return _RUNNER


def _config(agent: _TetherAgent, max_turns: int | None, run_config: RunConfig | None) -> RunConfig:
    config = run_config or RunConfig()
    provider = config.model_provider
    if provider is None:
        provider = _PROVIDER.get_model
    elif hasattr(provider, "get_model"):
        provider = provider.get_model
    config = replace(config, model_provider=provider)
    if max_turns is not None:
        config = replace(config, max_turns=max_turns)
    if config.model is None and agent.model is None:
        config = replace(config, model=get_default_model())
    current = _CURRENT.get()
    if current is not None:  # the runs inside `with trace(...)` share its trace id
        config = replace(
            config,
            trace_id=current.trace_id,
            workflow_name=config.workflow_name or current.workflow_name,
            group_id=config.group_id or current.group_id,
            trace_metadata=config.trace_metadata or current.metadata,
            tracing_disabled=True if current.disabled else config.tracing_disabled,
        )
    if _DEFAULTS.tracing_disabled:
        config = replace(config, tracing_disabled=True)
    return config


class Runner:
    """The SDK's Runner: class methods over tether's engine (one shared tether Runner)."""

    @classmethod
    async def run(
        cls,
        starting_agent: _TetherAgent,
        input: Any,
        *,
        context: Any = None,
        max_turns: int | None = None,
        run_config: RunConfig | None = None,
    ) -> RunResult:
        """Run ``starting_agent`` on ``input`` (a string or input items) to the end."""
        config = _config(starting_agent, max_turns, run_config)
        try:
            result: Result[Any] = await _runner().run(
                starting_agent, input, deps=context, run_config=config
            )
        except (InputGuardrailTripwireTriggered, OutputGuardrailTripwireTriggered) as exc:
            raise _sdk_error(exc, starting_agent, config) from None
        return _sdk_result(result, starting_agent, input, context)

    @classmethod
    def run_sync(
        cls,
        starting_agent: _TetherAgent,
        input: Any,
        *,
        context: Any = None,
        max_turns: int | None = None,
        run_config: RunConfig | None = None,
    ) -> RunResult:
        """Blocking twin of :meth:`run` (UserError inside a running event loop)."""
        config = _config(starting_agent, max_turns, run_config)
        try:
            result: Result[Any] = _runner().run_sync(
                starting_agent, input, deps=context, run_config=config
            )
        except (InputGuardrailTripwireTriggered, OutputGuardrailTripwireTriggered) as exc:
            raise _sdk_error(exc, starting_agent, config) from None
        return _sdk_result(result, starting_agent, input, context)

    @classmethod
    def run_streamed(
        cls,
        starting_agent: _TetherAgent,
        input: Any,
        *,
        context: Any = None,
        max_turns: int | None = None,
        run_config: RunConfig | None = None,
    ) -> RunResultStreaming:
        """Start a streamed run: iterate ``result.stream_events()``, then read the result."""
        config = _config(starting_agent, max_turns, run_config)
        runner = _runner()

        def events() -> Any:
            return runner.run_stream(starting_agent, input, deps=context, run_config=config)

        def on_error(exc: BaseException) -> BaseException:
            return _sdk_error(exc, starting_agent, config)

        turns = config.max_turns or getattr(starting_agent, "max_turns", None)
        find = _agent_finder(starting_agent)
        return RunResultStreaming(events, find, starting_agent, on_error, turns, input)


def _agent_finder(start: _TetherAgent) -> Callable[[str], Any]:
    """Finds an agent by name: among ``start`` and its handoffs, then the runner's agents."""

    def find_agent(name: str) -> Any:
        return _reachable(start, name) or _runner().get_agent(name)

    return find_agent


def _sdk_result(result: Result[Any], start: _TetherAgent, input: Any, context: Any) -> RunResult:
    """The SDK's RunResult of a run that was not streamed."""
    find = _agent_finder(start)
    known: dict[str, Any] = {}

    def agent_of(name: str) -> Any:
        if name not in known:
            known[name] = find(name) or name
        return known[name]

    return RunResult(result, input, agent_of, RunContextWrapper(context, result.usage))


def _reachable(start: _TetherAgent, name: str) -> Any:
    """The agent called ``name`` among ``start`` and the agents its handoffs reach."""
    seen: set[str] = set()
    stack: list[Any] = [start]
    while stack:
        current = stack.pop()
        if current.name == name:
            return current
        seen.add(current.name)
        stack.extend(h.agent for h in current.handoff_list() if h.agent.name not in seen)
    return None
