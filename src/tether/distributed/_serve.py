"""The Ray engine of ``tether serve``: the server's runs execute in Ray actors.

The API process keeps what it always keeps (the run's lease, its followers, the store reads);
only the run's execution moves: starting it, continuing it after a decision, resuming it. Each
call goes to one async actor of a pool the server owns (several runs at a time per actor). A
killed actor is restarted and its calls retried by Ray; a retried call finds its run in the
shared store and continues from the checkpoint, dropping the decisions already recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import TetherError, UserError
from ._ray import check_store, connect, pickle_check

if TYPE_CHECKING:
    from ..agent import Agent
    from ..results import Result
    from ..run.runner import Runner
    from ..store.base import Store

__all__ = ["RayRunExecutor", "WorkerSource"]

#: How a worker builds its Runner: ``("import", "MODULE:ATTR", store)`` loads what
#: ``tether serve`` serves, the same way; ``("runner", options)`` builds one from pickled options.
WorkerSource = tuple[Any, ...]

_RUNS_PER_WORKER = 256  # runs wait on models, not on the CPU: one actor holds many
_ACTOR: Any = None


class _ServeWorker:
    """One Ray actor: a Runner on the shared store, executing the server's runs."""

    def __init__(self, source: WorkerSource) -> None:
        self._runner = _worker_runner(source)
        self._tasks: dict[str, asyncio.Task[Any]] = {}  # the task executing each run here
        self._runner._lease_resumes = False  # the server holds each run's lease while we run it

    async def run(self, agent: str, input: Any, run_id: str, thread_id: str | None) -> Any:
        runner = self._runner
        store = runner.store
        assert store is not None
        if await store.run_info(run_id) is not None:  # a retry: continue from the checkpoint
            return await self._tracked(run_id, runner.resume(run_id))
        call = runner.run(agent, input, run_id=run_id, thread_id=thread_id)
        return await self._tracked(run_id, call)

    async def stop(self, run_id: str, message: str) -> None:
        """Cancel the task executing the run here with the server's ``message`` (a Ray
        cancellation carries none): a cancel ends the run ``cancelled``, a drain's hand-over
        records nothing (tether._cut_short)."""
        task = self._tasks.get(run_id)
        if task is not None:
            task.cancel(message)

    async def _tracked(self, run_id: str, call: Any) -> Any:
        """:func:`_settled` of ``call``, its task kept by run id for :meth:`stop`."""
        task = asyncio.current_task()
        assert task is not None
        self._tasks[run_id] = task
        try:
            return await _settled(call)
        finally:
            if self._tasks.get(run_id) is task:
                del self._tasks[run_id]

    async def resume(
        self,
        run_id: str,
        approvals: Mapping[str, Any] | None,
        inputs: dict[str, Any] | None,
        after: int,
    ) -> Any:
        from ..events import ApprovalDecided, InputProvided

        runner = self._runner
        store = runner.store
        assert store is not None
        # A retried call finds the decisions it recorded (after seq `after`): not made twice.
        recorded = {
            (type(e), e.call_id)
            for e in await store.load(run_id)
            if e.seq > after and isinstance(e, ApprovalDecided | InputProvided)
        }
        approvals = {
            k: v for k, v in (approvals or {}).items() if (ApprovalDecided, k) not in recorded
        }
        inputs = {k: v for k, v in (inputs or {}).items() if (InputProvided, k) not in recorded}
        call = runner.resume(run_id, approvals=approvals or None, inputs=inputs or None)
        return await self._tracked(run_id, call)

    async def resolve_deferred(self, run_id: str, call_id: str, output: Any) -> Any:
        runner = self._runner
        state = await runner.load_state(run_id)
        if call_id not in state.deferred:  # delivered before the retry
            return await self._tracked(run_id, runner.resume(run_id))
        return await self._tracked(run_id, runner.resolve_deferred(run_id, call_id, output))

    def pid(self) -> int:
        return os.getpid()


async def _settled(call: Any) -> Any:
    """The call's Result; a run that failed with a Result gives that Result (as the server's
    own drive does), an error without one is raised to the server."""
    try:
        return await call
    except TetherError as exc:
        result = getattr(exc, "result", None)
        if result is None:
            raise
        return result


def _worker_runner(source: WorkerSource) -> Runner:
    if source[0] == "import":
        from ..server._targets import load_runner

        _, target, store = source
        return load_runner(target, store)
    from ..run.runner import Runner

    _, options = source
    return Runner(**options)


def _actor_class() -> Any:
    global _ACTOR
    if _ACTOR is None:
        import ray

        # Restarted whenever it dies (a server outlives many workers); each call retried.
        _ACTOR = ray.remote(max_restarts=-1, max_task_retries=4)(_ServeWorker)
    return _ACTOR


def worker_source(runner: Runner, target: str | None) -> WorkerSource:
    """What the workers need to build their Runner: the import path when the server has one
    (``tether serve`` does), else the Runner's agents and settings, pickled."""
    from ..run.runner import Runner
    from ..server._targets import import_target

    spec = getattr(runner, "_store_spec", None)
    url = check_store(spec if isinstance(spec, str) else None, what="engine='ray'")
    if target is not None:
        own = isinstance(import_target(target), Runner)
        return ("import", target, None if own else url)
    telemetry = getattr(runner, "_telemetry_spec", None)
    options = {
        "store": url,
        "telemetry": telemetry if isinstance(telemetry, str) else None,
        "policy_hooks": runner.policy_hooks,
        "config": runner.config,
        "agents": list(getattr(runner, "_agents", {}).values()),
    }
    return ("runner", options)


class RayRunExecutor:
    """Executes a server's runs on a Ray cluster (see docs/scaling.md); the Runner's methods."""

    def __init__(
        self,
        runner: Runner,
        *,
        address: str | None,
        target: str | None = None,
        workers: int | None = None,
    ) -> None:
        source = worker_source(runner, target)
        store = runner.store
        assert store is not None  # worker_source refused a Runner without one
        self._store: Store = store
        self._ray = ray = connect(address)
        if workers is None:
            workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        reason = pickle_check(source)  # a clear error now, not on each run
        if reason is not None:
            raise UserError(
                f"the served agents cannot be pickled for the Ray workers ({reason}): serve "
                "them by import path (tether serve MODULE:ATTR, or ServerConfig(target=...))"
            )
        # Kept referenced as long as the server lives: a restarted actor is built from it again.
        self._source = shared = ray.put(source)
        actor = _actor_class().options(
            max_concurrency=_RUNS_PER_WORKER, num_cpus=0, scheduling_strategy="SPREAD"
        )
        self._pool = [actor.remote(shared) for _ in range(workers)]
        self._turn = itertools.cycle(self._pool)

    async def run(
        self, agent: Agent | str, input: Any, *, run_id: str, thread_id: str | None = None
    ) -> Result[Any]:
        """Start the run on a worker; its Result."""
        name = agent if isinstance(agent, str) else agent.name
        return await self._call(run_id, "run", name, input, run_id, thread_id)

    async def resume(
        self,
        run_id: str,
        *,
        approvals: Mapping[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
    ) -> Result[Any]:
        """Continue the run on a worker (with decisions); its Result."""
        events = await self._store.load(run_id)
        after = events[-1].seq if events else 0
        return await self._call(run_id, "resume", run_id, approvals, inputs, after)

    async def resolve_deferred(self, run_id: str, call_id: str, output: Any) -> Result[Any]:
        """Deliver a deferred call's result on a worker; the run's Result."""
        return await self._call(run_id, "resolve_deferred", run_id, call_id, output)

    async def _call(self, run_id: str, method: str, *args: Any) -> Result[Any]:
        from .._cut_short import is_cancel, is_hand_over

        ray = self._ray
        worker = next(self._turn)
        ref = getattr(worker, method).remote(*args)
        try:
            result: Result[Any] = await ref
            return result
        except asyncio.CancelledError as stop:
            # Stop the run on its worker too (cancel, drain), and wait until it has stopped:
            # whatever the server records next comes after the run's last event. A cancel of
            # the run reaches it as one (it ends cancelled), a drain's as a hand-over.
            if is_cancel(stop) or is_hand_over(stop):
                with contextlib.suppress(Exception):
                    stopped = worker.stop.remote(run_id, stop.args[0])
                    await asyncio.wait_for(asyncio.shield(stopped), 10)
            ray.cancel(ref)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(_ended(ref)), 30)
            raise
        except ray.exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            raise cause if isinstance(cause, BaseException) else exc from None

    def close(self) -> None:
        """End the worker actors (the server is shutting down)."""
        for worker in self._pool:
            with contextlib.suppress(Exception):
                self._ray.kill(worker)


async def _ended(ref: Any) -> None:
    with contextlib.suppress(Exception):
        await ref
