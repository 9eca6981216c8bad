"""Taking over the run of a dead replica (the sweeper's): which runs, and a takeover that fails.

A sweep resumes a run whose lease expired when the run has no end, or was handed over at a
drain (:func:`takeable`). A resume that raises before anything more is in the run's log (a
store error before it recorded anything, say) must not release the lease: nobody would look at
the run again and it would stay ``running``. Its lease is handed over (expired at once) so that
a later sweep tries again; after :data:`TAKEOVER_TRIES` failed takeovers of the run in one
replica it is recorded ``failed`` with the reason (:func:`after_takeover`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from .._cut_short import CONSUMER_STOPPED
from .._log_scrub import get_logger
from ..events import RunFinished
from ..results import RunState
from ..store.base import Store
from ._execution import Execution
from ._executor import RunExecutor

__all__ = ["TAKEOVER_TRIES", "after_takeover", "resumer", "takeable"]

#: Failed takeovers of one run in one replica after which it is recorded ``failed``.
TAKEOVER_TRIES = 3

_log = get_logger("tether.server")


def takeable(state: RunState) -> bool:
    """Whether a sweep resumes the run: it has no end, or it was handed over at a drain (ended
    cut short where it stood, to go on elsewhere)."""
    return not state.finished or (state.status == "interrupted" and state.error == CONSUMER_STOPPED)


async def after_takeover(
    store: Store, execution: Execution, failures: dict[str, int]
) -> Literal["retry", "failed", "release"]:
    """What to do with a takeover's lease once it stopped: ``retry`` (hand it over: its resume
    raised and the run's log is as the sweep left it), ``failed`` (the TAKEOVER_TRIES-th such
    failure: its end is recorded here, release it) or ``release`` (the run went on, or ended by
    itself). ``failures`` counts the failed takeovers by run."""
    run_id, error = execution.run_id, execution.error
    if error is None:
        failures.pop(run_id, None)
        return "release"
    try:
        state = RunState.from_events(run_id, await store.load(run_id))
    except Exception:
        return "retry"  # the store is away: a later sweep looks again
    if not takeable(state) or state.seq > execution.after:
        # it ended (a failure the run recorded itself), or its log grew: a replica whose
        # heartbeat came late still drives it (our first write collided), and it takes its
        # lease back at its next heartbeat
        failures.pop(run_id, None)
        return "release"
    tries = failures[run_id] = failures.get(run_id, 0) + 1
    if tries < TAKEOVER_TRIES:
        return "retry"
    end = RunFinished(
        run_id=run_id,
        seq=state.seq + 1,
        at=time.time(),
        state="failed",
        final_text=state.final_text,
        error=f"taking the run over failed {tries} times, the last: {type(error).__name__}: "
        f"{error}",
        error_type=type(error).__name__,
    )
    try:
        await store.append(run_id, [end])
    except Exception:
        return "retry"  # still away: recorded after the next failed takeover
    failures.pop(run_id, None)
    _log.warning("tether: run %s recorded failed after %d failed takeovers", run_id, tries)
    return "failed"


def resumer(executor: RunExecutor, run_id: str) -> Callable[[], Awaitable[Any]]:
    """The step of a takeover: resume the run, logging why when it fails (nobody waits)."""

    async def step() -> Any:
        try:
            return await executor.resume(run_id)
        except Exception as exc:  # nobody waits for a takeover's answer: say why it failed
            _log.warning(
                "tether: taking over run %s failed: %s: %s", run_id, type(exc).__name__, exc
            )
            raise

    return step
