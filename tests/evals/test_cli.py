"""``tether eval``: the table, the report files, the CI gate (exit 1 on a planted regression,
in a real process), cases from recorded traces and from SQLite and PostgreSQL stores."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from store.conftest import drop_schema, postgres_url

from tether import Agent, Runner
from tether.cli import main
from tether.evals import Dataset, Report
from tether.models import FakeModel
from tether.tracing.jsonl import JsonlExporter

from .conftest import ROOT, SAMPLE_AGENT, SAMPLE_DATA

TARGET = f"{SAMPLE_AGENT}:agent"
PROMPTS = ["What is the capital of Peru?", "What is the capital of Japan?", "Hello!"]


def worse_agent(tmp_path: Path) -> str:
    """The sample agent with one fact planted wrong: Japan's capital becomes Kyoto."""
    module = tmp_path / "worse.py"
    module.write_text(
        "import importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('sample_capitals', {str(SAMPLE_AGENT)!r})\n"
        "sample = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(sample)\n"
        "sample.CAPITALS['japan'] = 'Kyoto'\n"
        "agent = sample.agent\n"
    )
    return f"{module}:agent"


def test_eval_prints_a_table_and_writes_the_report(
    tmp_path: Path, trace_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "report.json"
    metrics = ["--metric", "exact", "--metric", "tool:lookup"]
    files = ["--save", str(saved), "--dir", str(trace_dir), "--concurrency", "2"]
    code = main(["eval", TARGET, str(SAMPLE_DATA), *metrics, *files])
    out = capsys.readouterr().out
    assert code == 0
    assert "pass rate 67%" in out and "exact 0.833, tool:lookup 0.833" in out
    for name in ("france", "chile", "greeting"):
        assert name in out
    report = Report.load(saved)
    assert report.pass_rate == pytest.approx(4 / 6)
    assert report.metrics == ["exact", "tool:lookup"]
    assert all((trace_dir / f"{c.trace_id}.jsonl").is_file() for c in report.cases)


def test_exact_is_the_default_metric(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = tmp_path / "r.json"
    assert main(["eval", TARGET, str(SAMPLE_DATA), "--save", str(saved)]) == 0
    assert Report.load(saved).metrics == ["exact"]


def test_the_ci_gate_exits_1_on_a_planted_regression(
    tmp_path: Path, trace_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = tmp_path / "base.json"
    data = str(SAMPLE_DATA)
    assert main(["eval", TARGET, data, "--save", str(baseline)]) == 0
    assert main(["eval", TARGET, data, "--baseline", str(baseline)]) == 0
    assert "no regression against" in capsys.readouterr().out
    worse = worse_agent(tmp_path)
    # the gate as CI runs it: a real `tether eval` process and its exit code
    gate = subprocess.run(
        [sys.executable, "-m", "tether.cli", "eval", worse, data, "--baseline", str(baseline)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "TETHER_TRACE_DIR": str(trace_dir)},
    )
    assert gate.returncode == 1, gate.stdout + gate.stderr
    assert "1 regression(s) against" in gate.stdout
    assert "japan exact: 1 → 0" in gate.stdout
    # a tolerance as large as the drop lets it through
    assert main(["eval", worse, data, "--baseline", str(baseline), "--tolerance", "1"]) == 0


def test_a_module_that_fails_to_import(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('config missing')\n")
    assert main(["eval", f"{broken}:agent", str(SAMPLE_DATA)]) == 2
    assert "config missing" in capsys.readouterr().err
    (tmp_path / "broken_pkg_xyz.py").write_text("1 / 0\n")
    sys.path.insert(0, str(tmp_path))
    try:
        assert main(["eval", "broken_pkg_xyz:agent", str(SAMPLE_DATA)]) == 2
    finally:
        sys.path.remove(str(tmp_path))
    assert "ZeroDivisionError" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["eval", TARGET, str(SAMPLE_DATA), "--metric", "exactly"], "unknown metric 'exactly'"),
        (["eval", "no_such_module_xyz:agent", str(SAMPLE_DATA)], "cannot import"),
        (["eval", "agent_without_colon", str(SAMPLE_DATA)], "must be given as"),
        (["eval", f"{SAMPLE_AGENT}:nobody", str(SAMPLE_DATA)], "has no attribute 'nobody'"),
        (["eval", TARGET], "give a dataset"),
        (["eval", TARGET, "missing.jsonl"], "no dataset file"),
        (["eval", TARGET, str(SAMPLE_DATA), "--baseline", "nope.json"], "no report file"),
        (["eval", TARGET, str(SAMPLE_DATA), "--concurrency", "0"], "--concurrency must be"),
        (["eval", TARGET, str(SAMPLE_DATA), "--from-traces", "."], "either DATA or"),
        (["eval", "--save", "r.json"], "give a dataset"),
        (["eval", TARGET, "--from-traces", "no-such-dir"], "no trace directory"),
    ],
)
def test_bad_input_exits_2_with_a_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def _record(runner: Runner, agent: Agent) -> None:
    for prompt in PROMPTS:
        runner.run_sync(agent, prompt)
    other = Agent("other", model=FakeModel().add_response("not mine"))
    runner.run_sync(other, "unrelated")
    asyncio.run(runner.aclose())  # traces on disk, store closed


def _check_cases(data: Dataset) -> None:
    by_input = {c.input: c for c in data}
    assert set(by_input) == set(PROMPTS)  # only the capitals agent's runs
    assert by_input[PROMPTS[0]].expected == "Lima"
    assert by_input[PROMPTS[2]].expected == "Please ask me for the capital of a country."
    case = by_input[PROMPTS[1]]
    assert case.name == case.metadata["run_id"] and case.metadata["agent"] == "capitals"


def test_cases_from_traces(
    tmp_path: Path, sample_agent: Agent, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded = tmp_path / "recorded"
    _record(Runner(store=None, telemetry=JsonlExporter(recorded)), sample_agent)
    out = tmp_path / "cases.jsonl"
    argv = ["eval", "--from-traces", str(recorded), "--agent", "capitals", "--write-cases"]
    assert main([*argv, str(out)]) == 0
    _check_cases(Dataset.load(out))
    # yesterday's traffic as today's regression test: the agent's name picks its runs
    saved = tmp_path / "r.json"
    assert main(["eval", TARGET, "--from-traces", str(recorded), "--save", str(saved)]) == 0
    report = Report.load(saved)
    assert len(report.cases) == 3 and report.pass_rate == 1.0
    assert "wrote 3 case(s)" in capsys.readouterr().out


def test_recorded_runs_become_cases_on_stdout_without_an_agent(
    tmp_path: Path, sample_agent: Agent, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's own command, `tether eval --from-traces DIR --agent NAME`, with no agent to
    evaluate and no --write-cases: the cases are printed as JSONL (`> cases.jsonl` keeps them)."""
    recorded = tmp_path / "recorded"
    _record(Runner(store=None, telemetry=JsonlExporter(recorded)), sample_agent)
    assert main(["eval", "--from-traces", str(recorded), "--agent", "capitals"]) == 0
    captured = capsys.readouterr()
    _check_cases(Dataset.from_jsonl(captured.out))
    assert "3 case(s) from the recorded runs" in captured.err


def test_cli_metric_names_are_reported_as_written(tmp_path: Path) -> None:
    saved = tmp_path / "r.json"
    metrics = ["--metric", "max_cost:0.00001", "--metric", "max_latency:30", "--metric", "exact"]
    assert main(["eval", TARGET, str(SAMPLE_DATA), *metrics, "--save", str(saved)]) == 0
    report = Report.load(saved)
    assert report.metrics == ["max_cost:0.00001", "max_latency:30", "exact"]
    assert report.mean("max_cost:0.00001") == 0.0  # two model calls of $0.001 per case
    assert report.mean("max_latency:30") == 1.0


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'runs.db'}"
        return
    url = postgres_url()
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield f"{url}?options=-csearch_path%3D{schema}"
    asyncio.run(drop_schema(url, schema))


def test_cases_from_a_store(tmp_path: Path, sample_agent: Agent, store_url: str) -> None:
    _record(Runner(store=store_url, telemetry=None), sample_agent)
    out = tmp_path / "cases.jsonl"
    argv = ["eval", "--from-store", store_url, "--agent", "capitals", "--write-cases", str(out)]
    assert main(argv) == 0
    _check_cases(Dataset.load(out))
    saved = tmp_path / "r.json"
    assert main(["eval", TARGET, "--from-store", store_url, "--save", str(saved)]) == 0
    assert Report.load(saved).pass_rate == 1.0


def test_html_flag_writes_a_page(tmp_path: Path) -> None:
    page = tmp_path / "r.html"
    base = tmp_path / "b.json"
    assert main(["eval", TARGET, str(SAMPLE_DATA), "--save", str(base)]) == 0
    argv = ["eval", TARGET, str(SAMPLE_DATA), "--baseline", str(base), "--html", str(page)]
    assert main([*argv, "--trace-url", "http://127.0.0.1:8321/#/trace/{trace_id}"]) == 0
    text = page.read_text()
    assert text.startswith("<!doctype html>") and "http://127.0.0.1:8321/#/trace/" in text
    assert json.loads(base.read_text())["cases"][0]["name"] == "france"


def test_metrics_and_judges_of_your_own(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    module = tmp_path / "my_metrics.py"
    module.write_text(
        "from tether.evals import Judge\n"
        "from tether.models import FunctionModel\n\n"
        "def short(case, run):\n"
        "    return len(run.output) <= 5\n\n"
        "def verdict(messages, info):\n"
        "    ok = 'Lima' in messages[-1].text.rsplit('Output:', 1)[1]\n"
        "    return FunctionModel.tool_call(info.output.name, {'passed': ok, 'reason': 'r'})\n\n"
        "lima = Judge('Says Lima', model=FunctionModel(verdict, cost_per_call=0.25), name='lima')\n"
        "not_a_metric = 3\n"
    )
    saved = tmp_path / "r.json"
    argv = ["eval", TARGET, str(SAMPLE_DATA), "--save", str(saved)]
    assert main([*argv, "--metric", f"{module}:short", "--metric", f"{module}:lima"]) == 0
    out = capsys.readouterr().out
    assert "(judges $1.5000)" in out  # six verdicts at $0.25
    report = Report.load(saved)
    assert report.metrics == ["short", "lima"]
    assert {c.name: c.scores["lima"] for c in report.cases}["peru"] == 1.0
    assert report.mean("lima") == pytest.approx(1 / 6)
    assert report.mean("short") == pytest.approx(3 / 6)  # Paris, Tokyo and Lima are short
    assert main([*argv, "--metric", f"{module}:not_a_metric"]) == 2
    assert "is not a metric" in capsys.readouterr().err
    assert main([*argv, "--metric", "no_such_module_xyz:m"]) == 2
    assert "unknown metric 'no_such_module_xyz:m'" in capsys.readouterr().err


def test_the_bundled_baseline_holds(capsys: pytest.CaptureFixture[str]) -> None:
    baseline = SAMPLE_DATA.parent / "baseline.json"
    argv = ["eval", TARGET, str(SAMPLE_DATA), "--metric", "exact", "--metric", "tool:lookup"]
    assert main([*argv, "--baseline", str(baseline)]) == 0
    assert "no regression against" in capsys.readouterr().out
    assert Report.load(baseline).pass_rate == pytest.approx(4 / 6)


def test_tool_expectations_written_in_the_dataset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "r.json"
    assert main(["eval", TARGET, str(SAMPLE_DATA), "--metric", "tools", "--save", str(saved)]) == 0
    scores = {c.name: c.scores["tools"] for c in Report.load(saved).cases}
    assert scores == {  # only france and peru say which calls they expect
        "france": 1.0,
        "japan": None,
        "kenya": None,
        "peru": 1.0,
        "chile": None,
        "greeting": None,
    }


def test_a_judge_from_the_command_line(
    tmp_path: Path, trace_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "r.json"
    argv = ["eval", TARGET, str(SAMPLE_DATA), "--save", str(saved), "--metric", "exact"]
    judged = ["--judge", "Names the capital", "--judge-model", "test"]  # TestModel judges
    assert main([*argv, *judged]) == 0
    report = Report.load(saved)
    assert report.metrics == ["exact", "judge"]
    for case in report.cases:
        assert case.scores["judge"] is not None
        assert (trace_dir / f"{case.judge_runs['judge']}.jsonl").is_file()
    two = [*argv, "--judge", "a", "--judge", "b", "--judge-model", "test"]
    assert main(two) == 0 and Report.load(saved).metrics == ["exact", "judge_1", "judge_2"]
    assert main([*argv, "--judge", "Names the capital"]) == 2
    assert "--judge needs --judge-model" in capsys.readouterr().err
