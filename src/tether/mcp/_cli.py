"""``tether mcp serve MODULE:ATTR [--http [--host H] [--port P]] [--tools] [--store URL]``.

Serves the agents that ``MODULE:ATTR`` names (an Agent, a list of Agents, or a Runner with
registered agents) as MCP tools, over stdio by default or Streamable HTTP at ``/mcp``.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ..cli._common import add_store_option, default_store, load_object
from ..errors import UserError

if TYPE_CHECKING:
    from ..run.runner import Runner

__all__ = ["register", "runner_from"]


def runner_from(found: Any, store: str | None) -> Runner:
    """A Runner for an Agent, a list of Agents, or a Runner (returned as it is)."""
    from ..agent import Agent
    from ..run.runner import Runner

    if isinstance(found, Runner):
        return found
    if isinstance(found, Agent):
        found = [found]
    if isinstance(found, list | tuple) and found and all(isinstance(a, Agent) for a in found):
        return Runner(store=store or default_store(), telemetry=None, agents=list(found))
    raise UserError(
        f"tether mcp serve needs an Agent, a list of Agents or a Runner; got {type(found).__name__}"
    )


def _remember_specs(target: str, found: Any, runner: Runner) -> None:
    """Record where each served agent can be imported from (``module:attribute``), so a run
    left waiting for an approval is resumed by ``tether runs approve`` in another process:
    the target itself for one Agent, else a module attribute holding the agent, if any."""
    import sys

    from ..agent import Agent
    from ._server import registered, remember_spec

    if isinstance(found, Agent):
        remember_spec(found, target)
        return
    module = sys.modules.get(target.partition(":")[0])
    names = {id(v): k for k, v in vars(module).items() if isinstance(v, Agent)} if module else {}
    for agent in registered(runner):
        name = names.get(id(agent))
        if name is not None:
            remember_spec(agent, f"{target.partition(':')[0]}:{name}")


def _cmd_serve(args: argparse.Namespace) -> int:
    from ._server import serve

    found = load_object(args.target, "the agents to serve")
    runner = runner_from(found, args.store)
    _remember_specs(args.target, found, runner)
    serve(runner, http=args.http, host=args.host, port=args.port, tools=args.tools)
    return 0


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``mcp serve`` to the ``tether`` command's subparsers."""
    group = commands.add_parser("mcp", help="serve agents over the Model Context Protocol")
    sub = group.add_subparsers(dest="mcp_command", required=True)
    serve = sub.add_parser(
        "serve",
        help="serve agents as MCP tools (stdio, or Streamable HTTP with --http)",
        parents=[common],
    )
    serve.add_argument("target", metavar="MODULE:ATTR", help="an Agent, list of Agents or Runner")
    serve.add_argument("--http", action="store_true", help="Streamable HTTP instead of stdio")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on with --http (127.0.0.1)"
    )
    serve.add_argument(
        "--port", type=int, default=8000, help="port to listen on with --http (8000)"
    )
    serve.add_argument("--tools", action="store_true", help="also offer the agents' own tools")
    add_store_option(serve)
    serve.set_defaults(handler=_cmd_serve)
