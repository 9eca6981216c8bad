"""The ``tether`` command: trace ls / show / search / replay, and id validation."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tether
from tether import Agent, Runner
from tether.cli import main
from tether.models import FakeModel
from tether.tracing.jsonl import JsonlExporter

AGENT_MODULE = '''
from tether import Agent
from tether.models import FakeModel

agent = Agent("calc", model=FakeModel())


@agent.tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@agent.tool
def boom(reason: str) -> str:
    """Always fails."""
    raise ValueError("boom: " + reason)
'''


@pytest.fixture
def traces(tmp_path: Path) -> tuple[Path, list[str]]:
    """Two recorded traces: a good one and one with a failing tool."""
    import importlib.util

    (tmp_path / "cli_agent_mod.py").write_text(AGENT_MODULE)
    spec = importlib.util.spec_from_file_location("cli_agent_mod", tmp_path / "cli_agent_mod.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    agent: Agent = module.agent
    directory = tmp_path / "traces"

    async def record() -> list[str]:
        exporter = JsonlExporter(directory)
        runner = Runner(store=None, telemetry=exporter)
        model = agent.model
        assert isinstance(model, FakeModel)
        model.cost_per_call = 0.25
        model.add_tool_calls([("add", {"a": 1, "b": 2}), ("add", {"a": 2, "b": 2})])
        model.add_response("3 and 4")
        good = await runner.run(agent, "sums please", run_id="good-run")
        model.add_tool_call("boom", {"reason": "flux capacitor"}).add_response("sorry")
        bad = await runner.run(agent, "break it", run_id="bad-run")
        await exporter.drain()
        return [good.trace_id or "", bad.trace_id or ""]

    return directory, asyncio.run(record())


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_ls_show_search(traces: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    directory, (good, bad) = traces
    code, out = cli(capsys, "trace", "ls", "--dir", str(directory))
    assert code == 0 and good in out and bad in out and "degraded" in out and "$0.5000" in out
    code, out = cli(capsys, "trace", "ls", "--errors", "--dir", str(directory))
    assert bad in out and good not in out
    code, out = cli(capsys, "--dir", str(directory), "trace", "show", good)
    assert code == 0
    assert "run calc" in out and "turn 1" in out and "tool add" in out and "$0.5000" in out
    code, out = cli(capsys, "trace", "show", good, "--json", "--dir", str(directory))
    assert json.loads(out)["spans"][0]["kind"] == "run"
    code, out = cli(capsys, "trace", "search", "flux capacitor", "--dir", str(directory))
    assert code == 0 and bad in out and good not in out and "tool boom" in out
    code, out = cli(capsys, "trace", "search", "ADD", "--dir", str(directory))
    assert good in out  # tool names, case-insensitively
    code, out = cli(capsys, "trace", "search", "nothing-like-this", "--dir", str(directory))
    assert code == 1 and "nothing matches" in out


def test_replay_command(
    traces: tuple[Path, list[str]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    directory, (good, _bad) = traces
    monkeypatch.chdir(directory.parent)
    code, out = cli(
        capsys, "trace", "replay", good, "--agent", "cli_agent_mod:agent", "--dir", str(directory)
    )
    assert code == 0 and "replay matched the recording" in out and "3 and 4" in out
    code, out = cli(capsys, "trace", "replay", good, "--dir", str(directory))
    assert code == 2 and "--agent package.module:agent_variable" in out


@pytest.mark.parametrize(
    "bad_id", ["../secrets", "..", "a/../b", "a//b", "a/", "/etc/passwd", "x" * 300, ""]
)
def test_trace_ids_are_validated(
    bad_id: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["trace", "show", bad_id, "--dir", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "invalid trace id" in capsys.readouterr().err


def test_unknown_trace_and_empty_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = cli(capsys, "trace", "show", "missing", "--dir", str(tmp_path))
    assert code == 2 and "no trace 'missing'" in out
    code, out = cli(capsys, "trace", "ls", "--dir", str(tmp_path / "none"))
    assert code == 0 and "no traces" in out


def test_console_script_entry_point(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tether.cli", "trace", "ls", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0 and "no traces" in done.stdout


def test_tether_ui_serves_the_dashboard(traces: tuple[Path, list[str]]) -> None:
    import http.client
    import time

    from tests._ports import PortedProcess

    directory, (good, _bad) = traces

    # it binds its port itself: one taken meanwhile is tried again on a new port
    def command(port: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "tether.cli",
            "ui",
            "--port",
            str(port),
            "--dir",
            str(directory),
        ]

    served = PortedProcess(command, directory.parent / "ui.log")
    try:
        deadline = time.monotonic() + 20
        while True:
            connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=5)
            try:
                if not served.listening():
                    raise ConnectionRefusedError("not listening yet")
                connection.request("GET", "/api/traces")
                response = connection.getresponse()
                status, body = response.status, json.loads(response.read())
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
            finally:
                connection.close()
        assert status == 200 and good in [t["trace_id"] for t in body["traces"]]
    finally:
        served.stop()


def _record_handoff_and_order(directory: Path) -> None:
    """Three traces written out of start order, one with a handoff triage -> billing."""
    import os

    from tether import Agent

    async def record() -> None:
        exporter = JsonlExporter(directory)
        runner = Runner(store=None, telemetry=exporter)
        billing = Agent("billing", model=FakeModel().add_response("refund sent"))
        triage_model = FakeModel().add_tool_call("transfer_to_billing", {})
        triage = Agent("triage", model=triage_model, handoffs=[billing])
        for run_id in ("first-run", "second-run"):
            solo = Agent("solo", model=FakeModel().add_response("ok"))
            await runner.run(solo, "hi", run_id=run_id)
        await runner.run(triage, "refund please", run_id="handoff-run")
        await exporter.drain()

    asyncio.run(record())
    # make the oldest run's file the most recently written: ls must still order by start time
    first = directory / "first-run.jsonl"
    stat = first.stat()
    os.utime(first, (stat.st_atime + 100, stat.st_mtime + 100))


def test_ls_orders_by_start_and_matches_any_agent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "traces"
    _record_handoff_and_order(directory)
    code, out = cli(capsys, "trace", "ls", "--dir", str(directory))
    assert code == 0
    order = [line.split()[0] for line in out.splitlines()[1:] if line.strip()]
    assert order == ["handoff-run", "second-run", "first-run"]  # newest start first
    assert "triage, billing" in out
    code, out = cli(capsys, "trace", "ls", "--agent", "billing", "--dir", str(directory))
    assert "handoff-run" in out and "first-run" not in out  # the agent handed off to counts
    code, out = cli(capsys, "trace", "ls", "--agent", "nobody", "--dir", str(directory))
    assert code == 0 and out.strip() == f"no trace matches (of 3 in {directory})"


def test_short_trace_ids(
    traces: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    directory, (good, _bad) = traces
    code, out = cli(capsys, "trace", "show", good[:4], "--dir", str(directory))
    assert code == 0 and "run calc" in out and good in out
    code, out = cli(capsys, "trace", "show", "zzz-no", "--dir", str(directory))
    assert code == 2 and "no trace 'zzz-no'" in out
    (directory / f"{good}-copy.jsonl").write_bytes((directory / f"{good}.jsonl").read_bytes())
    code, out = cli(capsys, "trace", "show", good[:-2], "--dir", str(directory))
    assert code == 2 and "is ambiguous: it starts 2 traces" in out
    code, out = cli(capsys, "trace", "show", good, "--dir", str(directory))
    assert code == 0  # the exact id still wins over its longer namesake


def test_failed_tool_is_one_error(
    traces: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    directory, (_good, bad) = traces
    code, out = cli(capsys, "trace", "ls", "--errors", "--dir", str(directory))
    row = next(line for line in out.splitlines() if line.strip().startswith(bad))
    assert code == 0 and row.split()[-1] == "1" and "degraded" in row
    code, out = cli(capsys, "trace", "show", bad, "--dir", str(directory))
    assert code == 0 and "· 1 error(s)" in out
    code, out = cli(capsys, "trace", "show", bad, "--json", "--dir", str(directory))
    assert json.loads(out)["errors"] == 1


def test_show_json_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    from tether import Agent

    directory = tmp_path / "traces"

    async def record() -> None:
        exporter = JsonlExporter(directory)
        agent = Agent("big", model=FakeModel().add_tool_call("blob", {}).add_response("done"))

        @agent.tool
        def blob() -> str:
            """A large result."""
            return "x" * 400_000

        await Runner(store=None, telemetry=exporter).run(agent, "go", run_id="big-trace")
        await exporter.drain()

    asyncio.run(record())
    shown = subprocess.run(
        [sys.executable, "-m", "tether.cli", "trace", "show", "big-trace", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**__import__("os").environ, "TETHER_TRACE_DIR": str(directory)},
    )
    assert len(shown.stdout) > 100_000  # more than a pipe holds once `head` has gone
    command = (
        f"{sys.executable} -m tether.cli trace show big-trace --json --dir {directory} | head -c 10"
    )
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60)
    assert done.stdout == '{\n "trace_'
    assert done.stderr == "", done.stderr  # no BrokenPipeError traceback


def test_a_trace_id_with_a_slash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async def record() -> None:
        exporter = JsonlExporter(tmp_path)
        model = FakeModel()
        model.add_response("hi there")
        await Runner(store=None, telemetry=exporter).run(
            Agent("greeter", model=model), "hi", run_id="tenant/run-1"
        )
        await exporter.drain()

    asyncio.run(record())
    code, out = cli(capsys, "trace", "ls", "--dir", str(tmp_path))
    assert code == 0 and "tenant/run-1" in out  # its real id, not its file's name
    code, out = cli(capsys, "trace", "show", "tenant/run-1", "--dir", str(tmp_path))
    assert code == 0 and "run greeter" in out and "tenant/run-1" in out
    code, out = cli(capsys, "trace", "show", "tenant/run", "--dir", str(tmp_path))
    assert code == 0 and "run greeter" in out  # a prefix, as for any id
    code, out = cli(capsys, "trace", "show", "tenant/run-1", "--json", "--dir", str(tmp_path))
    assert json.loads(out)["trace_id"] == "tenant/run-1"


RUN_MODULE = """
import os

from tether import Agent
from tether.models import FakeModel

agent = Agent("adder", model=FakeModel(), instructions=os.environ.get("ADDER_PROMPT", "Add."))
agent.model.add_tool_call("add", {"a": 2, "b": 3}).add_response("5")


@agent.tool
def add(a: int, b: int) -> int:
    \"\"\"Add two integers.\"\"\"
    return a + b
"""


def test_replay_of_a_run_the_run_command_made_needs_no_agent_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`tether run` records its agent's module:attribute in the run's metadata: the replay of
    its trace finds the agent there; a changed prompt (the agent's instructions) diverges."""
    (tmp_path / "adder_mod.py").write_text(RUN_MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    directory = str(tmp_path / "traces")
    store = f"sqlite:///{tmp_path / 'runs.db'}"
    code, out = cli(capsys, "--dir", directory, "run", "adder_mod:agent", "2+3?", "--store", store)
    assert code == 0 and "5" in out
    (trace_file,) = (tmp_path / "traces").glob("*.jsonl")
    code, out = cli(capsys, "--dir", directory, "trace", "replay", trace_file.stem)
    assert code == 0 and "replay matched the recording" in out
    # the same replay in a fresh process, with the prompt changed: the divergence names it
    src = Path(tether.__file__).parents[1]  # this tether, in the child process too
    env = {"ADDER_PROMPT": "Add, then double.", "PYTHONPATH": f"{tmp_path}:{src}"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tether.cli",
            "--dir",
            directory,
            "trace",
            "replay",
            trace_file.stem,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "instructions" in done.stdout and "Add, then double." in done.stdout


def test_replay_from_the_store_when_the_trace_is_redacted_or_gone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--store URL` replays the stored log of the run: whole where its trace was written
    without sensitive data, and there when its trace file is gone."""
    from tether import RunConfig

    (tmp_path / "stored_adder_mod.py").write_text(RUN_MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    import stored_adder_mod  # type: ignore[import-not-found]

    directory = tmp_path / "traces"
    store = f"sqlite:///{tmp_path / 'runs.db'}"
    secret = RunConfig(trace_include_sensitive_data=False)
    runner = Runner(store=store, telemetry=JsonlExporter(directory), config=secret)
    run_id = runner.run_sync(stored_adder_mod.agent, "2+3?").run_id
    asyncio.run(runner.aclose())
    replay = [
        "--dir",
        str(directory),
        "trace",
        "replay",
        run_id,
        "--agent",
        "stored_adder_mod:agent",
    ]
    code, out = cli(capsys, *replay)
    assert code == 2 and "trace_include_sensitive_data=False" in out
    code, out = cli(capsys, *replay, "--store", store)
    assert code == 0 and "replay matched the recording" in out
    (directory / f"{run_id}.jsonl").unlink()
    code, out = cli(capsys, *replay, "--store", store)
    assert code == 0 and "replay matched the recording" in out
    code, out = cli(capsys, *replay, "--store", f"sqlite:///{tmp_path / 'none.db'}")
    assert code == 2 and "no store at" in out
