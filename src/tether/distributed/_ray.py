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
from ..errors import RunInterrupted, UserError
from ._agents import Progress
from ._execute import run_all

__all__ = [
    "absolute_store",
    "check_reachable",
    "check_store",
    "connect",
    "pickle_check",
    "run_on_ray",
]

_WORKER: Any = None  # the actor class, made on first use so `import tether` never loads Ray


class _BatchWorker:
    """One Ray actor: a Runner on the shared store, running several runs on its event loop."""

    def __init__(self, store: str | None, telemetry: Any) -> None:
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
    """``store`` when Ray workers can share it (a URL, not memory; a relative SQLite path made
    absolute), else a clear UserError."""
    if store is None or store.startswith("memory://"):
        raise UserError(
            f"{what} needs a store the workers share (store='postgresql://...', or "
            "'sqlite:///path' when every worker is on this machine): a retried run continues "
            "from its checkpoint there"
        )
    return absolute_store(store)


def absolute_store(url: str) -> str:
    """A relative SQLite path made absolute: the workers do not share this process's current
    directory (a cluster's workers start in the directory its head was started in)."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url[len(prefix) :].startswith("/"):
        return prefix + os.path.abspath(url[len(prefix) :])
    return url


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


def _worker_lost(run_id: str, store: str | None) -> RunInterrupted:
    """The error of a run whose Ray worker died for good (no retry left, or none allowed)."""
    if store is None:
        why = (
            "without a store the run has no checkpoint to continue from, so it is not retried "
            "(its tools would run again): pass store='postgresql://...' (or 'sqlite:///path' "
            "on one machine) to have Ray's retry continue it"
        )
    else:
        why = f"Ray's retries are spent; runner.resume({run_id!r}) continues it from the store"
    return RunInterrupted(f"run {run_id!r}: its Ray worker died mid-run; {why}")


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
    """Run the batch on Ray actors; see :func:`tether.distributed.run_many`. Without a store
    the runs are not checkpointed, so Ray does not retry a run whose worker died (it would run
    its tools again): that run fails with :class:`~tether.errors.RunInterrupted`."""
    if store is not None:
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
            method = worker.run if store is not None else worker.run.options(max_task_retries=0)
            call = method.remote(
                shared, inputs[index], run_ids[index], deps, run_config, return_exceptions
            )
            try:
                results[index] = await call
            except ray.exceptions.RayActorError:
                lost = _worker_lost(run_ids[index], store)
                if not return_exceptions:
                    raise lost from None
                results[index] = lost
        done += 1
        if progress is not None:
            progress(index, results[index], done)

    try:
        await run_all(len(inputs), one)
    finally:
        for worker in pool:
            ray.kill(worker)
    return results
