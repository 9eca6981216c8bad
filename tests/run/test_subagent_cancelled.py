"""A subagent's run that was cancelled on its own while its parent waited on it (an older
``tether runs cancel`` of the child, a cancel recorded by another process) does not let the
parent go on as if it had answered: the call fails with a RunCancelled naming the child's
run, as the subagent failure policy says (by default the model is told and the run ends
``degraded``; ``fail_run`` fails the parent with it), and the approved tool never runs."""

from __future__ import annotations

import time
from typing import Any

import pytest
from _nested_agents import top

from tether import FailSafeConfig, RunConfig, Runner
from tether.errors import RunCancelled
from tether.events import RunFinished
from tether.store import MemoryStore


async def _child_cancelled(
    store: MemoryStore, runner: Runner, ran: list[str]
) -> tuple[str, Any, str]:
    """A top run waiting on its leaf's approval, the leaf's run then cancelled in the store
    (as a cancel recorded by another process writes it): (the top run's id, the pending call,
    the child run's id)."""
    paused = await runner.run(top(ran, depth=1), "please pay")
    [pending] = paused.pending_approvals
    [waits] = [e for e in await store.load(paused.run_id) if e.type == "subagent_suspended"]
    child = await runner.load_state(waits.child_run_id)  # type: ignore[attr-defined]
    assert child.status == "awaiting_approval"
    cancel = RunFinished(
        run_id=child.run_id,
        seq=child.seq + 1,
        at=time.time(),
        state="cancelled",
        error="superseded",
        error_type="RunCancelled",
    )
    await store.append(child.run_id, [cancel])
    return paused.run_id, pending, child.run_id


async def test_the_parent_is_told_the_subagent_was_cancelled() -> None:
    ran: list[str] = []
    store = MemoryStore()
    runner = Runner(store=store, telemetry=None)
    run_id, pending, child_id = await _child_cancelled(store, runner, ran)
    done = await runner.resume(run_id, approvals={pending.call_id: True})
    assert ran == []  # the child's approved tool did not run: its run was cancelled
    said = f"the subagent run {child_id} (leaf) was cancelled: superseded"
    assert done.state == "degraded" and said in str(done.output)
    assert any(said in reason for reason in done.degraded_reasons)
    [failed] = done.tool_executions
    assert failed.tool_name == "leaf" and not failed.success
    assert failed.error is not None and failed.error.startswith("RunCancelled: " + said)
    [sub] = done.subagent_executions
    assert (sub.state, sub.run_id) == ("cancelled", child_id)
    child = await runner.load_state(child_id)
    assert child.status == "cancelled"  # the child's log is left as it was
    await runner.aclose()


async def test_a_fail_run_policy_fails_the_parent_with_run_cancelled() -> None:
    ran: list[str] = []
    store = MemoryStore()
    runner = Runner(store=store, telemetry=None)
    run_id, pending, child_id = await _child_cancelled(store, runner, ran)
    strict = RunConfig(fail_safe=FailSafeConfig(subagent="fail_run"))
    with pytest.raises(RunCancelled, match=f"subagent run {child_id} \\(leaf\\) was cancelled"):
        await runner.resume(run_id, approvals={pending.call_id: True}, run_config=strict)
    assert ran == []
    await runner.aclose()
