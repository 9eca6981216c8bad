"""``run_many``: a batch of runs, results in input order, on the local or the Ray engine."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any, Literal

from ..errors import UserError
from ._agents import AgentRef, Progress, load_agent
from ._execute import execute, run_all

__all__ = ["run_many", "run_many_sync"]

Engine = Literal["local", "ray"]


def run_ids_for(batch_id: str, count: int) -> list[str]:
    """The run id of each input: stable for a batch id, so a batch run again resumes its runs."""
    return [f"{batch_id}-{index}" for index in range(count)]


async def run_many(
    agent: AgentRef,
    inputs: Sequence[Any],
    *,
    store: str | None = None,
    concurrency: int = 16,
    engine: Engine = "local",
    ray_address: str | None = None,
    workers: int | None = None,
    batch_id: str | None = None,
    run_ids: Sequence[str] | None = None,
    deps: Any = None,
    run_config: Any = None,
    telemetry: Any = None,
    progress: Progress | None = None,
    return_exceptions: bool = False,
) -> list[Any]:
    """Run ``agent`` once per input, at most ``concurrency`` at a time; Results in input order.

    ``store`` is a store URL; with one, every run is checkpointed and a batch run again with the
    same ``batch_id`` (or ``run_ids``) resumes unfinished runs and returns finished ones. On Ray
    the store must be shared by the workers (PostgreSQL, or SQLite on one machine), and Ray's
    retries of a killed worker continue each run from its checkpoint; without one, a run whose
    worker died is not retried (it would run its tools again) and fails ``RunInterrupted``.
    ``workers`` is the number of Ray actors (default: the cluster's CPUs, at most
    ``concurrency``); each runs several runs at once on its own event loop. A failed run gives
    its Result with state ``failed``; an error that ends a run without a Result (a model or
    hook that raised) is raised as itself and ends the batch, or, with
    ``return_exceptions=True``, takes that input's place.
    """
    if not isinstance(concurrency, int) or concurrency < 1:
        raise UserError(f"concurrency must be a positive integer, not {concurrency!r}")
    if engine not in ("local", "ray"):
        raise UserError(f"engine must be 'local' or 'ray', not {engine!r}")
    inputs = list(inputs)
    if run_ids is None:
        run_ids = run_ids_for(batch_id or uuid.uuid4().hex[:12], len(inputs))
    elif len(run_ids) != len(inputs):
        raise UserError(f"run_ids has {len(run_ids)} ids for {len(inputs)} inputs")
    if engine == "ray":
        from ._ray import run_on_ray

        return await run_on_ray(
            agent, inputs, list(run_ids), store=store, concurrency=concurrency,
            address=ray_address, workers=workers, deps=deps, run_config=run_config,
            telemetry=telemetry, progress=progress, return_exceptions=return_exceptions,
        )  # fmt: skip
    return await _run_local(
        load_agent(agent), inputs, list(run_ids), store, concurrency, deps, run_config,
        telemetry, progress, return_exceptions,
    )  # fmt: skip


async def _run_local(
    agent: Any,
    inputs: list[Any],
    run_ids: list[str],
    store: str | None,
    concurrency: int,
    deps: Any,
    run_config: Any,
    telemetry: Any,
    progress: Progress | None,
    return_exceptions: bool,
) -> list[Any]:
    from ..run.runner import Runner

    runner = Runner(store=store, telemetry=telemetry)
    gate = asyncio.Semaphore(concurrency)
    results: list[Any] = [None] * len(inputs)
    done = 0

    async def one(index: int) -> None:
        nonlocal done
        async with gate:
            result = await execute(
                runner, agent, inputs[index], run_ids[index], deps, run_config, return_exceptions
            )
        results[index] = result
        done += 1
        if progress is not None:
            progress(index, result, done)

    try:
        await run_all(len(inputs), one)
    finally:
        await runner.aclose()
    return results


def run_many_sync(agent: AgentRef, inputs: Sequence[Any], **options: Any) -> list[Any]:
    """:func:`run_many` for scripts: runs its own event loop."""
    return asyncio.run(run_many(agent, inputs, **options))
