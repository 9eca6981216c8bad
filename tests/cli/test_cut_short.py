"""A tool call a crash cut short (started, never finished, not idempotent) is decided from the
command line: ``tether runs approve`` runs it again, ``--reject --reason`` tells the model what
happened; each through the real entry point, after a real SIGKILL."""

from __future__ import annotations

import json
import signal
import time

import pexpect

from .conftest import Cli
from .test_chat import _spawn
from .test_followups import _printed


def _events(cli: Cli, run_id: str) -> list[dict[str, object]]:
    shown = json.loads(cli("runs", "show", run_id, "--json").out)
    events: list[dict[str, object]] = shown["events"]
    return events


def test_an_edited_call_cut_short_in_the_debugger_runs_again_with_the_edit(cli: Cli) -> None:
    child = _spawn(cli, "debug", "cli_app:agent", "deploy it", "--break", "tool:deploy")
    try:
        child.expect(r"reject: ")
        child.sendline("y")
        child.expect(r"run ([0-9a-f]{32}) · turn 1")
        run_id = child.match.group(1)
        child.expect(r"\(debug\) ")
        child.sendline('args {"env": "staging"}')
        child.expect(r"\(debug\) ")
        child.sendline("step")  # the approval of prod does not cover staging: asked again
        child.expect(r'approve deploy\(\{"env": "staging"\}\)\? .*reject: ')
        child.sendline("y")
        child.expect("⏸ breakpoint step after approval_requested")
        for after in ("approval_decided", "tool_call_started"):
            child.expect(r"\(debug\) ")
            child.sendline("step")  # at last the call is started (in the log), the tool not run
            child.expect(f"⏸ breakpoint step after {after}")
        child.expect(r"\(debug\) ")
        child.kill(signal.SIGKILL)
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert cli.executions() == []

    resumed = cli("runs", "resume", run_id)
    assert resumed.code == 1, resumed.out + resumed.err  # interrupted: not run again by itself
    assert "stopped with call call_1_0 cut short (idempotency key tether-" in resumed.out
    again = _printed(resumed.out, "tether runs approve")
    assert again == ["runs", "approve", run_id, "call_1_0"]
    assert cli.executions() == []
    done = cli(*again)
    assert done.code == 0, done.out + done.err
    assert "the tool said deployed to staging" in done.out
    assert cli.executions() == ["deploy staging"]  # the edit holds on the resumed run
    events = _events(cli, run_id)
    edits = [e for e in events if e["type"] == "tool_args_edited"]
    assert len(edits) == 1 and edits[0]["args"] == {"env": "staging"}
    finished = [e for e in events if e["type"] == "tool_call_finished"]
    assert [e["args"] for e in finished] == [{"env": "staging"}]
    twice = cli(*again)
    assert twice.code == 2 and cli.executions() == ["deploy staging"]


def test_a_call_cut_short_by_a_crash_is_rejected_with_what_happened(cli: Cli) -> None:
    process = cli.popen("run", "cli_app:agent", "be slow")
    try:
        deadline = time.monotonic() + 20
        while cli.executions() != ["wait_long started"]:
            assert time.monotonic() < deadline, "the tool never started"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        process.communicate(timeout=10)
    (row,) = json.loads(cli("runs", "ls", "--json").out)
    assert row["state"] == "running"  # killed: nothing said how it ended
    recorded = cli("runs", "approve", row["run_id"], "call_1_0", "--reject", "--no-resume")
    assert recorded.code == 2 and "drop --no-resume" in recorded.err, recorded.err
    told = cli(
        "runs", "approve", row["run_id"], "call_1_0", "--reject", "--reason", "it was stopped"
    )
    assert told.code == 0, told.out + told.err
    assert "the tool said The call was rejected: it was stopped" in told.out
    assert cli.executions() == ["wait_long started"]  # not run again
