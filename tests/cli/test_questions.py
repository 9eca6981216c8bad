"""``tether run`` asks a tool's question (``ctx.request_input``) at the terminal."""

from __future__ import annotations

import pexpect

from .conftest import Cli
from .test_chat import _spawn


def test_run_asks_a_tools_question(cli: Cli) -> None:
    child = _spawn(cli, "run", "cli_app:agent", "greet me")
    try:
        child.expect(r"\? greet asks: What is your name\?")
        child.expect(r"greet asks: What is your name\? ")
        child.sendline("Ada")
        child.expect("the tool said hello Ada")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0 and cli.executions() == ["greet Ada"]
