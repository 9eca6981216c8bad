"""``tether eval`` names its agent as every other command does (one loader, cli._common's): a
file's folder is importable, so an agent file can import its neighbours, and a dotted attribute
is looked up part by part. evals had a loader of its own that did neither."""

from __future__ import annotations

import json

from .conftest import Cli
from .test_followups import _one_line_error

_AGENT = """
from types import SimpleNamespace

from answers import answer  # a module next to this file
from tether import Agent
from tether.models import FunctionModel

agent = Agent("echo", model=FunctionModel(lambda messages, info: answer(messages[-1].text)))
holder = SimpleNamespace(agent=agent)
"""


def test_eval_loads_a_file_agent_that_imports_its_neighbours(cli: Cli) -> None:
    folder = cli.cwd / "app"
    folder.mkdir()
    (folder / "answers.py").write_text("def answer(text):\n    return text.upper()\n")
    (folder / "echo_agent.py").write_text(_AGENT)
    cases = cli.cwd / "cases.jsonl"
    rows = [{"name": "hi", "input": "hi", "expected": "HI"}, {"input": "no", "expected": "x"}]
    cases.write_text("".join(json.dumps(row) + "\n" for row in rows))
    for spec in ("app/echo_agent.py:agent", "app/echo_agent.py:holder.agent"):
        saved = cli.cwd / "report.json"
        done = cli("eval", spec, str(cases), "--save", str(saved))
        assert done.code == 0, done.out + done.err
        assert "pass rate 50%" in done.out, done.out
        report = json.loads(saved.read_text())
        assert [c["passed"] for c in report["cases"]] == [True, False]
    # the same errors as the other commands, in one line
    _one_line_error(cli("eval", "app/nofile.py:agent", str(cases)), 2, "no Python file")
    _one_line_error(
        cli("eval", "app/echo_agent.py:nobody", str(cases)), 2, "has no attribute 'nobody'"
    )
