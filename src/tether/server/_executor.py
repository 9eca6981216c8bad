"""Where a server's runs execute: in this process (the Runner itself) or on Ray workers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ._config import ServerConfig

if TYPE_CHECKING:
    from ..agent import Agent
    from ..results import Result
    from ..run.runner import Runner

__all__ = ["RunExecutor", "executor_for"]


class RunExecutor(Protocol):
    """Executes runs the server drives: a :class:`~tether.Runner` is one (the local engine).

    The server keeps each run's lease and followers; the executor only runs it, so another
    (a Ray cluster) can take the work while the API process stays thin.
    """

    async def run(
        self, agent: Agent | str, input: Any, *, run_id: str, thread_id: str | None = None
    ) -> Result[Any]:
        """Start a run and give its Result."""
        ...

    async def resume(
        self,
        run_id: str,
        *,
        approvals: Mapping[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
    ) -> Result[Any]:
        """Continue a stored run (with decisions) and give its Result."""
        ...

    async def resolve_deferred(self, run_id: str, call_id: str, output: Any) -> Result[Any]:
        """Deliver a deferred call's result and give the run's Result."""
        ...


def executor_for(runner: Runner, config: ServerConfig) -> RunExecutor:
    """The executor ``config.engine`` names: the Runner, or Ray workers (extra ``tether[ray]``)."""
    if config.engine != "ray":
        return runner
    from .._extras import require

    require("ray", "ray")
    from ..distributed._serve import RayRunExecutor

    return RayRunExecutor(
        runner, address=config.ray_address, target=config.target, workers=config.ray_workers
    )
