"""A2A routes for a Runner's agents: agent cards, JSON-RPC and HTTP+JSON (REST) per agent."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ..errors import UserError

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from ..agent import Agent
    from ..run.runner import Runner

__all__ = ["agent_path", "routes"]


def agent_path(name: str) -> str:
    """The URL path segment of an agent (its name, with anything but [A-Za-z0-9_-] as '_')."""
    return re.sub(r"[^a-zA-Z0-9_-]", "_", name) or "agent"


def _registered(runner: Runner) -> list[Agent]:
    listed = getattr(runner, "agents", None)
    if callable(listed):
        return list(listed())
    return cast("list[Agent]", list(runner.agents.values()))


def _card(agent: Agent, base: str, version: str) -> Any:
    from a2a.types.a2a_pb2 import AgentCapabilities, AgentCard, AgentInterface, AgentSkill

    description = agent.description or f"The {agent.name} agent (tether)."
    skills = [
        AgentSkill(
            id=agent_path(agent.name),
            name=agent.name,
            description=description,
            tags=["tether"],
        )
    ]
    for tool in agent.tools_map.values():
        skills.append(
            AgentSkill(
                id=f"{agent_path(agent.name)}.{tool.name}",
                name=tool.name,
                description=tool.description or tool.name,
                tags=["tool"],
            )
        )
    output_modes = ["text/plain"]
    if agent.output_schema is not None:
        output_modes.append("application/json")
    return AgentCard(
        name=agent.name,
        description=description,
        version=version,
        supported_interfaces=[
            AgentInterface(url=base, protocol_binding="JSONRPC", protocol_version="1.0"),
            AgentInterface(
                url=f"{base}/rest", protocol_binding="HTTP+JSON", protocol_version="1.0"
            ),
        ],
        capabilities=AgentCapabilities(streaming=True, push_notifications=False),
        default_input_modes=["text/plain"],
        default_output_modes=output_modes,
        skills=skills,
    )


def routes(
    runner: Runner,
    *,
    agents: Sequence[Agent | str] | None = None,
    prefix: str = "/a2a",
    tasks_path: str | Path | None = None,
    max_body: int | None = None,
) -> list[BaseRoute]:
    """Starlette routes serving ``runner``'s agents over A2A (a2a-sdk 1.x).

    For each agent ``NAME``: its card at ``{prefix}/NAME/.well-known/agent-card.json``,
    JSON-RPC at ``{prefix}/NAME`` and HTTP+JSON at ``{prefix}/NAME/rest``. The card at
    ``/.well-known/agent-card.json`` is the first agent's; ``{prefix}`` lists them all. A task
    is a tether run (task id = run id, context id = thread id). Task records are kept in
    ``tasks_path`` (default: beside the Runner's SQLite store; in memory for other stores).
    A request body over ``max_body`` bytes (default 1 MiB, ``tether serve``'s ``--max-body``)
    is answered 413, in the binding's error form, before it is read.
    """
    try:
        from a2a.server.request_handlers.response_helpers import agent_card_to_dict
        from a2a.server.routes import create_jsonrpc_routes, create_rest_routes
        from starlette.requests import Request
        from starlette.responses import JSONResponse
        from starlette.routing import Mount, Route
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise UserError('A2A needs the a2a extra: pip install "tether[a2a]"') from exc
    from ..server._config import DEFAULT_MAX_BODY
    from ._executor import TetherAgentExecutor
    from ._limits import limit_body
    from ._subscribe import TetherRequestHandler
    from ._tasks import PersistedTaskStore, tasks_path_for

    chosen = (
        [cast("Agent", runner._agent(a)) for a in agents]
        if agents is not None
        else _registered(runner)
    )
    if not chosen:
        raise UserError("no agents to serve over A2A: register agents on the Runner")
    path = Path(tasks_path) if tasks_path is not None else tasks_path_for(runner._store_spec)
    version = _version()
    limit = DEFAULT_MAX_BODY if max_body is None else max_body
    if limit < 1:
        raise UserError(f"max_body must be at least 1 byte, got {limit}")

    def _card_endpoint(agent: Agent) -> Any:
        async def card(request: Request) -> JSONResponse:
            root = str(request.base_url).rstrip("/")
            built = _card(agent, f"{root}{prefix}/{agent_path(agent.name)}", version)
            return JSONResponse(agent_card_to_dict(built))

        return card

    made: list[BaseRoute] = []
    index: list[tuple[str, Agent]] = []
    seen: set[str] = set()
    for agent in chosen:
        segment = agent_path(agent.name)
        if segment in seen:
            raise UserError(f"two agents would both be served at {prefix}/{segment}: rename one")
        seen.add(segment)
        base_path = f"{prefix}/{segment}"
        index.append((base_path, agent))
        executor = TetherAgentExecutor(runner, agent)
        handler = TetherRequestHandler(
            agent_executor=executor,
            task_store=PersistedTaskStore(
                agent.name,
                path,
                recover=executor.recorded,
                on_cancel=executor.cancelled,
                current=executor.current,
                runs=executor.runs,
            ),
            agent_card=_card(agent, f"http://127.0.0.1{base_path}", version),
        )
        made.append(Route(f"{base_path}/.well-known/agent-card.json", _card_endpoint(agent)))
        # The SDK also mounts every REST route under "/{tenant}" at the root, which would
        # catch the paths of everything else `tether serve` offers: those mounts are left out.
        rest = create_rest_routes(handler, path_prefix=f"{base_path}/rest")
        for jsonrpc, served in (
            (True, create_jsonrpc_routes(handler, rpc_url=base_path)),
            (False, [r for r in rest if not isinstance(r, Mount)]),
        ):
            for route in served:
                if isinstance(route, Route):
                    route.app = limit_body(route.app, limit, jsonrpc=jsonrpc)
                made.append(route)

    default_agent = index[0][1]

    async def default_card(request: Request) -> JSONResponse:
        root = str(request.base_url).rstrip("/")
        built = _card(default_agent, f"{root}{prefix}/{agent_path(default_agent.name)}", version)
        return JSONResponse(agent_card_to_dict(built))

    async def listing(request: Request) -> JSONResponse:
        root = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "agents": [
                    {
                        "name": agent.name,
                        "url": f"{root}{base}",
                        "card": f"{root}{base}/.well-known/agent-card.json",
                    }
                    for base, agent in index
                ]
            }
        )

    made.insert(0, Route("/.well-known/agent-card.json", default_card))
    made.insert(1, Route(prefix, listing, methods=["GET"]))
    return made


def _version() -> str:
    from .. import __version__

    return __version__
