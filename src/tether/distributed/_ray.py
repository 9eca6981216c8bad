"""The Ray engine: async actors run several runs each; Ray retries a killed worker's calls, and
each retried run continues from its checkpoint in the shared store."""

from __future__ import annotations

import asyncio
import itertools
import math
import os
import socket
from typing import Any

from .._extras import require
from ..errors import UserError
from ._agents import Progress

__all__ = ["check_reachable", "check_store", "connect", "pickle_check", "run_on_ray"]

_WORKER: Any = None  # the actor class, made on first use so `import tether` never loads Ray


class _BatchWorker:
    """One Ray actor: a Runner on the shared store, running several runs on its event loop."""

    def __init__(self, store: str, telemetry: Any) -> None:
        from ..run.runner import Runner

        self._runner = Runner(store=store, telemetry=telemetry)
        self._agents: dict[str, Any] = {}

    async def run(
        self, agent: Any, input: Any, run_id: str, deps: Any, run_config: Any, catch: bool
    ) -> Any:
        from ._agents import load_agent
        from ._execute import execute

        if isinstance(agent, str):  # imported once per worker
            agent = self._agents.get(agent) or self._agents.setdefault(agent, load_agent(agent))
        return await execute(
            self._runner, load_agent(agent), input, run_id, deps, run_config, catch
        )

    def pid(self) -> int:
        return os.getpid()


def _worker_class() -> Any:
    global _WORKER
    if _WORKER is None:
        import ray

        # A killed worker process is restarted, and its unfinished calls retried (they resume).
        _WORKER = ray.remote(max_restarts=4, max_task_retries=4)(_BatchWorker)
    return _WORKER


def connect(address: str | None) -> Any:
    """The ray module, connected to the cluster at ``address`` (None: one of this machine)."""
    require("ray", "ray")
    import ray

    if not ray.is_initialized():
        if address is not None:
            check_reachable(address)
        path = os.pathsep.join(p for p in (os.getcwd(), os.environ.get("PYTHONPATH")) if p)
        options: dict[str, Any] = {}
        if address is None:  # a cluster of this machine alone: keep it on loopback
            options = {"_node_ip_address": "127.0.0.1", "include_dashboard": False}
        ray.init(
            address=address,
            ignore_reinit_error=True,
            log_to_driver=False,
            runtime_env={"env_vars": {"PYTHONPATH": path}},  # workers import the agent's module
            **options,
        )
    return ray


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """A clear UserError when nothing answers at a cluster's ``host:port`` (``ray.init`` would
    otherwise retry for minutes, logging only warnings). ``auto`` and names without a port are
    left to Ray."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit() or not host:
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        why = exc.strerror or ("timed out" if isinstance(exc, TimeoutError) else repr(exc))
        raise UserError(
            f"no Ray cluster answers at {address!r} ({why}); start one there with "
            "`ray start --head`, or leave the address out to run a local instance"
        ) from None


def check_store(store: str | None, what: str = "engine='ray'") -> str:
    """``store`` when Ray workers can share it (a URL, not memory), else a clear UserError."""
    if store is None or store.startswith("memory://"):
        raise UserError(
            f"{what} needs a store the workers share (store='postgresql://...', or "
            "'sqlite:///path' when every worker is on this machine): a retried run continues "
            "from its checkpoint there"
        )
    return store


def pickle_check(value: Any) -> str | None:
    """Why ``value`` cannot be pickled for Ray (cloudpickle's own short reason, never the
    value: it may hold a store URL with its password), or None when it can."""
    from ray import cloudpickle

    try:
        cloudpickle.dumps(value)  # type: ignore[no-untyped-call]
    except Exception as exc:  # cloudpickle's errors have no common type
        lines = str(exc).strip().splitlines() or [type(exc).__name__]
        return lines[0][:200]
    return None


def _shared_agent(ray: Any, agent: Any) -> Any:
    """The agent in Ray's object store: pickled once per batch, not once per run."""
    reason = pickle_check(agent)
    if reason is not None:
        raise UserError(
            f"agent {agent.name!r} cannot be pickled for the Ray workers ({reason}): pass its "
            "import path instead ('package.module:attribute'), which each worker imports"
        )
    return ray.put(agent)


def _placements(ray: Any, workers: int) -> list[Any]:
    """Where each worker actor goes: round-robin over the nodes that have CPUs (soft, so a
    node that is gone is replaced by another). Ray's SPREAD is best effort, and with actors
    that ask for no CPU it can put them all on one node."""
    nodes = [n["NodeID"] for n in ray.nodes() if n.get("Alive") and n["Resources"].get("CPU")]
    if len(nodes) < 2:
        return ["SPREAD"] * workers
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    return [
        NodeAffinitySchedulingStrategy(node_id=nodes[i % len(nodes)], soft=True)
        for i in range(workers)
    ]


async def run_on_ray(
    agent: Any,
    inputs: list[Any],
    run_ids: list[str],
    *,
    store: str | None,
    concurrency: int,
    address: str | None,
    workers: int | None,
    deps: Any,
    run_config: Any,
    telemetry: Any,
    progress: Progress | None,
    return_exceptions: bool = False,
) -> list[Any]:
    """Run the batch on Ray actors; see :func:`tether.distributed.run_many`."""
    store = check_store(store)
    ray = connect(address)
    from ..agent import Agent

    if workers is None:
        workers = max(1, min(concurrency, int(ray.cluster_resources().get("CPU", 1))))
    per_worker = math.ceil(concurrency / workers)
    shared = _shared_agent(ray, agent) if isinstance(agent, Agent) else agent
    worker_class = _worker_class()
    pool = [
        worker_class.options(
            max_concurrency=per_worker, num_cpus=0, scheduling_strategy=place
        ).remote(store, telemetry)
        for place in _placements(ray, workers)
    ]
    gate = asyncio.Semaphore(concurrency)
    results: list[Any] = [None] * len(inputs)
    turn = itertools.cycle(pool)
    done = 0

    async def one(index: int) -> None:
        nonlocal done
        async with gate:
            worker = next(turn)
            call = worker.run.remote(
                shared, inputs[index], run_ids[index], deps, run_config, return_exceptions
            )
            results[index] = await call
        done += 1
        if progress is not None:
            progress(index, results[index], done)

    try:
        async with asyncio.TaskGroup() as group:
            for index in range(len(inputs)):
                group.create_task(one(index))
    finally:
        for worker in pool:
            ray.kill(worker)
    return results
