"""Agent: configuration of an LLM agent (model, instructions, tools, limits) and its run methods.

An Agent holds configuration only and is immutable after construction, except through its
decorators (``@agent.tool``, ``@agent.output_validator``). All run state lives in the run, so one
agent serves any number of concurrent runs.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Unpack, overload

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, field_validator

from .context import Context
from .errors import UserError
from .guardrails import InputGuardrail, OutputGuardrail
from .models.base import Model, ModelSettings, ToolSpec
from .models.pricing import ModelPrice, as_price
from .output import OutputMode, OutputSchema
from .tools import Tool, ToolOptions, as_tool, spell_out_options

if TYPE_CHECKING:
    from .config import RunConfig
    from .events import Event
    from .handoffs import Handoff
    from .messages import Message
    from .results import Result
    from .run.handle import RunHandle
    from .run.runner import Runner

__all__ = ["Agent", "Instructions", "OutputValidator"]

Instructions = str | Path | Callable[[Context[Any]], str | Awaitable[str]]
OutputValidator = Callable[[Context[Any], Any], Any]
RunInput = "str | Message | Sequence[Any]"


#: A placeholder of an instructions file: ``{ctx.<attr>...}`` or ``{deps...}`` (attribute and
#: ``[key]`` access, as str.format has); every other brace is literal text (JSON examples).
#: ``tether.run.runner.default_runner``, kept once the first run imported it (that module
#: imports this one, so it is imported lazily; an import statement per run costs ~0.5 µs).
_default_runner: Callable[[], Runner] | None = None


def _runner() -> Runner:
    """The Runner behind ``agent.run()`` (see :func:`tether.run.runner.default_runner`)."""
    global _default_runner
    if _default_runner is None:
        from .run.runner import default_runner

        _default_runner = default_runner
    return _default_runner()


_PLACEHOLDER = re.compile(r"\{((?:ctx|deps)(?:\.[A-Za-z_]\w*|\[[^\[\]{}]*\])*)\}")


def _fill_template(template: str, path: Path, ctx: Context[Any]) -> str:
    """``template`` with its ``{ctx...}``/``{deps...}`` placeholders filled from ``ctx``."""

    def fill(match: re.Match[str]) -> str:
        placeholder = match.group(0)
        try:
            return placeholder.format(ctx=ctx, deps=ctx.deps)
        except (AttributeError, KeyError, IndexError, TypeError, ValueError) as exc:
            raise UserError(
                f"instructions file {str(path)!r}: placeholder {placeholder} cannot be filled "
                f"({type(exc).__name__}: {exc}); other braces are kept as they are"
            ) from None

    return _PLACEHOLDER.sub(fill, template)


class Agent(BaseModel):
    """An LLM agent: a model, instructions, tools and limits. See docs/agents.md."""

    # defer_build: the validator is built by the first Agent(), not by `from tether import
    # Agent` (building it, and pydantic's scan of installed plugins, was most of that import)
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        arbitrary_types_allowed=True,
        protected_namespaces=(),
        defer_build=True,
    )

    name: str = Field(min_length=1)
    model: str | Model | None = None
    instructions: Instructions | None = None
    description: str | None = None
    tools: Sequence[Tool[Any] | Callable[..., Any]] = ()
    handoffs: Sequence[Any] = ()
    #: MCP servers (``tether.mcp.MCPServerStdio``/``MCPServerHTTP``, or anything with
    #: ``async list_tools() -> list[Tool]``) whose tools the agent is offered, listed afresh
    #: each turn from the server's cache, so ``tools/list_changed`` reaches a running run.
    mcp_servers: Sequence[Any] = ()
    output: Any = None
    output_mode: OutputMode = "auto"
    max_turns: int = Field(10, ge=1)
    max_cost: float | None = Field(None, gt=0)
    retries: int = Field(1, ge=0)
    model_settings: ModelSettings | None = None
    policy: Any = None
    memory: Any = None
    history: Any = None
    input_guardrails: Sequence[InputGuardrail] = ()
    output_guardrails: Sequence[OutputGuardrail] = ()
    api_key: SecretStr | None = None
    base_url: str | None = None
    #: The model's price (USD per million tokens; 0 for free), over the price table.
    price: ModelPrice | None = None

    _tools: dict[str, Tool[Any]] = PrivateAttr(default_factory=dict)
    _validators: list[OutputValidator] = PrivateAttr(default_factory=list)
    _output_schema: OutputSchema | None = PrivateAttr(default=None)
    _handoffs: list[Handoff] | None = PrivateAttr(default=None)
    _specs: list[ToolSpec] | None = PrivateAttr(default=None)
    _resolved_model: Model | None = PrivateAttr(default=None)
    #: (tool specs, fingerprint) of the run engine's agent_fingerprint, checked by identity.
    _fingerprint: tuple[list[ToolSpec], str] | None = PrivateAttr(default=None)
    #: The run engine's Toolset of this agent when no run needs one of its own (tether._toolset).
    _toolset: Any = PrivateAttr(default=None)

    def __init__(self, name: str | None = None, /, **data: Any) -> None:
        if name is not None:
            if "name" in data:
                raise UserError("Agent name given twice (positionally and as name=)")
            data["name"] = name
        super().__init__(**data)

    @field_validator(
        "tools", "handoffs", "mcp_servers", "input_guardrails", "output_guardrails", mode="before"
    )
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return () if value is None else value

    @field_validator("mcp_servers")
    @classmethod
    def _servers_list_tools(cls, value: Any) -> Any:
        for server in value:
            if not callable(getattr(server, "list_tools", None)):
                raise UserError(
                    f"mcp_servers entry {server!r} is not an MCP server: pass objects with "
                    "`async list_tools()`, e.g. tether.mcp.MCPServerStdio(...)"
                )
        return value

    @field_validator("price", mode="before")
    @classmethod
    def _price_of(cls, value: Any) -> Any:
        return as_price(value)

    @field_validator("history")
    @classmethod
    def _history_has_apply(cls, value: Any) -> Any:
        if value is not None and not callable(getattr(value, "apply", None)):
            raise UserError(
                f"history={value!r} is not a history policy: pass an object with "
                "`async apply(messages, ctx)`, e.g. tether.memory.HistorySlidingWindow(20)"
            )
        return value

    def model_post_init(self, context: Any, /) -> None:
        """Wrap plain callables as tools, refuse duplicate names, build the output schema."""
        private = self.__pydantic_private__
        if private is None:  # Agent itself (see _agent_post_init): the private attributes
            private = {
                "_tools": {},
                "_validators": [],
                "_output_schema": None,
                "_handoffs": None,
                "_specs": None,
                "_resolved_model": None,
                "_fingerprint": None,
                "_toolset": None,
            }
            object.__setattr__(self, "__pydantic_private__", private)
        for item in self.tools:
            self._register(as_tool(item))
        if self.output is not None and self.output is not str:
            private["_output_schema"] = OutputSchema(self.output, self.output_mode)
        elif self.output_mode in ("tool", "native"):
            raise UserError(f"output_mode={self.output_mode!r} needs an output type (output=...)")

    def _register(self, new_tool: Tool[Any]) -> Tool[Any]:
        private = self._private()
        tools: dict[str, Tool[Any]] = private["_tools"]
        if new_tool.name in tools:
            raise ValueError(f"agent {self.name!r} already has a tool named {new_tool.name!r}")
        tools[new_tool.name] = new_tool
        private["_specs"] = None
        return new_tool

    @overload
    def tool(self, fn: Callable[..., Any], /) -> Tool[Any]: ...

    @overload
    def tool(
        self,
        *,
        name: str | None = None,
        description: str | None = None,
        **options: Unpack[ToolOptions],
    ) -> Callable[[Callable[..., Any]], Tool[Any]]: ...

    def tool(  # type: ignore[misc]  # mypy mis-reads the keyword-only overload
        self,
        fn: Callable[..., Any] | None = None,
        /,
        *,
        name: str | None = None,
        description: str | None = None,
        **options: Unpack[ToolOptions],
    ) -> Tool[Any] | Callable[[Callable[..., Any]], Tool[Any]]:
        """Register ``fn`` as a tool; use bare (``@agent.tool``) or with arguments (those of
        :func:`tether.tool`)."""

        def register(function: Callable[..., Any]) -> Tool[Any]:
            if isinstance(function, Tool):  # made with @tool already: register it as it is
                if options:
                    raise UserError(
                        f"tool {function.name!r} is already a Tool: give needs_approval, timeout, "
                        "idempotent, strict, permissions, sandbox and effect to @tool, not to "
                        "agent.tool()"
                    )
                if name is not None or description is not None:
                    function = function.with_name(name or function.name, description)
                return self._register(function)
            return self._register(Tool(function, name=name, description=description, **options))

        return register(fn) if fn is not None else register

    def clone(self, **changes: Any) -> Agent:
        """A variant of this agent: every field kept except those in ``changes``.

        The clone has its own tool registry and output validators: a tool added to the clone
        (``@clone.tool``) is not seen by the original, nor the other way round. ``tools=``
        replaces all of the tools (those given to the constructor and those added with
        ``@agent.tool``); otherwise the clone starts with all of them. Output validators are
        carried over. Changes are validated as in the constructor::

            terse = agent.clone(name="terse", instructions="Answer in one word.")
        """
        fields = type(self).model_fields
        unknown = sorted(set(changes) - set(fields))
        if unknown:
            raise UserError(
                f"Agent.clone() got unknown field(s) {', '.join(unknown)}: "
                f"the fields are {', '.join(fields)}"
            )
        data: dict[str, Any] = {name: getattr(self, name) for name in fields}
        data["tools"] = list(self._private()["_tools"].values())
        data.update(changes)
        made = type(self)(**data)
        made._private()["_validators"].extend(self._private()["_validators"])
        return made

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Agent:
        """Like :meth:`clone` (``update`` holds the changes, validated): the copy never shares
        the original's tool registry or output validators. ``deep`` is accepted for pydantic
        compatibility; field values are shared either way (an Agent is configuration)."""
        return self.clone(**dict(update or {}))

    def __copy__(self) -> Agent:
        """``copy.copy(agent)``: an independent :meth:`clone`."""
        return self.clone()

    def output_validator(self, fn: OutputValidator) -> OutputValidator:
        """Register ``fn(ctx, output) -> output``; it may raise ``Retry("hint")``."""
        if not callable(fn):
            raise UserError("output_validator needs a callable (ctx, output) -> output")
        self._validators.append(fn)
        return fn

    @property
    def tools_map(self) -> dict[str, Tool[Any]]:
        """The registered tools by name (a copy: register through ``tools=`` or ``@agent.tool``)."""
        return dict(self._tools)

    @property
    def output_validators(self) -> list[OutputValidator]:
        """A copy of the registered output validators, in registration order."""
        return list(self._private()["_validators"])

    # The getters below run on every turn: they read pydantic's private-attribute dict
    # directly, since attribute access to private attributes goes through a slow __getattr__.
    def _private(self) -> dict[str, Any]:
        private = self.__pydantic_private__
        assert private is not None
        return private

    @property
    def output_schema(self) -> OutputSchema | None:
        """The structured-output schema, when ``output`` is set to a type other than str."""
        schema: OutputSchema | None = self._private()["_output_schema"]
        return schema

    def handoff_list(self) -> list[Handoff]:
        """The handoffs as :class:`Handoff` objects (agents wrapped with default naming)."""
        handoffs: list[Handoff] | None = self._private()["_handoffs"]
        if handoffs is None:
            from .handoffs import as_handoff  # not at `from tether import Agent`

            handoffs = [as_handoff(h) for h in self.handoffs if not isinstance(h, str)]
            self._handoffs = handoffs
        return handoffs

    def get_tool(self, name: str) -> Tool[Any] | None:
        """The tool called ``name``, if any."""
        found: Tool[Any] | None = self._private()["_tools"].get(name)
        return found

    def tool_specs(self) -> list[ToolSpec]:
        """What the model is told about this agent's tools, handoffs and output tool."""
        specs: list[ToolSpec] | None = self._private()["_specs"]
        if specs is None:
            specs = [t.spec() for t in self._tools.values()]
            specs.extend(h.spec() for h in self.handoff_list())
            schema = self._output_schema
            if schema is not None and schema.mode == "tool":
                spec = schema.spec
                specs.append(ToolSpec(spec.name, spec.description, spec.schema))
            seen: set[str] = set()
            for made in specs:
                if made.name in seen:
                    raise UserError(
                        f"agent {self.name!r} offers the model two tools named {made.name!r}: "
                        "names must be unique among its tools, its handoffs (transfer_to_<agent>) "
                        "and the structured-output tool (final_result); rename one"
                    )
                seen.add(made.name)
            self._specs = specs
        return specs

    async def render_instructions(self, ctx: Context[Any]) -> str | None:
        """The instructions for this turn (a string, a template file, or a function of ctx)."""
        instructions = self.instructions
        if instructions is None or isinstance(instructions, str):
            return instructions
        if isinstance(instructions, Path):
            import asyncio

            try:
                # a thread: reading a file must not block the event loop (other runs share it)
                template = await asyncio.to_thread(instructions.read_text)
            except OSError as exc:
                raise UserError(
                    f"agent {self.name!r}: cannot read instructions file: {exc}"
                ) from exc
            return _fill_template(template, instructions, ctx)
        rendered = instructions(ctx)
        if inspect.isawaitable(rendered):
            rendered = await rendered
        return rendered

    def as_tool(self, name: str | None = None, description: str | None = None) -> Tool[Any]:
        """This agent as a tool another agent can call; it runs a nested run per call."""

        async def run_subagent(input: str) -> str:
            raise AssertionError("subagent tools are run by the loop")  # pragma: no cover

        made: Tool[str] = Tool(
            run_subagent,
            name=name or self.name.replace(" ", "_"),
            description=description or self.description or f"Ask the {self.name} agent.",
        )
        made.subagent = self
        return made

    # -- running -------------------------------------------------------------------------------

    async def run(
        self,
        input: str | Message | Sequence[Any],
        *,
        deps: Any = None,
        thread_id: str | None = None,
        run_id: str | None = None,
        run_config: RunConfig | None = None,
    ) -> Result[Any]:
        """Run the agent to the end and return the Result (raises when the run fails)."""
        return await _runner().run(
            self, input, deps=deps, thread_id=thread_id, run_id=run_id, run_config=run_config
        )

    def run_sync(
        self,
        input: str | Message | Sequence[Any],
        *,
        deps: Any = None,
        thread_id: str | None = None,
        run_id: str | None = None,
        run_config: RunConfig | None = None,
    ) -> Result[Any]:
        """Blocking twin of :meth:`run`; raises UserError inside a running event loop."""
        from .run.runner import default_runner

        return default_runner().run_sync(
            self, input, deps=deps, thread_id=thread_id, run_id=run_id, run_config=run_config
        )

    def run_stream(
        self,
        input: str | Message | Sequence[Any],
        *,
        deps: Any = None,
        thread_id: str | None = None,
        run_id: str | None = None,
        run_config: RunConfig | None = None,
    ) -> AsyncIterator[Event]:
        """Yield the run's events as they happen; the last (``run_finished``) carries the Result."""
        return _runner().run_stream(
            self, input, deps=deps, thread_id=thread_id, run_id=run_id, run_config=run_config
        )

    async def start(
        self,
        input: str | Message | Sequence[Any],
        *,
        deps: Any = None,
        thread_id: str | None = None,
        run_id: str | None = None,
        run_config: RunConfig | None = None,
    ) -> RunHandle:
        """Start the run in the background and return its :class:`~tether.RunHandle`."""
        from .run.runner import default_runner

        return await default_runner().start(
            self, input, deps=deps, thread_id=thread_id, run_id=run_id, run_config=run_config
        )

    def __repr__(self) -> str:
        model = (
            self.model if isinstance(self.model, str | None) else getattr(self.model, "name", "?")
        )
        return f"Agent(name={self.name!r}, model={model!r}, tools={list(self._tools)})"


# pydantic wraps model_post_init to fill the private attributes one by one from their defaults,
# which was most of an Agent's construction time; Agent's own model_post_init fills them at
# once. Subclasses keep pydantic's wrapper (their private attributes are theirs to declare).
_agent_post_init = getattr(Agent.model_post_init, "__wrapped__", None)
if _agent_post_init is not None:
    Agent.model_post_init = _agent_post_init  # type: ignore[method-assign]


class _SignatureOnDemand:
    """``inspect.signature(Agent)`` before the first ``Agent()``: the validator is deferred, so
    build it now (pydantic then puts its own signature of the fields in this one's place)."""

    def __get__(self, instance: object, owner: type[BaseModel]) -> inspect.Signature:
        owner.model_rebuild()
        built = owner.__dict__.get("__signature__")
        if built is None or built is self:  # pragma: no cover - a pydantic that sets none
            return inspect.signature(owner.__init__)
        return inspect.signature(owner)


spell_out_options(Agent.tool)
Agent.__signature__ = _SignatureOnDemand()  # type: ignore[assignment]
