"""``tether debug`` through a pseudo-terminal, and ``runner.start(..., breakpoints=...)``."""

from __future__ import annotations

import json
import re
import signal

import pexpect
import pytest

from tether import Runner
from tether.errors import UserError

from .cli_app import agent
from .conftest import Cli
from .test_chat import _spawn


def test_break_edit_args_step_continue(cli: Cli) -> None:
    child = _spawn(
        cli, "debug", "cli_app:agent", "please add", "--break", "tool:add", "--break", "turn:2"
    )
    try:
        child.expect(r'⏸ breakpoint tool:add before add\(\{"a": 20, "b": 22\}\)')
        child.expect(r"run ([0-9a-f]{32}) · turn 1 · 2 message\(s\)")
        run_id = child.match.group(1)
        child.expect(r'open call call_1_0: add\(\{"a": 20, "b": 22\}\)')
        child.expect(r"\(debug\) ")
        # a real pause: another process sees the log so far, checkpointed, the tool not run
        shown = json.loads(cli.here("runs", "show", run_id, "--json").out)
        types = [e["type"] for e in shown["events"]]
        assert types[-1] == "progress" and "model_response" in types
        assert "tool_call_started" not in types and cli.executions() == []
        child.sendline("args")
        child.expect(r'\{"a": 20, "b": 22\}')
        child.expect(r"\(debug\) ")
        child.sendline('args {"a": 1, "b": "two"}')
        child.expect("Invalid arguments for tool 'add'")
        child.expect(r"\(debug\) ")
        child.sendline('args {"a": 1, "b": 2}')
        child.expect(r"arguments now \{\"a\": 1, \"b\": 2\} \(recorded in the log;")
        child.expect(r"\(debug\) ")
        # recorded as it was made: another process sees the edit while the run is still paused
        shown = json.loads(cli.here("runs", "show", run_id, "--json").out)
        edits = [e for e in shown["events"] if e["type"] == "tool_args_edited"]
        assert len(edits) == 1 and "tool_call_started" not in [e["type"] for e in shown["events"]]
        child.sendline("step")
        child.expect("✎ add arguments edited")
        child.expect("⏸ breakpoint step after tool_call_started")
        child.expect(r"\(debug\) ")
        child.sendline("continue")
        child.expect("← add: 3")
        child.expect("⏸ breakpoint turn:2 after turn_started")
        child.expect(r"\(debug\) ")
        child.sendline("messages")
        child.expect("user: please add")
        child.expect("tool: 3")
        child.expect(r"\(debug\) ")
        child.sendline("c")
        child.expect("the tool said 3")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    assert cli.executions() == ["add 1 2"]
    events = json.loads(cli.here("runs", "show", run_id, "--json").out)["events"]
    edited = [e for e in events if e["type"] == "tool_args_edited"]
    assert len(edited) == 1
    assert edited[0]["args"] == {"a": 1, "b": 2} and edited[0]["previous"] == {"a": 20, "b": 22}
    assert not any(e["type"] == "breakpoint_hit" for e in events)  # pauses are not history


def test_skip_and_quit(cli: Cli) -> None:
    child = _spawn(cli, "debug", "cli_app:agent", "please add", "--break", "tool:add")
    try:
        child.expect(r"\(debug\) ")
        child.sendline("skip")
        child.expect("the tool said Skipped: the call to 'add' was skipped in the debugger.")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0 and cli.executions() == []
    child = _spawn(cli, "debug", "cli_app:agent", "hi", "--break", "event:model_response")
    try:
        child.expect("⏸ breakpoint event:model_response after model_response")
        child.expect(r"\(debug\) ")
        child.sendline("quit")
        child.expect("cancelled")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 1


def test_a_breakpoint_on_a_subagents_tool_pauses_inside_its_run(cli: Cli) -> None:
    child = _spawn(cli, "debug", "cli_app:boss", "please add", "--break", "tool:add")
    try:
        child.expect(r'⏸ breakpoint tool:add before add\(\{"a": 20, "b": 22\}\) in subagent ')
        child.expect(r"cli-agent \(run of ([0-9a-f]{32})\)")
        boss_id = child.match.group(1)
        child.expect(r"run ([0-9a-f]{32}) · turn 1")
        sub_id = child.match.group(1)
        child.expect(r"\(debug\) ")
        assert sub_id != boss_id
        # a real pause of the child's own run, seen from another process
        shown = json.loads(cli.here("runs", "show", sub_id, "--json").out)
        types = [e["type"] for e in shown["events"]]
        assert "model_response" in types and "tool_call_started" not in types
        child.sendline('args {"a": 1, "b": 2}')
        child.expect("recorded in the log")
        child.expect(r"\(debug\) ")
        child.sendline("continue")
        child.expect("the boss heard: the tool said 3")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0 and cli.executions() == ["add 1 2"]
    events = json.loads(cli.here("runs", "show", sub_id, "--json").out)["events"]
    assert [e["args"] for e in events if e["type"] == "tool_args_edited"] == [{"a": 1, "b": 2}]


def test_killed_at_a_subagents_pause_then_debugged_again_with_resume(cli: Cli) -> None:
    """SIGKILL at a pause inside the subagent after an edit; ``tether debug --resume`` pauses
    there again (the edit kept) and runs the call once."""
    child = _spawn(cli, "debug", "cli_app:boss", "please add", "--break", "tool:add")
    try:
        child.expect(r"\(run of ([0-9a-f]{32})\)")
        boss_id = child.match.group(1)
        child.expect(r"\(debug\) ")
        child.sendline('args {"a": 2, "b": 5}')
        child.expect("recorded in the log")
        child.expect(r"\(debug\) ")
        child.kill(signal.SIGKILL)
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert cli.executions() == []
    both = cli.here("debug", "cli_app:boss", "hi", "--resume", boss_id)
    assert both.code == 2 and "or --resume RUN_ID" in both.err
    child = _spawn(cli, "debug", "cli_app:boss", "--resume", boss_id, "--break", "tool:add")
    try:
        child.expect(r'⏸ breakpoint tool:add before add\(\{"a": 2, "b": 5\}\) in subagent ')
        child.expect(f"run of {boss_id}")
        child.expect(r"\(debug\) ")
        child.sendline("c")
        child.expect("the boss heard: the tool said 7")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0 and cli.executions() == ["add 2 5"]


def test_bad_breakpoints_are_named(cli: Cli) -> None:
    for where, words in (
        ("tool", "must be tool:NAME, event:TYPE or turn:N"),
        ("turn:zero", "the turn must be a number from 1"),
        ("event:nope", "no event type 'nope'; a run can pause after approval_decided"),
        ("event:text_delta", "a stream or debugger event"),
        ("event:run_finished", "a stream or debugger event"),
    ):
        done = cli.here("debug", "cli_app:agent", "hi", "--break", where)
        assert done.code == 2 and words in done.err, done.err


async def test_breakpoints_from_python() -> None:
    runner = Runner(store="memory://", telemetry=None)
    with pytest.raises(UserError, match="must be tool:NAME"):
        await runner.start(agent, "please add", breakpoints=["nowhere"])
    handle = await runner.start(agent, "please add", breakpoints=["tool:add"])
    seen: list[str] = []
    async for event in handle.events:
        seen.append(event.type)
        if event.type == "breakpoint_hit":
            debugger = handle.debugger
            assert debugger is not None and debugger.paused is event
            assert handle.status == "running"
            assert debugger.snapshot()["open_calls"][0]["args"] == {"a": 20, "b": 22}
            with pytest.raises(UserError, match="Invalid arguments"):
                await debugger.edit_args({"a": "x"})
            await debugger.edit_args({"a": 2, "b": 3})
            await debugger.resume()
            with pytest.raises(UserError, match="not paused"):
                await debugger.resume()
    result = await handle.result()
    assert result.final_text == "the tool said 5"
    assert result.tool_executions[0].args == {"a": 2, "b": 3}
    calls = [p for m in result.messages for p in m.parts if getattr(p, "kind", "") == "tool_call"]
    assert [json.loads(c.arguments) for c in calls] == [{"a": 2, "b": 3}]  # the edited call
    store = runner.store
    assert store is not None
    logged = [e for e in await store.load(result.run_id) if e.type == "model_response"]
    first = [p for p in logged[0].parts if getattr(p, "kind", "") == "tool_call"]
    assert json.loads(first[0].arguments) == {"a": 20, "b": 22}  # what the model sent
    assert re.search("breakpoint_hit.*tool_args_edited.*tool_call_started", " ".join(seen))
    await runner.aclose()


def test_an_edit_survives_a_crash_at_the_pause(cli: Cli) -> None:
    """SIGKILL at a pause after the edit: resumed elsewhere, the call runs with the edit."""
    child = _spawn(cli, "debug", "cli_app:agent", "please double", "--break", "tool:double")
    try:
        child.expect(r"run ([0-9a-f]{32}) · turn 1")
        run_id = child.match.group(1)
        child.expect(r"\(debug\) ")
        child.sendline('args {"x": 21}')
        child.expect("recorded")
        child.expect(r"\(debug\) ")
        child.sendline("step")
        child.expect("⏸ breakpoint step after tool_call_started")
        child.expect(r"\(debug\) ")
        child.kill(signal.SIGKILL)  # the tool has not run; the log holds the edit
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert cli.executions() == []
    resumed = cli("runs", "resume", run_id)
    assert resumed.code == 0, resumed.out + resumed.err
    assert "the tool said 42" in resumed.out
    assert cli.executions() == ["double 21"]
