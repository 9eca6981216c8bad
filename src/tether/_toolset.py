"""One run's tools for one agent: its own, its MCP servers', its policy's, its handoffs and the
output tool, composed once per agent per run (the MCP lists are asked for again each turn)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import UserError
from .handoffs import Handoff, handoff
from .models.base import ToolSpec
from .tools import Tool

if TYPE_CHECKING:
    from ._spec import AgentSpec
    from .output import OutputSchema
    from .policies.base import Policy

__all__ = ["Toolset", "served_tools", "shared_toolset"]


@dataclass(slots=True)
class Toolset:
    """The tools one agent has in one run: lookup by name, the specs the model is told of, the
    handoffs and the output schema (the agent's, or the one its policy imposes)."""

    agent: AgentSpec
    handoffs: list[Handoff]
    schema: OutputSchema | None
    #: The seam every tool found goes through (a durable engine's step), or None.
    wrap: Callable[[Tool[Any]], Tool[Any]] | None = None
    #: Whether the model is shown a tool, by name (the tool filter's ``shows``), or None.
    shows: Callable[[str], bool] | None = None
    _policy: list[Tool[Any]] = field(default_factory=list)
    _named: dict[str, Tool[Any]] = field(default_factory=dict)  # the policy's, first of a name
    #: The specs before and after the served ones, made on first use (a handoff target's are
    #: not made for finding the agent).
    _specs: tuple[list[ToolSpec], list[ToolSpec]] | None = None
    _visible: list[ToolSpec] | None = None  # what specs() said, until a list it used changes
    #: The agent's own specs the head was made from: an Agent makes a new list when a tool is
    #: added to it, so a tool added while a run goes on reaches its next turn, as before.
    _own: list[ToolSpec] | None = None
    #: What the agent's ``mcp_servers`` listed last (None before the first listing).
    _served: dict[str, Tool[Any]] | None = None

    @classmethod
    def of(
        cls,
        agent: AgentSpec,
        policy: Policy | None,
        find_agent: Callable[[str], AgentSpec | None] | None,
        wrap: Callable[[Tool[Any]], Tool[Any]] | None = None,
        shows: Callable[[str], bool] | None = None,
    ) -> Toolset:
        """Compose ``agent``'s toolset; a handoff to an agent nobody registered is a UserError."""
        schema: OutputSchema | None = agent.output_schema
        if schema is None and policy is not None:
            schema = policy.output_schema(agent)
        tools = policy.tools(agent) if policy is not None else []
        named = {t.name: t for t in reversed(tools)}
        return cls(agent, _handoffs(agent, find_agent), schema, wrap, shows, tools, named)

    def get(self, name: str) -> Tool[Any] | None:
        """The tool called ``name`` (the agent's, a served one, the policy's) as the run calls
        it: through the seam, when there is one."""
        found: Tool[Any] | None = self.agent.get_tool(name)
        if found is None and self._served:
            found = self._served.get(name)
        if found is None:
            found = self._named.get(name)
        return self.wrap(found) if found is not None and self.wrap is not None else found

    def handoff_for(self, tool_name: str) -> Handoff | None:
        """The handoff made with the tool called ``tool_name``, if it is one."""
        return next((h for h in self.handoffs if h.tool_name == tool_name), None)

    def specs(self) -> list[ToolSpec]:
        """What the model is told of: the agent's tools and handoffs, the served tools, the
        policy's and the output tool, less the tools ``shows`` hides."""
        own = self.agent.tool_specs()
        if own is not self._own:
            self._specs = self._visible = None
        elif self._visible is not None:
            return self._visible
        head, tail = self._specs or self._compose(own)
        served = [t.spec() for t in self._served.values()] if self._served else []
        specs = [*head, *served, *tail] if served or tail else head
        shows = self.shows
        if shows is not None:
            specs = [t for t in specs if self.get(t.name) is None or shows(t.name)]
        self._visible = specs
        return specs

    def _compose(self, own: list[ToolSpec]) -> tuple[list[ToolSpec], list[ToolSpec]]:
        agent, schema = self.agent, self.schema
        self._own = head = own  # its tools, its own handoffs and output tool
        if len(self.handoffs) > len(agent.handoff_list()):  # those named by a string
            given = {h.tool_name for h in agent.handoff_list()}
            head = [*head, *(h.spec() for h in self.handoffs if h.tool_name not in given)]
        tail = [t.spec() for t in self._policy]
        if agent.output_schema is None and schema is not None and schema.mode == "tool":
            tail.append(ToolSpec(schema.spec.name, schema.spec.description, schema.spec.schema))
        self._specs = (head, tail)
        return head, tail

    async def refresh(self, *, missing_only: bool = False) -> None:
        """Ask the agent's ``mcp_servers`` for their tools (before a turn).

        Each server caches its list per connection and drops it on ``tools/list_changed``, so
        this costs nothing while the list stands and picks up a changed list on the next turn.
        """
        if self.agent.mcp_servers and not (missing_only and self._served is not None):
            self._served = await served_tools(self.agent)
            self._visible = None


def shared_toolset(
    agent: AgentSpec, find_agent: Callable[[str], AgentSpec | None] | None
) -> Toolset:
    """``agent``'s toolset for a run without seam, tool filter or policy: the one kept on the
    agent (an Agent is frozen, and the specs are checked against its tool list on each use),
    or a new one for an agent with MCP servers (their list is the run's) or handoffs named by a
    string (resolved through the registry, run by run)."""
    private: dict[str, Any] | None = getattr(agent, "__pydantic_private__", None)  # an Agent's
    kept = private.get("_toolset") if private is not None else None
    if kept is not None and kept.agent is agent and not agent.mcp_servers:
        return kept  # type: ignore[no-any-return]
    made = Toolset.of(agent, None, find_agent)
    if (
        private is not None
        and not agent.mcp_servers
        and not any(isinstance(h, str) for h in agent.handoffs)
    ):
        private["_toolset"] = made
    return made


def _handoffs(
    agent: AgentSpec, find_agent: Callable[[str], AgentSpec | None] | None
) -> list[Handoff]:
    """The handoffs of ``agent``, those named by a string resolved through ``find_agent``."""
    given = agent.handoff_list()
    if not any(isinstance(h, str) for h in agent.handoffs):
        return given
    objects = iter(given)
    known: list[Handoff] = []
    for entry in agent.handoffs:
        if not isinstance(entry, str):
            known.append(next(objects))
            continue
        target = find_agent(entry) if find_agent is not None else None
        if target is None:
            raise UserError(
                f"agent {agent.name!r} hands off to {entry!r}, but no agent of that name "
                "is registered: runner.register_agent() it, or pass the Agent itself"
            )
        known.append(handoff(target))
    return known


async def served_tools(agent: AgentSpec) -> dict[str, Tool[Any]]:
    """The tools of ``agent.mcp_servers`` by name; a name the agent already has is a UserError."""
    tools: dict[str, Tool[Any]] = {}
    for server in agent.mcp_servers:
        for listed in await server.list_tools():
            if listed.name in tools or agent.get_tool(listed.name) is not None:
                raise UserError(
                    f"agent {agent.name!r}: the MCP server tool {listed.name!r} clashes with "
                    "another tool of that name; give the server a prefix= to tell them apart"
                )
            tools[listed.name] = listed
    return tools
