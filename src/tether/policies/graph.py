"""GraphPolicy: run a workflow of agents as a graph of nodes and edges.

The graph is driven through the one loop: a router model (no LLM, no network) reads the
transcript, and answers each turn with a call to the next node's tool or, at the end, the last
node's output. Each node runs as a subagent. Because routing decisions are ordinary model
responses in the event log, a graph run checkpoints, resumes and replays like any other.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from ..errors import UserError
from ..messages import Message, Part, TextPart, ToolCallPart
from ..models.base import ModelRequest, ModelResponse, ModelStreamEvent
from ..usage import Usage
from .base import Policy

if TYPE_CHECKING:
    from .._spec import AgentSpec
    from ..models.base import Model
    from ..tools import Tool

__all__ = ["END", "Graph", "GraphPolicy"]

#: The node name that ends the graph.
END = "__end__"
Router = Callable[[str], str]


class Graph:
    """Nodes (agents) joined by edges; a conditional edge picks the next node from the output."""

    def __init__(self) -> None:
        self.nodes: dict[str, AgentSpec] = {}
        self.edges: dict[str, str | Router] = {}
        self.entry: str | None = None

    def add_node(self, name: str, agent: AgentSpec) -> Graph:
        """Add a node that runs ``agent`` on the previous node's output."""
        if name in self.nodes or name == END:
            raise UserError(f"graph node name {name!r} is taken")
        self.nodes[name] = agent
        if self.entry is None:
            self.entry = name
        return self

    def add_edge(self, source: str, target: str) -> Graph:
        """After ``source``, always go to ``target`` (or END)."""
        self._check(source)
        if target != END:
            self._check(target)
        self.edges[source] = target
        return self

    def add_conditional_edge(self, source: str, router: Router) -> Graph:
        """After ``source``, go where ``router(output_text)`` says (a node name or END)."""
        self._check(source)
        self.edges[source] = router
        return self

    def set_entry(self, name: str) -> Graph:
        """The node that receives the run's input."""
        self._check(name)
        self.entry = name
        return self

    def next_node(self, source: str, output: str) -> str:
        """The node after ``source``, given its output (END when it has no edge)."""
        edge = self.edges.get(source, END)
        target = edge if isinstance(edge, str) else edge(output)
        if target != END and target not in self.nodes:
            raise UserError(f"graph edge from {source!r} leads to unknown node {target!r}")
        return target

    def _check(self, name: str) -> None:
        if name not in self.nodes:
            raise UserError(f"graph has no node {name!r} (nodes: {', '.join(self.nodes)})")


def _tool_name(node: str) -> str:
    return f"node_{node}"


class GraphRouterModel:
    """Answers each turn with the next node to run, from the transcript alone."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph

    @property
    def name(self) -> str:
        """The router's name."""
        return "graph-router"

    def _route(self, messages: list[Message]) -> list[Part]:
        graph = self.graph
        by_tool = {_tool_name(n): n for n in graph.nodes}
        last: tuple[str, str] | None = None
        for message in messages:
            for result in message.tool_results:
                if result.name in by_tool:
                    last = (by_tool[result.name], result.content)
        if last is None:
            assert graph.entry is not None
            prompt = next((m.text for m in reversed(messages) if m.role == "user"), "")
            return [ToolCallPart("", _tool_name(graph.entry), json.dumps({"input": prompt}))]
        node, output = last
        target = graph.next_node(node, output)
        if target == END:
            return [TextPart(output)]
        return [ToolCallPart("", _tool_name(target), json.dumps({"input": output}))]

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Route one step."""
        turn = sum(1 for m in request.messages if m.role == "assistant") + 1
        parts = [
            ToolCallPart(f"route_{turn}", p.name, p.arguments) if isinstance(p, ToolCallPart) else p
            for p in self._route(request.messages)
        ]
        return ModelResponse(parts, Usage(requests=0, cost=0.0), self.name, "stop")

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        """Route one step (routing has nothing to stream)."""
        yield await self.request(request)


class GraphPolicy(Policy):
    """Runs ``graph``: each node's agent gets the previous node's output as its input, and the
    run's output is the output of the node whose edge leads to END. ``max_steps`` bounds the
    number of node runs (cycles through conditional edges are allowed)."""

    name = "graph"

    def __init__(self, graph: Graph, *, max_steps: int = 25) -> None:
        if graph.entry is None:
            raise UserError("GraphPolicy needs a graph with at least one node")
        self.graph = graph
        self.max_steps = max_steps
        self._tools: list[Tool[Any]] = [
            agent.as_tool(name=_tool_name(name)) for name, agent in graph.nodes.items()
        ]
        self._router = GraphRouterModel(graph)

    def max_turns(self, agent: AgentSpec) -> int | None:
        """One turn per node run, plus the final one."""
        return self.max_steps + 1

    def tools(self, agent: AgentSpec) -> list[Tool[Any]]:
        """One tool per node."""
        return self._tools

    def model(self, agent: AgentSpec) -> Model | None:
        """The router replaces the agent's model."""
        return self._router
