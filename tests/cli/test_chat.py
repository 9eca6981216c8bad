"""``tether chat`` and ``tether run``'s inline approvals, driven through a pseudo-terminal."""

from __future__ import annotations

import json

import pexpect

from .conftest import Cli

# pexpect compiles patterns with re.DOTALL: a ``.*`` runs across lines and swallows the next
# line when both arrive in one read, so patterns here say ``[^\n]*``.


def _spawn(cli: Cli, *args: str) -> pexpect.spawn:
    child = pexpect.spawn(
        cli.argv(*args)[0],
        cli.argv(*args)[1:],
        cwd=str(cli.cwd),
        env={**cli.env, "TERM": "dumb"},  # no styles between the words the test looks for
        encoding="utf-8",
        timeout=20,
        dimensions=(40, 200),
    )
    return child


def test_chat_keeps_a_thread_history_commands_approvals_and_survives_ctrl_c(cli: Cli) -> None:
    child = _spawn(cli, "chat", "cli_app:agent", "--thread", "t-chat")
    try:
        child.expect("thread t-chat")
        child.expect("you> ")
        child.sendline("hello")
        child.expect(r"you said hello \(message 1\)")
        child.expect("you> ")
        child.send("\x1b[A\r")  # up arrow: the previous line again (readline history)
        child.expect(r"you said hello \(message 2\)")  # same thread: the model saw both
        child.expect("you> ")
        child.sendline("/thread")
        child.expect("thread t-chat")
        child.expect("you> ")
        child.sendline("/usage")
        child.expect("2 requests")
        child.expect("you> ")

        child.sendline("slow please")
        child.expect("→ wait_long")
        child.sendintr()  # Ctrl-C: cancels this answer, not the chat
        child.expect(r"cancelled \(the chat goes on\)")
        child.expect("you> ")
        child.sendline("still there?")
        child.expect(r"you said still there\? \(message \d\)")
        child.expect("you> ")

        child.sendline("deploy it")
        child.expect(r"approve deploy\(\{\"env\": \"prod\"\}\)\? ")
        child.sendline("y")
        child.expect("the tool said deployed to prod")
        child.expect("you> ")
        child.sendline("deploy again")
        child.expect("approve deploy")
        child.sendline("not during the freeze")
        child.expect("the tool said The call was rejected: not during the freeze")
        child.expect("you> ")

        child.sendline("/new")
        child.expect("new thread chat-")
        child.expect("you> ")
        child.sendline("fresh start")
        child.expect(r"you said fresh start \(message 1\)")
        child.expect("you> ")
        child.sendline("/nonsense")
        child.expect("unknown command /nonsense")
        child.expect("you> ")
        child.sendline("/exit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    assert cli.executions() == ["wait_long started", "deploy prod"]


def test_run_asks_for_approval_on_a_terminal(cli: Cli) -> None:
    child = _spawn(cli, "run", "cli_app:agent", "deploy it")
    try:
        child.expect("⏸ approval needed: deploy")
        child.expect(r"approve deploy\([^\n]*\)\? ")
        child.sendline("yes")
        child.expect("the tool said deployed to prod")
        child.expect("completed.* · 2 turns")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    assert cli.executions() == ["deploy prod"]


def test_ctrl_c_cancels_tether_run(cli: Cli) -> None:
    child = _spawn(cli, "run", "cli_app:agent", "slow please")
    try:
        child.expect("→ wait_long")
        child.sendintr()
        child.expect(r"cancelled \(Ctrl-C\)")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 130
    rows = cli.here("runs", "ls", "--json").out
    assert '"state": "cancelled"' in rows  # the cancelled run was recorded as such


def test_run_stops_at_a_deferred_call(cli: Cli) -> None:
    child = _spawn(cli, "run", "cli_app:agent", "do it later")
    try:
        child.expect(r"render_later deferred[^\n]*job-7")
        child.expect(r"stopping[^\n]*waits for ticket 'job-7'; the run is kept: tether runs resume")
        child.expect(r"tether runs deliver [0-9a-f]{32} call_1_0 \"the result\"")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 3  # waits for a person: resolvable from another process


def test_chat_history_is_kept_across_chats(cli: Cli) -> None:
    cli.env["TETHER_CHAT_HISTORY"] = str(cli.cwd / "history")
    for line in ("remember this line", None):
        child = _spawn(cli, "chat", "cli_app:agent")
        try:
            child.expect("you> ")
            if line is not None:
                child.sendline(line)
            else:
                child.send("\x1b[A\r")  # up arrow in a new chat: the last chat's line
            child.expect(r"you said remember this line \(message 1\)")
            child.expect("you> ")
            child.sendeof()
            child.expect(pexpect.EOF)
        finally:
            child.close(force=True)
        assert child.exitstatus == 0
    assert "remember this line" in (cli.cwd / "history").read_text()


def test_runs_approve_on_a_terminal_shows_the_continued_run(cli: Cli) -> None:
    waiting = cli.here("run", "cli_app:agent", "deploy it", "--json")
    result = json.loads(waiting.out)
    run_id, call_id = result["run_id"], result["pending_approvals"][0]["call_id"]
    child = _spawn(cli, "runs", "approve", run_id, call_id)
    try:
        child.expect(f"approved {call_id}; run {run_id} resumed")
        child.expect(r'→ deploy\(\{"env": "prod"\}\)')
        child.expect("← deploy: deployed to prod")
        child.expect("the tool said deployed to prod")
        child.expect("completed")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0 and cli.executions() == ["deploy prod"]
