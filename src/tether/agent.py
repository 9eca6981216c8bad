"""Agent: configuration of an LLM agent (model, instructions, tools, limits) and its run methods.

An Agent holds configuration only and is immutable after construction, except through its
decorators (``@agent.tool``, ``@agent.output_validator``). All run state lives in the run, so one
agent serves any number of concurrent runs.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias, Unpack, overload

from ._lazy_model import Check, LazyModel, field, private
from .context import Context
from .errors import UserError
from .guardrails import InputGuardrail, OutputGuardrail
from .models.base import Model, ModelSettings, ToolSpec
from .output import OutputMode, OutputSchema
from .tools import Tool, ToolOptions, as_tool, spell_out_options

if TYPE_CHECKING:
    from pathlib import Path

    from pydantic import SecretStr

    from .config import RunConfig
    from .events import Event
    from .handoffs import Handoff
    from .messages import Message
    from .models.pricing import ModelPrice
    from .results import Result
    from .run.handle import RunHandle
    from .run.runner import Runner

__all__ = ["Agent", "Instructions", "OutputValidator"]

if TYPE_CHECKING:
    Instructions: TypeAlias = str | Path | Callable[[Context[Any]], str | Awaitable[str]]
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


def __getattr__(name: str) -> Any:
    # Instructions names pathlib.Path, which `from tether import Agent` does not import: the
    # alias is made on first use (by the first Agent's validator, or an import of it)
    if name != "Instructions":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from pathlib import Path

    made = str | Path | Callable[[Context[Any]], str | Awaitable[str]]
    globals()["Instructions"] = made
    return made


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


def _none_is_empty(value: Any) -> Any:
    return () if value is None else value


def _servers_list_tools(value: Any) -> Any:
    for server in value:
        if not callable(getattr(server, "list_tools", None)):
            raise UserError(
                f"mcp_servers entry {server!r} is not an MCP server: pass objects with "
                "`async list_tools()`, e.g. tether.mcp.MCPServerStdio(...)"
            )
    return value


def _price_of(value: Any) -> Any:
    from .models.pricing import as_price  # with the first Agent, not at `from tether import Agent`

    return as_price(value)


def _history_has_apply(value: Any) -> Any:
    if value is not None and not callable(getattr(value, "apply", None)):
        raise UserError(
            f"history={value!r} is not a history policy: pass an object with "
            "`async apply(messages, ctx)`, e.g. tether.memory.HistorySlidingWindow(20)"
        )
    return value


class Agent(LazyModel):
    """An LLM agent: a model, instructions, tools and limits. See docs/agents.md."""

    # Validated by a pydantic model of these fields built by the first Agent(), not by `from
    # tether import Agent` (defining a pydantic model imports most of pydantic: tether._lazy_model)
    __config__: ClassVar[dict[str, Any]] = {
        "extra": "forbid",
        "arbitrary_types_allowed": True,
        "protected_namespaces": (),
    }
    __checks__: ClassVar[tuple[Check, ...]] = (
        (
            ("tools", "handoffs", "mcp_servers", "input_guardrails", "output_guardrails"),
            "before",
            _none_is_empty,
        ),
        (("mcp_servers",), "after", _servers_list_tools),
        (("price",), "before", _price_of),
        (("history",), "after", _history_has_apply),
    )
    __lazy_names__: ClassVar[dict[str, str]] = {
        "SecretStr": "pydantic",
        "ModelPrice": "tether.models.pricing",
        "Instructions": "tether.agent",
    }

    name: str = field(min_length=1)
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
    max_turns: int = field(10, ge=1)
    max_cost: float | None = field(None, gt=0)
    retries: int = field(1, ge=0)
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

    _tools: dict[str, Tool[Any]] = private(default_factory=dict)
    _validators: list[OutputValidator] = private(default_factory=list)
    _output_schema: OutputSchema | None = private()
    _handoffs: list[Handoff] | None = private()
    _specs: list[ToolSpec] | None = private()
    _resolved_model: Model | None = private()
    #: (tool specs, fingerprint) of the run engine's agent_fingerprint, checked by identity.
    _fingerprint: tuple[list[ToolSpec], str] | None = private()
    #: The run engine's Toolset of this agent when no run needs one of its own (tether._toolset).
    _toolset: Any = private()

    def __init__(self, name: str | None = None, /, **data: Any) -> None:
        if name is not None:
            if "name" in data:
                raise UserError("Agent name given twice (positionally and as name=)")
            data["name"] = name
        super().__init__(**data)

    def model_post_init(self, context: Any, /) -> None:
        """Wrap plain callables as tools, refuse duplicate names, build the output schema."""
        private = self.__pydantic_private__
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
        fields = type(self).__fields__
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
        return self.__pydantic_private__

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
        if callable(instructions):
            rendered = instructions(ctx)
            if inspect.isawaitable(rendered):
                rendered = await rendered
            return rendered
        import asyncio  # a Path: a template file

        try:
            # a thread: reading a file must not block the event loop (other runs share it)
            template = await asyncio.to_thread(instructions.read_text)
        except OSError as exc:
            raise UserError(f"agent {self.name!r}: cannot read instructions file: {exc}") from exc
        return _fill_template(template, instructions, ctx)

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


spell_out_options(Agent.tool)
