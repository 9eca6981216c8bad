"""A debugger's edit of a paused tool call is in the run's log (and stored) as soon as it is
made, so a run killed at the pause and resumed elsewhere runs the edited call once; and an
edited call is judged again: an approval given for the arguments before the edit does not
cover the edited ones (the run asks again, with them)."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Any

import pytest
from _debug_app import build, spawn

from tether import Runner
from tether.errors import UserError
from tether.governance.approval import args_digest


async def test_an_edit_is_stored_when_it_is_made_and_the_run_stays_paused() -> None:
    sent: list[int] = []
    runner = Runner(store="memory://", telemetry=None)
    store = runner.store
    assert store is not None
    handle = await runner.start(build(False, sent), "pay", breakpoints=["tool:transfer"])
    hits = 0
    async for event in handle.events:
        if event.type == "breakpoint_hit":
            hits += 1
            debugger = handle.debugger
            assert debugger is not None
            await debugger.edit_args({"amount": 7})
            stored = [e for e in await store.load(handle.run_id) if e.type == "tool_args_edited"]
            assert [(e.args, e.previous) for e in stored] == [({"amount": 7}, {"amount": 500})]  # type: ignore[attr-defined]
            assert debugger.paused is event and sent == []  # still paused, nothing ran
            assert debugger.snapshot()["open_calls"][0]["args"] == {"amount": 7}
            await debugger.edit_args({"amount": 5})  # a second edit: logged from the first
            await debugger.resume()
    result = await handle.result()
    assert (result.state, result.output) == ("completed", "bank says: sent 5")
    assert sent == [5] and hits == 1  # judged again as edited, not paused at again
    edits = [e for e in await store.load(result.run_id) if e.type == "tool_args_edited"]
    assert [(e.previous, e.args) for e in edits] == [  # type: ignore[attr-defined]
        ({"amount": 500}, {"amount": 7}),
        ({"amount": 7}, {"amount": 5}),
    ]
    await runner.aclose()


async def _edited_after_approval(second: str) -> tuple[Any, list[int], list[Any], Any]:
    """Approve transfer(500), edit it to 5 at the breakpoint, go on; ``second`` decides the
    new request (``approve`` / ``reject``). (result, sent, approvals asked, the run's log)."""
    sent: list[int] = []
    runner = Runner(store="memory://", telemetry=None)
    handle = await runner.start(build(True, sent), "pay", breakpoints=["tool:transfer"])
    asked: list[Any] = []
    statuses: list[str] = []
    async for event in handle.events:
        if event.type == "approval_requested":
            asked.append(event.args)  # type: ignore[attr-defined]
            statuses.append(handle.status)
            call_id = event.call_id  # type: ignore[attr-defined]
            if len(asked) == 1 or second == "approve":
                await handle.approve(call_id)
            else:
                await handle.reject(call_id, "not that either")
        elif event.type == "breakpoint_hit" and not sent:
            debugger = handle.debugger
            assert debugger is not None
            await debugger.edit_args({"amount": 5})
            await debugger.resume()
        elif event.type == "breakpoint_hit":
            raise AssertionError("paused again after the tool ran")
    result = await handle.result()
    assert statuses == ["awaiting_approval", "awaiting_approval"]
    assert runner.store is not None
    log = await runner.store.load(result.run_id)
    await runner.aclose()
    return result, sent, asked, log


async def test_an_edit_after_approval_is_asked_about_again_and_runs_once_approved() -> None:
    result, sent, asked, log = await _edited_after_approval("approve")
    assert asked == [{"amount": 500}, {"amount": 5}]  # the edited arguments are asked about
    assert sent == [5]
    assert result.tool_executions[0].args == {"amount": 5}
    decided = [e.args_digest for e in log if e.type == "approval_decided"]
    assert decided == [args_digest({"amount": 500}), args_digest({"amount": 5})]


async def test_an_edit_after_approval_that_is_then_rejected_never_runs() -> None:
    result, sent, asked, _log = await _edited_after_approval("reject")
    assert asked == [{"amount": 500}, {"amount": 5}]
    assert sent == []  # neither the approved arguments nor the edited ones ran
    assert any("not that either" in r for r in result.degraded_reasons)


def _killed_at_the_pause(store: str, ledger: Path, gated: bool) -> str:
    with spawn("pause", store, "1" if gated else "0", ledger=ledger) as paused:
        try:
            assert paused.stdout is not None and paused.stderr is not None
            line = paused.stdout.readline()  # printed once the edit returned, paused after it
            assert line, paused.stderr.read()
            run_id = str(json.loads(line)["run_id"])
            paused.send_signal(signal.SIGKILL)
            paused.wait(timeout=30)
        finally:
            if paused.poll() is None:
                paused.kill()
    assert paused.returncode == -signal.SIGKILL
    assert not ledger.exists()  # the tool had not run
    return run_id


def _resumed(store: str, ledger: Path, gated: bool, run_id: str, *call: str) -> Any:
    with spawn("resume", store, "1" if gated else "0", run_id, *call, ledger=ledger) as done:
        out, err = done.communicate(timeout=60)
    assert done.returncode == 0, err
    return json.loads(out)


@pytest.mark.allow_blocking
@pytest.mark.parametrize("gated", [False, True], ids=["plain", "approved-before-the-edit"])
def test_killed_at_the_pause_after_an_edit_a_fresh_process_runs_the_edit_once(
    tmp_path: Path, gated: bool
) -> None:
    store, ledger = f"sqlite:///{tmp_path / 'runs.db'}", tmp_path / "ledger.txt"
    run_id = _killed_at_the_pause(store, ledger, gated)
    outcome = _resumed(store, ledger, gated, run_id)
    if gated:  # the approval of 500 does not cover 5: the resumed run asks for 5
        assert outcome["state"] == "awaiting_approval"
        [pending] = outcome["pending"]
        assert pending["args"] == {"amount": 5} and not ledger.exists()
        outcome = _resumed(store, ledger, gated, run_id, pending["call_id"])
    assert (outcome["state"], outcome["output"]) == ("completed", "bank says: sent 5")
    assert ledger.read_text().splitlines() == ["5"]
    again = _resumed(store, ledger, gated, run_id)  # finished: nothing runs again
    assert again["output"] == "bank says: sent 5"
    assert ledger.read_text().splitlines() == ["5"]


async def test_an_edit_refused_when_the_run_is_not_at_a_tool_pause() -> None:
    runner = Runner(store=None, telemetry=None)
    handle = await runner.start(build(False), "pay", breakpoints=["event:model_response"])
    async for event in handle.events:
        if event.type == "breakpoint_hit":
            debugger = handle.debugger
            assert debugger is not None
            with pytest.raises(UserError, match="at a tool breakpoint only"):
                await debugger.edit_args({"amount": 1})
            await debugger.resume()
    assert (await handle.result()).output == "bank says: sent 500"
    await asyncio.sleep(0)
