"""Skills: folders of instructions and scripts, read and run by an agent under a sandbox."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tether import Agent, UserError
from tether.models import FakeModel
from tether.skills import Sandbox, SkillSet, load_skills

pytestmark = pytest.mark.allow_blocking  # the fixtures write files; the runs themselves do not


@pytest.fixture
def skills_dir(tmp_path: Path) -> Path:
    report = tmp_path / "csv-report" / "scripts"
    report.mkdir(parents=True)
    (tmp_path / "csv-report" / "SKILL.md").write_text(
        "---\nname: csv-report\ndescription: Sum numbers into a report\n---\n"
        "Run scripts/total.py with the numbers as arguments.\n"
    )
    (report / "total.py").write_text(
        "import sys, pathlib\n"
        "pathlib.Path('scratch.txt').write_text('written in the copy')\n"
        "print(sum(int(a) for a in sys.argv[1:]))\n"
    )
    (report / "forever.sh").write_text("while true; do :; done\n")
    (report / "greedy.py").write_text("x = bytearray(4 * 1024 * 1024 * 1024)\n")
    (report / "network.py").write_text(
        "import socket, sys\n"
        "s = socket.socket()\n"
        "s.settimeout(2)\n"
        "s.connect(('127.0.0.1', int(sys.argv[1])))\n"
        "print('connected')\n"
    )
    (report / "notes.txt").write_text("not a script")
    return tmp_path


def _results(result: object) -> list:  # type: ignore[type-arg]
    return [r.output if r.success else r.error for r in result.tool_executions]  # type: ignore[attr-defined]


async def test_agent_reads_and_runs_a_skill(skills_dir: Path) -> None:
    skills = SkillSet(skills_dir)
    assert "csv-report: Sum numbers into a report" in skills.prompt()
    model = FakeModel()
    model.add_tool_call("read_skill", {"name": "csv-report"})
    model.add_tool_call(
        "run_skill_script",
        {"name": "csv-report", "script": "scripts/total.py", "args": ["2", "40"]},
    )
    model.add_response("The total is 42.")
    agent = Agent("analyst", model=model, tools=skills.tools(), instructions=skills.prompt())
    result = await agent.run("Total 2 and 40")
    read, ran = _results(result)
    assert read.startswith("Run scripts/total.py")
    assert "scripts/total.py" in read
    assert ran == {"exit_code": 0, "stdout": "42\n", "stderr": ""}
    assert not (skills_dir / "csv-report" / "scratch.txt").exists()  # the script ran on a copy


async def test_bad_requests_go_back_to_the_model(skills_dir: Path) -> None:
    model = FakeModel()
    model.add_tool_calls(
        [
            ("read_skill", {"name": "nope"}),
            ("read_skill_file", {"name": "csv-report", "path": "../../etc/passwd"}),
            ("run_skill_script", {"name": "csv-report", "script": "scripts/notes.txt"}),
        ]
    )
    model.add_response("ok")
    agent = Agent("a", model=model, tools=SkillSet(skills_dir).tools(), retries=5)
    errors = _results(await agent.run("go"))
    assert errors[0] == "There is no skill 'nope'; skills: csv-report."
    assert errors[1].startswith("Skill 'csv-report' has no file '../../etc/passwd'")
    assert errors[2] == "Only .py and .sh scripts can be run, not 'scripts/notes.txt'."


async def test_sandbox_limits(skills_dir: Path) -> None:
    sandbox = Sandbox(timeout=0.5, memory_mb=256)
    tools = {t.name: t for t in SkillSet(skills_dir, sandbox=sandbox).tools()}
    run = tools["run_skill_script"].function
    from tether import Retry

    with pytest.raises(Retry, match=r"ran longer than 0\.5s"):
        await run(name="csv-report", script="scripts/forever.sh")
    greedy = await run(name="csv-report", script="scripts/greedy.py")
    assert greedy["exit_code"] != 0 and "MemoryError" in greedy["stderr"]


async def test_no_network_when_isolated(skills_dir: Path) -> None:
    sandbox = Sandbox()
    if not sandbox.network_isolated:
        pytest.skip("this machine cannot make a network namespace (needs root and unshare)")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    try:
        run = {t.name: t for t in SkillSet(skills_dir, sandbox=sandbox).tools()}[
            "run_skill_script"
        ].function
        isolated = await run(name="csv-report", script="scripts/network.py", args=[str(port)])
        open_box = {t.name: t for t in SkillSet(skills_dir, sandbox=Sandbox(network=True)).tools()}
        connected = await open_box["run_skill_script"].function(
            name="csv-report", script="scripts/network.py", args=[str(port)]
        )
    finally:
        listener.close()
    assert isolated["exit_code"] != 0 and "connected" not in isolated["stdout"]
    assert connected["stdout"] == "connected\n"


def test_loading_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        load_skills(tmp_path / "missing")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "SKILL.md").write_text("---\nname: bad\n---\nno description\n")
    with pytest.raises(UserError, match="give the skill a `description:`"):
        load_skills(tmp_path)
