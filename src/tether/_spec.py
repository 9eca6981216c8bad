"""What the engine reads from an agent, written down once: the :class:`AgentSpec` protocol.

The engine (``run/*``), the modules it hands an agent to (``context``, ``tools``, ``handoffs``,
``policies``) and replay type against this protocol instead of :class:`tether.Agent`, so only
``agent.py`` knows both the configuration and the Runner, and no import runs back up into it.

This module sits at the bottom of the import graph: it imports only plain value types. The
members whose types are defined by modules that themselves refer to an agent (tools, handoffs,
the output schema, guardrails, the run context) are typed ``Any`` here; each is documented with
the type it has on :class:`tether.Agent`, which is the one implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pydantic import SecretStr

    from .models.base import Model, ModelSettings, ToolSpec
    from .models.pricing import ModelPrice

__all__ = ["AgentSpec"]


class AgentSpec(Protocol):
    """An agent as the engine sees it (read-only); :class:`tether.Agent` implements it."""

    @property
    def name(self) -> str:
        """The agent's name (unique within a run's agents)."""

    @property
    def description(self) -> str | None:
        """What the agent does (shown to a model that may hand off to it)."""

    @property
    def model(self) -> str | Model | None:
        """The model, as a string to resolve or a Model object; None: the run config's."""

    @property
    def instructions(self) -> Any:
        """The instructions as given (str, Path or function); see :meth:`render_instructions`."""

    @property
    def api_key(self) -> SecretStr | None:
        """The key used when ``model`` is a string."""

    @property
    def base_url(self) -> str | None:
        """The base URL used when ``model`` is a string."""

    @property
    def price(self) -> ModelPrice | None:
        """The model's price over the price table."""

    @property
    def max_turns(self) -> int:
        """Model turns a run may take."""

    @property
    def max_cost(self) -> float | None:
        """USD a run may spend (the run config's limit wins)."""

    @property
    def retries(self) -> int:
        """Times a tool call or an output may be retried after a retry signal."""

    @property
    def model_settings(self) -> ModelSettings | None:
        """Settings sent with every model request."""

    @property
    def policy(self) -> Any:
        """How the agent proceeds (a ``tether.policies.Policy``), or None."""

    @property
    def memory(self) -> Any:
        """Facts memory handed to tools through the context, or None."""

    @property
    def history(self) -> Any:
        """The history window applied to each request (``async apply(messages, ctx)``)."""

    @property
    def mcp_servers(self) -> Sequence[Any]:
        """MCP servers whose tools are offered (``async list_tools()``)."""

    @property
    def handoffs(self) -> Sequence[Any]:
        """The handoffs as given (agents, Handoff objects or agent names)."""

    @property
    def input_guardrails(self) -> Sequence[Any]:
        """``tether.guardrails.InputGuardrail`` objects checked before the first turn."""

    @property
    def output_guardrails(self) -> Sequence[Any]:
        """``tether.guardrails.OutputGuardrail`` objects checked on the final output."""

    @property
    def output_validators(self) -> list[Any]:
        """``fn(ctx, output) -> output`` callables run on the final output."""

    @property
    def output_schema(self) -> Any:
        """The ``tether.output.OutputSchema`` of structured output, or None for text."""

    @property
    def tools_map(self) -> dict[str, Any]:
        """The agent's ``tether.tools.Tool`` objects by name."""

    def get_tool(self, name: str) -> Any:
        """The ``tether.tools.Tool`` called ``name``, or None."""

    def handoff_list(self) -> list[Any]:
        """The handoffs as ``tether.handoffs.Handoff`` objects."""

    def tool_specs(self) -> list[ToolSpec]:
        """What the model is told about the tools, handoffs and output tool."""

    def as_tool(self, name: str | None = None, description: str | None = None) -> Any:
        """This agent as a ``tether.tools.Tool`` another agent calls (a nested run per call)."""

    async def render_instructions(self, ctx: Any) -> str | None:
        """The instructions for this turn, given the run's ``tether.context.Context``."""
