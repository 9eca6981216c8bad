"""``tether run`` through the real entry point: streaming, tools, JSON, exit codes, errors."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from typing import Any

from .conftest import Cli


def test_run_streams_the_answer_shows_tools_and_ends_with_usage(cli: Cli) -> None:
    done = cli("run", "cli_app:agent", "please add")
    assert done.code == 0, done.err
    lines = done.out.splitlines()
    assert lines[0] == '→ add({"a": 20, "b": 22})'
    assert lines[1] == "  ← add: 42"
    assert lines[2] == "the tool said 42"
    assert lines[3].startswith("completed · 2 turns · 2 requests · ")
    assert lines[3].endswith("$0.000000") or "$" in lines[3]
    assert cli.executions() == ["add 20 22"]
    traces = list((cli.cwd / "traces").glob("*.jsonl"))
    assert len(traces) == 1  # traced where --dir / $TETHER_TRACE_DIR says


def test_json_prints_only_the_result(cli: Cli) -> None:
    done = cli.here("run", "cli_app:agent", "hello there", "--json", "--thread", "t-1")
    assert done.code == 0, done.err
    result = json.loads(done.out)
    assert result["state"] == "completed"
    assert result["final_text"] == "you said hello there (message 1)"
    assert result["thread_id"] == "t-1"
    assert result["usage"]["requests"] == 1
    again = json.loads(
        cli.here("run", "cli_app:agent", "and again", "--json", "--thread", "t-1").out
    )
    assert again["final_text"] == "you said and again (message 2)"  # the thread was kept


def test_prompt_from_stdin(cli: Cli) -> None:
    done = cli("run", "cli_app:agent", "-", "--json", stdin="piped words")
    assert json.loads(done.out)["final_text"] == "you said piped words (message 1)"


def test_exit_codes_follow_the_final_state(cli: Cli) -> None:
    failed = cli.here("run", "cli_app:agent", "crash now")
    assert failed.code == 1
    assert "failed" in failed.out and "the model broke" in failed.out
    degraded = cli.here("run", "cli_app:agent", "fail please", "--json")
    assert degraded.code == 4 and json.loads(degraded.out)["state"] == "degraded"
    waiting = cli.here("run", "cli_app:agent", "deploy it", "--json")
    assert waiting.code == 3
    assert json.loads(waiting.out)["pending_approvals"][0]["tool_name"] == "deploy"


def test_approve_all_runs_the_gated_tool(cli: Cli) -> None:
    done = cli.here("run", "cli_app:agent", "deploy it", "--approve-all")
    assert done.code == 0, done.out + done.err
    assert "⏸ approval needed: deploy" in done.out and "approved call_" in done.out
    assert "the tool said deployed to prod" in done.out
    assert cli.executions() == ["deploy prod"]


def test_bad_agent_specs_are_one_readable_line(cli: Cli) -> None:
    for spec, words in (
        ("nocolon", "must be given as 'package.module:variable'"),
        ("no_such_module_x:agent", "cannot import module 'no_such_module_x'"),
        ("cli_app:missing", "has no attribute 'missing'"),
        ("cli_app:not_an_agent", "is a int, not a tether Agent"),
    ):
        done = cli.here("run", spec, "hi")
        assert done.code == 2, spec
        assert done.err.startswith("tether: ") and words in done.err, done.err
        assert "Traceback" not in done.err and len(done.err.strip().splitlines()) == 1
    real = cli("run", "cli_app:missing", "hi")  # the real entry point: one line, no traceback
    assert real.code == 2 and real.err == "tether: module 'cli_app' has no attribute 'missing'\n"
    debug = cli("--debug", "run", "cli_app:missing", "hi")
    assert "Traceback" in debug.err  # the traceback only with --debug
    after = cli("run", "cli_app:missing", "hi", "--debug")  # after the command too
    assert after.code == 1 and "Traceback" in after.err and "UserError" in after.err


def test_bad_store_url_names_the_fix(cli: Cli) -> None:
    done = cli.here("run", "cli_app:agent", "hi", "--store", "redis://nope")
    assert done.code == 2 and "unknown store URL 'redis://nope'" in done.err
    assert "Traceback" not in done.err


def test_version(cli: Cli) -> None:
    from importlib.metadata import version

    done = cli("--version")
    assert done.code == 0 and done.out.strip() == f"tether {version('tether')}"


MINE = ("run", "chat", "debug", "runs", "trace", "ui")


def _walk(
    parser: argparse.ArgumentParser, path: tuple[str, ...], every: bool = False
) -> Iterator[Any]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                if path or every or name in MINE:
                    yield from _walk(child, (*path, name), every)
        else:
            yield path, parser, action


def test_every_option_has_help_and_every_command_an_example(cli: Cli) -> None:
    from tether.cli import _parser

    seen: set[tuple[str, ...]] = set()
    for path, parser, action in _walk(_parser(), ()):
        if not path:
            continue
        seen.add(path)
        assert action.help, f"tether {' '.join(path)}: {action.dest} has no help text"
        if path[0] != "trace" and path[0] != "ui" and path != ("runs",):
            assert parser.epilog and "example" in parser.epilog, path
    assert {("run",), ("chat",), ("runs", "approve"), ("runs", "ls")} <= seen
    for path, _, action in _walk(_parser(), (), every=True):  # every command's options
        if path:
            assert action.help, f"tether {' '.join(path)}: {action.dest} has no help text"
    shown = cli("runs", "approve", "--help")  # and the real entry point prints it
    assert shown.code == 0 and "tether runs approve RUN_ID call_1_0 --reject" in shown.out
