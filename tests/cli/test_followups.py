"""What ``tether`` prints for a person to do next works when pasted, and its errors are one line.

Every command here runs through the real entry point in a fresh process; a printed follow-up
command is parsed from the output and run as it is.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import socket
import subprocess

from tether import RunConfig, Runner

from .cli_app import agent
from .conftest import HERE, Cli, Done


def _printed(out: str, start: str) -> list[str]:
    """The arguments of the ``tether ...`` command on the line that begins with ``start``."""
    lines = [line.strip() for line in out.splitlines() if line.strip().startswith(start)]
    assert lines, out
    command = lines[0][lines[0].index("tether ") :]  # the whole rest of the line: pasteable
    words = shlex.split(command)
    assert words[0] == "tether", lines[0]
    return words[1:]


def _headless_run_from_python(cli: Cli) -> str:
    """A run awaiting approval that no ``tether run`` started (no agent spec in its log)."""

    async def go() -> str:
        runner = Runner(store=cli.store, telemetry=None)
        try:
            config = RunConfig(interaction_mode="headless")
            result = await runner.run(agent, "deploy it", run_config=config)
        finally:
            await runner.aclose()
        assert result.state == "awaiting_approval"
        return result.run_id

    return asyncio.run(go())


def _elsewhere(cli: Cli, *args: str) -> Done:
    """``tether ARGS`` from another directory, without the test app on PYTHONPATH."""
    other = cli.cwd / "elsewhere"
    other.mkdir(exist_ok=True)
    env = {**cli.env, "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    done = subprocess.run(
        cli.argv(*args), cwd=other, env=env, capture_output=True, text=True, timeout=30
    )
    return Done(done.returncode, done.stdout, done.stderr)


def test_a_subagents_approval_from_a_file_spec_is_approved_from_anywhere(cli: Cli) -> None:
    store = f"sqlite:///{cli.cwd / 'a store with spaces.db'}"
    spec = os.path.relpath(HERE / "cli_app.py", cli.cwd) + ":boss"  # a file, by a relative path
    done = cli("run", spec, "deploy it", "--store", store)
    assert done.code == 3, done.out + done.err  # waiting for a person
    assert cli.executions() == []
    approve = _printed(done.out, "tether runs approve")
    assert approve[:2] == ["runs", "approve"] and approve[3] == "call_1_0.call_1_0"
    assert approve[-2:] == ["--store", store]
    # pasted in another directory, where the agent's module is not importable by name
    approved = _elsewhere(cli, *approve)
    assert approved.code == 0, approved.out + approved.err
    assert "the boss heard: the tool said deployed to prod" in approved.out
    assert cli.executions() == ["deploy prod"]
    again = _elsewhere(cli, *approve)
    assert again.code == 2 and "has ended (completed)" in again.err
    assert cli.executions() == ["deploy prod"]  # exactly once


def test_follow_up_commands_carry_the_agent_and_store_given(cli: Cli) -> None:
    run_id = _headless_run_from_python(cli)
    store = ["--store", cli.store]
    shown = cli("runs", "show", run_id, *store)
    assert shown.code == 0, shown.err
    show_hint = _printed(shown.out, "tether runs approve")
    assert show_hint[-4:] == ["--agent", "package.module:variable", *store]

    resumed = cli("runs", "resume", run_id, "--agent", "cli_app:agent", *store)
    assert resumed.code == 3, resumed.out + resumed.err
    hint = _printed(resumed.out, "tether runs approve")  # one line, however long
    assert hint == ["runs", "approve", run_id, "call_1_0", "--agent", "cli_app:agent", *store]
    approved = cli(*hint)
    assert approved.code == 0, approved.out + approved.err
    assert "resumed" in approved.out and "the tool said deployed to prod" in approved.out
    assert cli.executions() == ["deploy prod"]


def test_a_recorded_decision_names_the_resume_that_continues_it(cli: Cli) -> None:
    run_id = _headless_run_from_python(cli)
    recorded = cli("runs", "approve", run_id, "call_1_0", "--no-resume", "--agent", "cli_app:agent")
    assert recorded.code == 0, recorded.err
    resume = _printed(recorded.out.split("continue it with: ")[1], "tether runs resume")
    assert resume == ["runs", "resume", run_id, "--agent", "cli_app:agent"]
    assert cli.executions() == []
    continued = cli(*resume)
    assert continued.code == 0 and cli.executions() == ["deploy prod"]

    # a run `tether run` started says where its agent lives: no --agent to fill in
    started = json.loads(cli("run", "cli_app:agent", "deploy it", "--json").out)
    recorded = cli("runs", "approve", started["run_id"], "call_1_0", "--no-resume")
    resume = _printed(recorded.out.split("continue it with: ")[1], "tether runs resume")
    assert resume == ["runs", "resume", started["run_id"]]
    assert cli(*resume).code == 0
    assert cli.executions() == ["deploy prod", "deploy prod"]


def _one_line_error(done: Done, code: int, words: str, start: str = "tether: ") -> None:
    assert done.code == code, done.out + done.err
    assert done.err.startswith(start) and words in done.err, done.err
    assert done.err.count("\n") == 1 and "Traceback" not in done.err, done.err


def test_errors_are_one_line(cli: Cli) -> None:
    run_id = json.loads(cli("run", "cli_app:agent", "deploy it", "--json").out)["run_id"]
    # pydantic's message spans lines: it is printed on one
    bad_args = cli("runs", "approve", run_id, "call_1_0", "--args", '{"env": 5, "zz": [1]}')
    _one_line_error(bad_args, 2, "do not fit tool 'deploy': Invalid arguments")
    assert "- env: Input should be a valid string (got 5) - zz: Extra" in bad_args.err
    _one_line_error(cli("run", ".cli_app:agent", "hi"), 2, "cannot import module '.cli_app'")
    _one_line_error(cli("run", "nofile.py:agent", "hi"), 2, "no Python file 'nofile.py'")
    (cli.cwd / "broken.py").write_text("agent = undefined_name\n")
    for spec in ("broken.py:agent", "broken:agent"):  # the module fails while importing
        failed = cli("run", spec, "hi")
        _one_line_error(failed, 2, "for the agent failed: NameError: name 'undefined_name'")
        assert "--debug" in failed.err
    assert "Traceback" in cli("--debug", "run", "broken:agent", "hi").err
    (cli.cwd / "json.py").write_text("agent = 1\n")
    _one_line_error(cli("run", "json.py:agent", "hi"), 2, "is already the module")
    assert cli.executions() == []


def test_a_tool_breakpoint_the_run_cannot_reach_is_refused(cli: Cli) -> None:
    done = cli("debug", "cli_app:boss", "deploy it", "--break", "tool:nope")
    words = "agent 'cli-boss' has no tool 'nope' (its tools, its handoffs' and its subagents':"
    _one_line_error(done, 2, words)
    assert "deploy, double" in done.err and ", ops" in done.err  # the subagent's, and its own
    assert cli.executions() == []


def test_ui_on_a_port_in_use_says_so(cli: Cli) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = cli("ui", "--port", str(port))
    _one_line_error(done, 2, f"cannot listen on 127.0.0.1:{port}: Address already in use")
    assert done.out == ""  # not "dashboard on ..." first
    out_of_range = cli("ui", "--port", "99999")
    _one_line_error(out_of_range, 2, "a port is a number from 0 to 65535", "tether ui: ")


def test_ui_on_a_mistyped_store_says_so_and_makes_none(cli: Cli) -> None:
    missing = cli.cwd / "nowhere" / "runs.db"
    done = cli("ui", "--port", "0", "--store", f"sqlite:///{missing}")
    _one_line_error(done, 2, f"no store at '{missing}'")
    assert done.out == "" and not missing.parent.exists()


def _paste(out: str, command: str, placeholder: str, value: str) -> list[str]:
    """The printed ``tether runs COMMAND ...`` line, its placeholder filled in."""
    words = _printed(out, f"tether runs {command}")
    assert words.count(placeholder) == 1, words
    return [value if word == placeholder else word for word in words]


def test_a_headless_question_is_answered_with_the_printed_command(cli: Cli) -> None:
    for spec, answer, said in (
        ("cli_app:agent", "Ada", "the tool said hello Ada"),
        ("cli_app:boss", "Bob", "the boss heard: the tool said hello Bob"),  # a subagent's
    ):
        asked = cli("run", spec, "greet me", "--store", cli.store)
        assert asked.code == 3, asked.out + asked.err
        assert "waits for an answer to greet's question 'What is your name?'" in asked.out
        command = _paste(asked.out, "answer", "the answer", answer)
        assert command[-2:] == ["--store", cli.store]
        shown = cli("runs", "show", command[2])
        assert _paste(shown.out, "answer", "the answer", answer) == command[:-2]
        done = cli(*command)
        assert done.code == 0, done.out + done.err
        assert said in done.out
        again = cli(*command)
        _one_line_error(again, 2, "has no question pending for call")
    assert cli.executions() == ["greet Ada", "greet Bob"]


def test_a_deferred_result_is_delivered_with_the_printed_command(cli: Cli) -> None:
    waiting = cli("run", "cli_app:agent", "later please")
    assert waiting.code == 3, waiting.out + waiting.err
    assert "waits for the result of call call_1_0 (ticket job-7; " in waiting.out
    command = _paste(waiting.out, "deliver", "the result", '{"pages": 3}')
    shown = json.loads(cli("runs", "show", command[2], "--json").out)
    assert shown["deferred"] == {"call_1_0": "job-7"}
    _one_line_error(
        cli(*command, "--json", "--error"),
        2,
        "not allowed with argument --json (see tether runs deliver --help)",
        "tether runs deliver: argument --error",  # a usage error: one line too
    )
    _one_line_error(cli(*command[:-1], "{not json", "--json"), 2, "the result is not JSON")
    done = cli(*command, "--json")
    assert done.code == 0, done.out + done.err
    assert "the tool said {" in done.out and '"pages":3' in done.out.replace(" ", "")

    waiting = cli("run", "cli_app:boss", "later please")  # a subagent's deferred call
    assert waiting.code == 3, waiting.out + waiting.err
    command = _paste(waiting.out, "deliver", "the result", "the renderer crashed")
    failed = cli(*command, "--error")
    assert failed.code == 4, failed.out + failed.err  # degraded: the tool failed
    assert "failed with RuntimeError: the renderer crashed" in failed.out


def test_approve_all_without_a_terminal_stops_at_a_question_waiting_for_a_person(
    cli: Cli,
) -> None:
    for prompt, command, value, said in (
        ("greet me", "answer", "Ann", "the tool said hello Ann"),
        ("later please", "deliver", "done", "the tool said done"),
    ):
        stopped = cli("run", "cli_app:agent", prompt, "--approve-all")
        assert stopped.code == 3, stopped.out + stopped.err  # it waits for a person
        assert "the run is kept: tether runs resume " in stopped.out
        placeholder = "the answer" if command == "answer" else "the result"
        done = cli(*_paste(stopped.out, command, placeholder, value))
        assert done.code == 0, done.out + done.err
        assert said in done.out
    assert cli.executions() == ["greet Ann"]
