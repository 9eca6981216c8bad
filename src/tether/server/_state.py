"""What every endpoint reaches through ``request.app.state.tether``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request

from ._config import ServerConfig
from ._manager import RunManager

if TYPE_CHECKING:
    from ..agent import Agent
    from ..run.runner import Runner

__all__ = ["Served", "served"]


@dataclass(slots=True)
class Served:
    """The runner, its run manager, the server's settings and the agents it serves."""

    runner: Runner
    manager: RunManager
    config: ServerConfig
    agents: dict[str, Agent]


def served(request: Request) -> Served:
    """The server's state, from a request."""
    state: Served = request.app.state.tether
    return state
