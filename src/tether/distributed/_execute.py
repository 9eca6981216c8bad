"""One run of a batch, the same on every engine: start it, or continue it from the store."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import TetherError

__all__ = ["execute", "run_all"]


async def run_all(count: int, one: Callable[[int], Awaitable[None]]) -> None:
    """``one(index)`` for every index at once; the first error is raised as itself (not in an
    ExceptionGroup, as ``asyncio.gather`` does), after the other runs are cancelled."""
    tasks = [asyncio.ensure_future(one(index)) for index in range(count)]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def execute(
    runner: Any,
    agent: Any,
    input: Any,
    run_id: str,
    deps: Any,
    run_config: Any,
    return_exceptions: bool = False,
) -> Any:
    """The run's Result. A run the store already has is resumed (a retried task continues from
    its last checkpoint: no recorded model call is repeated, no finished tool call re-run; a
    finished run just returns its Result). A failed run returns its Result (state ``failed``);
    an error with no Result is raised, or returned with ``return_exceptions``."""
    store = runner.store
    try:
        if store is not None and await store.run_info(run_id) is not None:
            return await runner.resume(run_id, agent, deps=deps, run_config=run_config)
        return await runner.run(agent, input, deps=deps, run_id=run_id, run_config=run_config)
    except TetherError as exc:
        result = getattr(exc, "result", None)
        if result is not None:
            return result
        if return_exceptions:
            return exc
        raise
    except Exception as exc:
        if return_exceptions:  # like asyncio.gather: the exception takes the run's place
            return exc
        raise
