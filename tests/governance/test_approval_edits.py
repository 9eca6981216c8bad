"""Approvals carry edited arguments and an expiry; each binds to the arguments it approved."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tether import Agent, Message, Runner
from tether.errors import UserError
from tether.governance import Approval
from tether.governance.approval import args_digest
from tether.messages import ToolCallPart
from tether.models import FunctionModel
from tether.models.base import ModelResponse
from tether.models.testing import AgentInfo
from tether.store import open_store


def _bank(moved: list[int], calls: list[ToolCallPart], *, reuse: bool = False) -> Agent:
    """A model that asks ``calls`` once; with ``reuse`` it asks the same calls again after."""

    def answer(messages: list[Message], info: AgentInfo) -> Any:
        turn = sum(m.role == "assistant" for m in messages)
        if turn == 0 or (reuse and turn == 1):
            return ModelResponse(list(calls))
        return "done: " + "; ".join(r.content for m in messages for r in m.tool_results)

    agent = Agent("bank", model=FunctionModel(answer), max_turns=5)

    @agent.tool(needs_approval=True)
    def transfer(amount: int, to: str = "acct-1") -> str:
        """Move money."""
        moved.append(amount)
        return f"moved {amount} to {to}"

    return agent


def _pay(call_id: str, amount: int) -> ToolCallPart:
    return ToolCallPart(call_id, "transfer", f'{{"amount": {amount}}}')


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'runs.db'}"


async def _events(url: str, run_id: str) -> list[Any]:
    store = open_store(url)
    try:
        return await store.load(run_id)
    finally:
        await store.close()


@pytest.mark.parametrize("shape", ["approval", "mapping"])
async def test_an_approval_with_edited_arguments_runs_the_edit(url: str, shape: str) -> None:
    moved: list[int] = []
    calls = [_pay("call-1", 5000)]
    first = Runner(store=open_store(url))
    result = await first.run(_bank(moved, calls), "pay")
    await first.aclose()
    assert [p.args for p in result.pending_approvals] == [{"amount": 5000}]
    edit: Any = (
        Approval(args={"amount": 50})
        if shape == "approval"
        else {"approved": True, "args": {"amount": 50}}
    )
    second = Runner(store=open_store(url))  # another Runner over the same store
    result = await second.resume(result.run_id, _bank(moved, calls), approvals={"call-1": edit})
    await second.aclose()
    assert result.state == "completed" and moved == [50]
    (record,) = result.tool_executions
    assert record.args == {"amount": 50} and record.output == "moved 50 to acct-1"
    events = await _events(url, result.run_id)
    kinds = [e.type for e in events]
    edited = next(e for e in events if e.type == "tool_args_edited")
    decided = next(e for e in events if e.type == "approval_decided")
    assert kinds.index("tool_args_edited") < kinds.index("approval_decided")
    assert edited.previous == {"amount": 5000} and edited.args == {"amount": 50}
    assert decided.approved and decided.args_digest == args_digest({"amount": 50})
    # the model was shown the call as it ran
    shown = [p for m in result.messages for p in m.tool_calls]
    assert [p.args_dict() for p in shown] == [{"amount": 50}]


@pytest.mark.parametrize("how", ["resume", "handle"])
async def test_an_edit_under_redact_tool_args_is_redacted_and_runs_once(url: str, how: str) -> None:
    """The edit goes through step 1 of the chain as the model's arguments do: the log holds
    the redacted edit, the approval binds to it, and the call runs (it asked again for ever)."""
    from tether.governance import PIIRedactionHook, PolicyHooks

    moved: list[int] = []
    calls = [_pay("call-1", 5000)]
    hooks = PolicyHooks(pii_redaction=PIIRedactionHook(redact_tool_args=True))
    runner = Runner(store=open_store(url), policy_hooks=hooks)
    edit = {"amount": 50, "to": "ana.private@example.com"}
    if how == "resume":
        paused = await runner.run(_bank(moved, calls), "pay")
        result = await runner.resume(paused.run_id, approvals={"call-1": Approval(args=edit)})
    else:
        handle = await runner.start(_bank(moved, calls), "pay")
        async for event in handle.events:
            if event.type == "approval_requested":
                await handle.approve("call-1", args=edit)
        result = await handle.result()
    await runner.aclose()
    assert result.state == "completed" and moved == [50]
    (record,) = result.tool_executions
    assert record.output == "moved 50 to [REDACTED_EMAIL]"
    events = await _events(url, result.run_id)
    edited = next(e for e in events if e.type == "tool_args_edited")
    decided = next(e for e in events if e.type == "approval_decided")
    assert edited.args == {"amount": 50, "to": "[REDACTED_EMAIL]"}
    assert decided.args_digest == args_digest(edited.args)
    assert "ana.private" not in repr([e.to_dict() for e in events])
    assert [e.type for e in events].count("approval_requested") == 1


@pytest.mark.allow_blocking  # the command's own loop reads files, as the command does
async def test_an_edit_recorded_without_the_hooks_runs_under_redact_tool_args(url: str) -> None:
    """`tether runs approve --args ... --no-resume` records the raw edit (the command has no
    hooks); a Runner with redact_tool_args=True then runs the call once, redacted, instead of
    asking again: the approval holds for the arguments as given."""
    import asyncio
    import contextlib
    import io
    import json

    from tether.cli import main
    from tether.governance import PIIRedactionHook, PolicyHooks

    moved: list[int] = []
    calls = [_pay("call-1", 5000)]
    hooks = PolicyHooks(pii_redaction=PIIRedactionHook(redact_tool_args=True))
    runner = Runner(store=open_store(url), policy_hooks=hooks)
    paused = await runner.run(_bank(moved, calls), "pay")
    edit = json.dumps({"amount": 50, "to": "ana.private@example.com"})
    argv = ["runs", "approve", paused.run_id, "call-1", "--args", edit, "--no-resume"]

    def approve() -> int:  # the command, in this process (off the loop: it blocks)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            return main([*argv, "--store", url])

    out = io.StringIO()
    assert await asyncio.to_thread(approve) == 0, out.getvalue()
    result = await runner.resume(paused.run_id, _bank(moved, calls))
    await runner.aclose()
    assert result.state == "completed" and moved == [50]
    assert result.tool_executions[0].output == "moved 50 to [REDACTED_EMAIL]"
    events = await _events(url, result.run_id)
    assert [e.type for e in events].count("approval_requested") == 1


async def test_edited_arguments_that_do_not_fit_the_tool_are_refused(url: str) -> None:
    moved: list[int] = []
    calls = [_pay("call-1", 5)]
    runner = Runner(store=open_store(url))
    result = await runner.run(_bank(moved, calls), "pay")
    with pytest.raises(UserError, match="do not fit tool 'transfer'"):
        await runner.resume(
            result.run_id,
            _bank(moved, calls),
            approvals={"call-1": Approval(args={"amount": "lots"})},
        )
    with pytest.raises(UserError, match="unknown field"):
        await runner.resume(result.run_id, _bank(moved, calls), approvals={"call-1": {"ok": True}})
    with pytest.raises(UserError, match="with an approval only"):
        await runner.resume(
            result.run_id,
            _bank(moved, calls),
            approvals={"call-1": Approval(False, args={"amount": 1})},
        )
    with pytest.raises(UserError, match="expires_at or expires_in"):
        await runner.resume(
            result.run_id,
            _bank(moved, calls),
            approvals={"call-1": Approval(expires_at=1.0, expires_in=1.0)},
        )
    assert [e.type for e in await _events(url, result.run_id)][-2:] == [
        "approval_requested",
        "run_finished",
    ]
    result = await runner.resume(result.run_id, _bank(moved, calls), approvals={"call-1": True})
    await runner.aclose()
    assert result.state == "completed" and moved == [5]  # nothing was recorded by the refusals


async def test_an_expired_approval_is_refused_and_the_call_asks_again(url: str) -> None:
    moved: list[int] = []
    calls = [_pay("call-1", 5)]
    runner = Runner(store=open_store(url))
    result = await runner.run(_bank(moved, calls), "pay")
    lapsed = Approval(expires_at=time.time() - 1)
    result = await runner.resume(result.run_id, _bank(moved, calls), approvals={"call-1": lapsed})
    assert result.state == "awaiting_approval" and moved == []
    assert [p.call_id for p in result.pending_approvals] == ["call-1"]
    events = await _events(url, result.run_id)
    expired = next(e for e in events if e.type == "approval_expired")
    assert "expired at" in expired.message and "needs a new approval" in expired.message
    assert [e.type for e in events][-3:] == [
        "approval_expired",
        "approval_requested",
        "run_finished",
    ]
    # an expiry not yet reached lets the call run (once)
    result = await runner.resume(
        result.run_id, _bank(moved, calls), approvals={"call-1": Approval(expires_in=3600)}
    )
    await runner.aclose()
    assert result.state == "completed" and moved == [5]
    decided = [e for e in await _events(url, result.run_id) if e.type == "approval_decided"]
    assert decided[-1].expires_at is not None and decided[-1].expires_at > time.time() + 3000


async def test_parallel_approvals_with_edits_each_bind_to_their_own_call(url: str) -> None:
    moved: list[int] = []
    calls = [_pay("pay-a", 1), _pay("pay-b", 2), _pay("pay-c", 3)]
    runner = Runner(store=open_store(url))
    result = await runner.run(_bank(moved, calls), "pay")
    decisions: dict[str, Any] = {
        "pay-a": Approval(args={"amount": 10}),
        "pay-b": "no",
        "pay-c": Approval(expires_at=time.time() - 5),
    }
    result = await runner.resume(result.run_id, _bank(moved, calls), approvals=decisions)
    assert moved == [10] and result.state == "awaiting_approval"
    assert [(p.call_id, p.args) for p in result.pending_approvals] == [("pay-c", {"amount": 3})]
    result = await runner.resume(result.run_id, _bank(moved, calls), approvals={"pay-c": True})
    await runner.aclose()
    assert sorted(moved) == [3, 10]
    done = {t.tool_call_id: t for t in result.tool_executions}
    assert done["pay-a"].args == {"amount": 10} and done["pay-c"].args == {"amount": 3}
    assert not done["pay-b"].success
    digests = {
        e.call_id: e.args_digest
        for e in await _events(url, result.run_id)
        if e.type == "approval_decided" and e.approved
    }
    assert digests == {"pay-a": args_digest({"amount": 10}), "pay-c": args_digest({"amount": 3})}


@pytest.mark.parametrize("again", [5000, 50], ids=["changed", "same-as-approved"])
async def test_an_approval_is_used_once_and_binds_to_what_was_approved(
    url: str, again: int
) -> None:
    """After an edit to 50, the model sends the call id again (a resumed model call): with
    other arguments, or even with the approved ones, it needs a new approval."""
    moved: list[int] = []

    def answer(messages: list[Message], info: AgentInfo) -> Any:
        turn = sum(m.role == "assistant" for m in messages)
        if turn == 0:
            return ModelResponse([_pay("call-1", 5000)])
        if turn == 1:
            return ModelResponse([_pay("call-1", again)])
        return "done"

    def build() -> Agent:
        agent = Agent("bank", model=FunctionModel(answer), max_turns=5)

        @agent.tool(needs_approval=True)
        def transfer(amount: int) -> str:
            """Move money."""
            moved.append(amount)
            return f"moved {amount}"

        return agent

    runner = Runner(store=open_store(url))
    result = await runner.run(build(), "pay")
    result = await runner.resume(
        result.run_id, build(), approvals={"call-1": Approval(args={"amount": 50})}
    )
    assert moved == [50] and result.state == "awaiting_approval"
    assert [p.args for p in result.pending_approvals] == [{"amount": again}]
    result = await runner.resume(result.run_id, build(), approvals={"call-1": "not twice"})
    await runner.aclose()
    assert moved == [50]


async def test_the_arguments_of_a_cut_short_call_cannot_be_edited(url: str) -> None:
    from tether.events import ToolCallStarted

    moved: list[int] = []
    calls = [_pay("call-1", 5)]
    runner = Runner(store=open_store(url))
    result = await runner.run(_bank(moved, calls), "pay")
    result = await runner.resume(result.run_id, _bank(moved, calls), approvals={"call-1": True})
    assert moved == [5]
    state = await runner.load_state(result.run_id)
    state.started["call-1"] = ToolCallStarted(
        call_id="call-1", tool_name="transfer", args={"amount": 5}
    )
    from tether.governance._decisions import decision_events

    with pytest.raises(UserError, match="cannot be edited"):
        decision_events(state, "call-1", Approval(args={"amount": 6}), lambda a, t: None)
    await runner.aclose()


async def test_a_live_run_is_approved_with_edited_arguments(url: str) -> None:
    """``handle.approve(call_id, args=...)`` on a run waiting in this process, streamed."""
    moved: list[int] = []
    agent = _bank(moved, [_pay("call-1", 5000)])
    runner = Runner(store=open_store(url))
    handle = await runner.start(agent, "pay")
    kinds: list[str] = []
    async for event in handle.events:
        kinds.append(event.type)
        if event.type == "approval_requested":
            with pytest.raises(UserError, match="do not fit tool 'transfer'"):
                await handle.approve(event.call_id, args={"amount": "all of it"})
            await handle.approve(event.call_id, args={"amount": 25})
    result = await handle.result()
    await runner.aclose()
    assert result.state == "completed" and moved == [25]
    assert kinds.index("tool_args_edited") < kinds.index("approval_decided")
    assert result.tool_executions[0].args == {"amount": 25}
    decided = next(e for e in await _events(url, result.run_id) if e.type == "approval_decided")
    assert decided.args_digest == args_digest({"amount": 25})


async def test_a_replay_serves_the_approved_edited_call_and_runs_nothing(url: str) -> None:
    """Replaying (tools live) a run whose call was approved with an edit: the call is served
    from the record as it ran, so no tool runs again and no approval is asked for."""
    moved: list[int] = []
    calls = [_pay("call-1", 5000)]
    runner = Runner(store=open_store(url))
    paused = await runner.run(_bank(moved, calls), "pay")
    edited = Approval(args={"amount": 50})
    done = await runner.resume(paused.run_id, _bank(moved, calls), approvals={"call-1": edited})
    assert moved == [50]
    replayed = await runner.replay(done.run_id, agent=_bank(moved, calls), tools="live")
    await runner.aclose()
    assert moved == [50] and replayed.state == "completed" and not replayed.pending_approvals
    assert replayed.tool_executions[0].output == "moved 50 to acct-1"


async def test_an_approval_recorded_now_and_used_after_its_expiry_asks_again(url: str) -> None:
    """The decision is recorded (``tether runs approve --no-resume``'s code) and acted on by a
    later resume in another Runner, after the approval lapsed."""
    import asyncio

    from tether.cli._ops import apply_decision

    moved: list[int] = []
    calls = [_pay("call-1", 5)]
    first = Runner(store=open_store(url))
    paused = await first.run(_bank(moved, calls), "pay")
    await apply_decision(
        first, paused.run_id, "call-1", approved=True, resume=False, expires_in=0.05
    )
    await first.aclose()
    await asyncio.sleep(0.1)
    later = Runner(store=open_store(url))
    result = await later.resume(paused.run_id, _bank(moved, calls))
    assert result.state == "awaiting_approval" and moved == []
    assert [p.call_id for p in result.pending_approvals] == ["call-1"]
    result = await later.resume(paused.run_id, _bank(moved, calls), approvals={"call-1": True})
    await later.aclose()
    assert result.state == "completed" and moved == [5]


async def test_an_approval_for_the_arguments_seen_is_refused_when_they_changed(url: str) -> None:
    """The person approves what they saw (``args_digest`` of the pending call): when the call
    pending under that id has other arguments by then (a reused id), the approval is refused."""
    moved: list[int] = []

    def answer(messages: list[Message], info: AgentInfo) -> Any:
        turn = sum(m.role == "assistant" for m in messages)
        if turn < 2:
            return ModelResponse([_pay("call-1", 5 if turn == 0 else 5000)])
        return "done"

    def build() -> Agent:
        agent = Agent("bank", model=FunctionModel(answer), max_turns=5)

        @agent.tool(needs_approval=True)
        def transfer(amount: int) -> str:
            """Move money."""
            moved.append(amount)
            return f"moved {amount}"

        return agent

    runner = Runner(store=open_store(url))
    paused = await runner.run(build(), "pay")
    (seen,) = paused.pending_approvals
    assert seen.args_digest == args_digest({"amount": 5})
    result = await runner.resume(
        paused.run_id, build(), approvals={"call-1": Approval(args_digest=seen.args_digest)}
    )
    assert moved == [5] and result.pending_approvals[0].args == {"amount": 5000}
    # the same approval again (a double click, a stale screen): not for these arguments
    with pytest.raises(UserError, match="other arguments than those the decision was made for"):
        await runner.resume(
            paused.run_id, build(), approvals={"call-1": {"args_digest": seen.args_digest}}
        )
    await runner.aclose()
    assert moved == [5]
