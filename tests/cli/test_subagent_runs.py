"""A subagent's run that its parent waits on is acted on through the parent: ``tether runs``
points there instead of resuming or cancelling the child alone (which left the parent to finish
with an empty answer); cancelling the parent cancels the child with it."""

from __future__ import annotations

import json

import pexpect

from .conftest import Cli
from .test_followups import _one_line_error


def test_a_waited_on_subagent_run_points_to_its_parent(cli: Cli) -> None:
    waiting = cli("run", "cli_app:boss", "deploy it")
    assert waiting.code == 3, waiting.out + waiting.err
    rows = {r["agent"]: r for r in json.loads(cli("runs", "ls", "--json").out)}
    boss, child = rows["cli-boss"]["run_id"], rows["cli-agent"]["run_id"]
    assert rows["cli-agent"]["parent_run_id"] == boss

    shown = cli("runs", "show", child)
    assert shown.code == 0, shown.err
    assert f"a subagent's run that run {boss} waits on: act on it there: " in shown.out
    assert f"tether runs show {boss}" in shown.out
    assert f"tether runs approve {child}" not in shown.out  # it would be refused
    _one_line_error(cli("runs", "resume", child), 2, "waits on: resume that run instead")
    _one_line_error(cli("runs", "cancel", child), 2, "waits on: cancel that run instead")

    cancelled = cli("runs", "cancel", boss)
    assert cancelled.code == 0, cancelled.err
    after = {r["agent"]: r for r in json.loads(cli("runs", "ls", "--json").out)}
    assert [after[a]["state"] for a in ("cli-boss", "cli-agent")] == ["cancelled", "cancelled"]
    assert after["cli-agent"]["pending_approvals"] == []  # nothing asked of anyone any more
    events = json.loads(cli("runs", "show", child, "--json").out)["events"]
    assert f"its parent run {boss} was cancelled" in events[-1]["error"]
    assert cli.executions() == []


def test_a_subagent_call_that_waited_is_shown_once(cli: Cli) -> None:
    # the parent's log starts the call again when the child continues (two tool_call_started
    # for call_1_0, a subagent_suspended between): the terminal shows one call
    done = cli("run", "cli_app:boss", "deploy it", "--approve-all")
    assert done.code == 0, done.out + done.err
    lines = done.out.splitlines()
    assert lines[:4] == [
        '→ ops({"input": "deploy it"})',
        '⏸ approval needed: deploy({"env": "prod"}) call call_1_0.call_1_0',
        "  approved call_1_0.call_1_0",
        "  ← ops: the tool said deployed to prod",
    ], done.out
    assert cli.executions() == ["deploy prod"]
    # decided from another process, the continued call is shown there once too
    waiting = cli("run", "cli_app:boss", "deploy it")
    assert waiting.code == 3 and waiting.out.count("→ ops") == 1, waiting.out
    boss = next(r for r in json.loads(cli("runs", "ls", "--json").out) if r["pending_approvals"])
    approved = cli("runs", "approve", boss["run_id"], boss["pending_approvals"][0])
    assert approved.code == 0, approved.out + approved.err
    assert approved.out.count("→ ops") == 1 and "← ops: the tool said deployed" in approved.out


def test_a_chat_shows_the_next_runs_subagent_call(cli: Cli) -> None:
    # the first message's subagent call waits (deferred) and is not continued; the next
    # message's run has a call of the same id (ids restart in every run): hiding the restart
    # of a suspended call must not hide that one
    from .test_chat import _spawn

    child = _spawn(cli, "chat", "cli_app:boss")
    try:
        child.expect("you> ")
        child.sendline("render it later")
        child.expect(r"→ ops\(\{\"input\": \"render it later\"\}\)")
        child.expect("you> ")
        child.sendline("please add")
        child.expect(r"→ ops\(\{\"input\": \"please add\"\}\)")
        child.expect("the boss heard: the tool said 42")
        child.expect("you> ")
        child.sendeof()
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
