"""evaluate(): hand-computed scores on the bundled sample, failing cases, bounded concurrency,
judges with a FunctionModel, custom metrics, repeats, timeouts and bad arguments."""

from __future__ import annotations

import asyncio
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from tether import (
    Agent,
    Context,
    Message,
    ModelProviderError,
    RunConfig,
    Runner,
    TetherError,
    UserError,
)
from tether.evals import (
    Case,
    CaseRun,
    Dataset,
    ExactMatch,
    Judge,
    MaxCost,
    Score,
    ToolCalled,
    evaluate,
    evaluate_sync,
)
from tether.models import FakeModel, FunctionModel
from tether.models.testing import AgentInfo
from tether.tracing.files import load_trace

from .conftest import SAMPLE_AGENT

ANSWERABLE = ["france", "japan", "kenya", "peru"]


def test_sample_scores_match_the_hand_count(
    sample_agent: Agent, sample_data: Dataset, trace_dir: Path
) -> None:
    report = evaluate_sync(
        sample_agent, sample_data, [ExactMatch(), ToolCalled("lookup"), MaxCost(0.002)]
    )
    assert report.metrics == ["exact", "tool:lookup", "max_cost:0.002"]
    by_name = {c.name: c for c in report.cases}
    assert list(by_name) == [c.name for c in sample_data]  # the dataset's order
    # chile: the tool says "unknown", the agent says "I don't know." -> exact 0
    # greeting: no tool call -> tool:lookup 0, but the canned reply is the expected one
    assert {n: c.scores for n, c in by_name.items()} == {
        **{n: {"exact": 1.0, "tool:lookup": 1.0, "max_cost:0.002": 1.0} for n in ANSWERABLE},
        "chile": {"exact": 0.0, "tool:lookup": 1.0, "max_cost:0.002": 1.0},
        "greeting": {"exact": 1.0, "tool:lookup": 0.0, "max_cost:0.002": 1.0},
    }
    assert [n for n, c in by_name.items() if c.passed] == ANSWERABLE
    assert by_name["chile"].output == "I don't know."
    assert "'lookup' was not called" in by_name["greeting"].reasons["tool:lookup"]
    agg = report.aggregates
    assert agg["mean"] == {"exact": 5 / 6, "tool:lookup": 5 / 6, "max_cost:0.002": 1.0}
    assert agg["pass_rate"] == report.pass_rate == 4 / 6
    assert agg["errors"] == 0
    # two model calls ($0.001 each) per looked-up case, one for the greeting
    assert [c.cost for c in report.cases] == pytest.approx([0.002] * 5 + [0.001])
    assert agg["cost"]["total"] == pytest.approx(0.011)
    assert agg["cost"]["p50"] == pytest.approx(0.002)
    assert agg["cost"]["p95"] == pytest.approx(0.002)
    latencies = sorted(c.latency_ms for c in report.cases)
    assert all(x > 0 for x in latencies)
    assert agg["latency_ms"]["p50"] == pytest.approx((latencies[2] + latencies[3]) / 2)
    # every case's run id opens its trace
    for case in report.cases:
        assert case.trace_id == case.run_id
        trace = load_trace(trace_dir, case.trace_id)
        assert trace.agent == "capitals" and trace.state == "completed"
    assert load_trace(trace_dir, by_name["peru"].trace_id).tools == ["lookup"]
    assert report.trace_dir == str(trace_dir)


def test_a_case_whose_agent_raises_is_scored_zero_with_its_error() -> None:
    def model(messages: list[Message], info: AgentInfo) -> str:
        if "explode" in messages[-1].text:
            raise ValueError("the model broke on purpose")
        return messages[-1].text.upper()

    agent = Agent("shout", model=FunctionModel(model))
    data = Dataset(
        [Case("ok", "hi", "HI"), Case("bad", "explode", "EXPLODE"), Case("ok2", "a", "A")]
    )
    report = evaluate_sync(agent, data, ["exact", "contains"])
    ok, bad, ok2 = report.cases
    assert ok.scores == ok2.scores == {"exact": 1.0, "contains": 1.0}
    assert bad.scores == {"exact": 0.0, "contains": 0.0}
    assert not bad.passed and bad.output is None
    assert "the model broke on purpose" in bad.error
    assert bad.error_type == "ValueError"
    assert bad.reasons["exact"].startswith("the run failed: ")
    assert bad.run_id is not None  # the failed run is traced too
    assert report.errors == 1 and report.pass_rate == 2 / 3


def test_a_task_function_that_raises_is_a_failed_case() -> None:
    def task(text: str) -> str:
        if text == "boom":
            raise RuntimeError("no")
        return text

    report = evaluate_sync(task, [Case("a", "x", "x"), Case("b", "boom", "boom")])
    assert [c.scores for c in report.cases] == [{"exact": 1.0}, {"exact": 0.0}]
    assert report.cases[1].error == "no" and report.cases[1].error_type == "RuntimeError"
    assert report.agent == "task"


@pytest.mark.parametrize("limit", [1, 3])
def test_concurrency_is_bounded(limit: int) -> None:
    live = 0
    peak = 0
    full = asyncio.Event()  # set once `limit` model calls are in flight together

    async def model(messages: list[Message], info: AgentInfo) -> str:
        nonlocal live, peak
        live += 1
        peak = max(peak, live)
        if live >= limit:
            full.set()
        await asyncio.wait_for(full.wait(), 5)  # hold the first ones until the bound is reached
        await asyncio.sleep(0.005)
        live -= 1
        return "done"

    agent = Agent("slow", model=FunctionModel(model))
    cases = [Case(f"c{i}", f"q{i}", "done") for i in range(8)]
    report = evaluate_sync(agent, cases, concurrency=limit)
    assert peak == limit  # reached, never passed
    assert report.pass_rate == 1.0


def _judge_model(seen: list[str]) -> FunctionModel:
    def judge(messages: list[Message], info: AgentInfo) -> Any:
        prompt = messages[-1].text
        seen.append(prompt)
        output = prompt.rsplit("Output:\n", 1)[1]
        polite = "please" in output.lower()
        assert info.output is not None
        return FunctionModel.tool_call(
            info.output.name,
            {
                "passed": polite,
                "score": 0.9 if polite else 0.1,
                "reason": "says please" if polite else "not polite",
            },
        )

    return FunctionModel(judge, name="judge-fn", cost_per_call=0.0005)


def test_judge_metric_with_a_function_model(trace_dir: Path) -> None:
    seen: list[str] = []
    agent = Agent("echo", model=FunctionModel(lambda m, i: m[-1].text, cost_per_call=0.001))
    judge = Judge("The reply is polite.", model=_judge_model(seen), name="polite")
    data = Dataset([Case("nice", "Please sit.", "Sit."), Case("rude", "Sit!")])
    report = evaluate_sync(agent, data, [judge])
    nice, rude = report.cases
    assert nice.scores == {"polite": 0.9} and nice.passed
    assert rude.scores == {"polite": 0.1} and not rude.passed  # threshold 0.5
    assert nice.reasons == {"polite": "says please"}
    # the judge was shown the rubric, the input, the expected answer and the output
    first = next(p for p in seen if "Please sit." in p)
    assert first.startswith("Rubric:\nThe reply is polite.")
    assert "Input:\nPlease sit." in first and "Expected answer:\nSit." in first
    assert "Expected answer" not in next(p for p in seen if "Sit!" in p)
    # each verdict is a run of its own: traced and priced, apart from the agent's cost
    for case in (nice, rude):
        judge_run = case.judge_runs["polite"]
        assert judge_run != case.run_id
        trace = load_trace(trace_dir, judge_run)
        assert trace.agent == "polite" and trace.state == "completed"
        assert case.judge_cost == pytest.approx(0.0005)
        assert case.cost == pytest.approx(0.001)
    assert report.aggregates["cost"]["judges"] == pytest.approx(0.001)
    assert report.aggregates["cost"]["total"] == pytest.approx(0.002)


def test_a_failing_judge_scores_zero_and_the_evaluation_goes_on() -> None:
    def judge(messages: list[Message], info: AgentInfo) -> str:
        raise ConnectionError("judge unreachable")

    agent = Agent("echo", model=FunctionModel(lambda m, i: m[-1].text))
    report = evaluate_sync(
        agent, [Case("a", "x", "x")], [Judge("anything", model=FunctionModel(judge)), "exact"]
    )
    (case,) = report.cases
    assert case.scores == {"judge": 0.0, "exact": 1.0}
    assert "judge unreachable" in case.reasons["judge"] and not case.passed
    assert case.judge_runs["judge"]  # the judge's failed run can be opened too


def test_judge_needs_a_rubric_and_a_model() -> None:
    with pytest.raises(UserError, match="rubric"):
        Judge("  ", model="test")
    with pytest.raises(UserError, match="needs a model"):
        Judge("be nice")


async def test_custom_metrics_sync_async_and_broken() -> None:
    def short(case: Case, run: CaseRun) -> bool:
        return len(run.output) <= 3

    async def half(case: Case, run: CaseRun) -> float:
        await asyncio.sleep(0)
        return 0.5

    def broken(case: Case, run: CaseRun) -> float:
        raise KeyError("oops")

    def wordy(case: Case, run: CaseRun) -> Any:
        return "yes"

    def explained(case: Case, run: CaseRun) -> Score:
        return Score(0.75, "three quarters")

    def skip(case: Case, run: CaseRun) -> None:
        return None

    report = await evaluate(
        lambda text: text, [Case("a", "abc")], [short, half, broken, wordy, explained, skip]
    )
    (case,) = report.cases
    assert case.scores == {
        "short": 1.0,
        "half": 0.5,
        "broken": 0.0,
        "wordy": 0.0,
        "explained": 0.75,
        "skip": None,
    }
    assert case.reasons["broken"] == "the metric raised KeyError: 'oops'"
    assert case.reasons["wordy"] == "the metric returned str, not a number or bool"
    assert case.reasons["explained"] == "three quarters"
    assert not case.passed
    assert report.mean("skip") is None and report.mean("half") == 0.5
    with pytest.raises(UserError, match="no metric 'nope'"):
        report.mean("nope")


def test_repeat_runs_each_case_again() -> None:
    answers = iter(["A", "B", "A", "A"])

    def task(text: str) -> str:
        return next(answers)

    report = evaluate_sync(
        task, [Case("x", "q", "A"), Case("y", "q", "A")], repeat=2, concurrency=1
    )
    assert [(c.name, c.attempt) for c in report.cases] == [("x", 0), ("x", 1), ("y", 0), ("y", 1)]
    assert report.case_scores() == {"x": {"exact": 0.5}, "y": {"exact": 1.0}}
    assert report.pass_rate == 3 / 4


def test_a_slow_case_times_out() -> None:
    async def task(text: str) -> str:
        await asyncio.sleep(10 if text == "slow" else 0)
        return text

    report = evaluate_sync(
        task, [Case("s", "slow", "slow"), Case("f", "fast", "fast")], timeout=0.1
    )
    slow, fast = report.cases
    assert slow.error == "the case timed out" and slow.scores == {"exact": 0.0}
    assert fast.passed


def test_default_metrics() -> None:
    with_expected = evaluate_sync(lambda t: t, [Case("a", "x", "x"), Case("b", "y")])
    assert with_expected.metrics == ["exact"]
    assert with_expected.cases[1].scores == {"exact": None}  # b has nothing to compare
    assert with_expected.pass_rate == 1.0
    nothing = evaluate_sync(lambda t: t, [Case("a", "x")])
    assert nothing.metrics == [] and nothing.cases[0].scores == {} and nothing.pass_rate == 1.0


def test_bad_arguments() -> None:
    cases = [Case("a", "x", "x")]
    for options, message in [
        ({"concurrency": 0}, "concurrency must be an integer >= 1"),
        ({"repeat": 0}, "repeat must be an integer >= 1"),
        ({"engine": "gpu"}, "engine must be 'local' or 'ray'"),
        ({"timeout": -1}, "timeout must be"),
    ]:
        with pytest.raises(UserError, match=message):
            evaluate_sync(lambda t: t, cases, **options)
    with pytest.raises(UserError, match="unknown metric 'exactly'"):
        evaluate_sync(lambda t: t, cases, ["exactly"])
    with pytest.raises(UserError, match="a metric is a name"):
        evaluate_sync(lambda t: t, cases, [42])
    with pytest.raises(UserError, match="two metrics are named 'exact'"):
        evaluate_sync(lambda t: t, cases, ["exact", ExactMatch()])
    with pytest.raises(UserError, match="give the store to your runner"):
        evaluate_sync(lambda t: t, cases, runner=Runner(store=None), store="memory://")


async def test_evaluate_sync_inside_a_loop_names_await() -> None:
    with pytest.raises(UserError, match="await evaluate"):
        evaluate_sync(lambda t: t, [Case("a", "x")])


def test_ray_without_tether_distributed_names_the_extra(
    sample_agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "tether.distributed", None)  # import fails
    with pytest.raises(UserError, match=r"tether\[ray\]"):
        evaluate_sync(sample_agent, [Case("a", "x")], engine="ray")
    with pytest.raises(UserError, match="for functions"):
        evaluate_sync(lambda t: t, [Case("a", "x")], engine="ray")
    # a cluster that cannot start is a TetherError naming the engine, not a raw traceback
    broken = types.ModuleType("tether.distributed")

    async def run_many(agent: Any, inputs: list[Any], **options: Any) -> list[Any]:
        raise RuntimeError("the node timed out during startup")

    broken.run_many = run_many  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tether.distributed", broken)
    with pytest.raises(TetherError, match="the Ray engine failed: RuntimeError: the node timed"):
        evaluate_sync(sample_agent, [Case("a", "x")], engine="ray", store="sqlite:///x.db")


def test_ray_results_are_scored_like_local_ones(
    sample_agent: Agent, sample_data: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stand-in for tether.distributed.run_many (the scale-out package's), shaped like it and
    # run here in-process: what is checked is how evaluate() hands the batch over and maps its
    # Results (a failed run is a Result in state "failed") and errors back onto cases.
    seen: dict[str, Any] = {}

    async def run_many(agent: Any, inputs: list[Any], **options: Any) -> list[Any]:
        seen.update(options, agent=agent)
        out: list[Any] = []
        for index, (item, run_id) in enumerate(zip(inputs, options["run_ids"], strict=True)):
            if "Peru" in item:
                out.append(ValueError("worker lost"))
            elif "Kenya" in item:
                down = ModelProviderError("provider down", status=503, retryable=False)
                failing = Agent("capitals", model=FakeModel().add_error(down))
                try:
                    await Runner(store=None, telemetry=None).run(failing, item, run_id=run_id)
                except ModelProviderError as exc:
                    out.append(exc.result)  # run_many returns a failed run's Result
            else:
                runner = Runner(store=None, telemetry=None)
                out.append(await runner.run(sample_agent, item, run_id=run_id))
            options["progress"](index, out[-1], index + 1)
        return out

    module = types.ModuleType("tether.distributed")
    module.run_many = run_many  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tether.distributed", module)
    report = evaluate_sync(
        f"{SAMPLE_AGENT}:agent",
        sample_data,
        ["exact"],
        engine="ray",
        concurrency=4,
        store="sqlite:///shared.db",
    )
    assert seen["agent"] == f"{SAMPLE_AGENT}:agent"  # the path travels, not the object
    assert seen["engine"] == "ray" and seen["concurrency"] == 4
    assert seen["store"] == "sqlite:///shared.db" and seen["telemetry"] is not None
    assert [c.run_id for c in report.cases] == seen["run_ids"]
    scores = {c.name: c.scores["exact"] for c in report.cases}
    assert scores == {"france": 1, "japan": 1, "kenya": 0, "peru": 0, "chile": 0, "greeting": 1}
    by_name = {c.name: c for c in report.cases}
    assert by_name["peru"].error == "worker lost"
    assert by_name["peru"].error_type == "ValueError"
    assert "provider down" in by_name["kenya"].error
    assert by_name["kenya"].error_type == "ModelProviderError" and by_name["kenya"].output is None
    assert report.agent == "capitals"
    assert all(c.latency_ms > 0 for c in report.cases)


def test_secrets_stay_out_of_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "hunter2-very-secret-value"
    monkeypatch.setenv("MY_SERVICE_TOKEN", secret)
    key = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0"

    def task(text: str) -> str:
        if text == "fail":
            raise RuntimeError(f"auth failed for key {key} (token {secret})")
        return f"the key is {key}"

    def leaky(case: Case, run: CaseRun) -> Score:
        return Score(0.0, f"saw {secret}")

    report = evaluate_sync(task, [Case("ok", "x"), Case("bad", "fail")], [leaky])
    bad = report.cases[1]
    assert key not in bad.error and secret not in bad.error and "[secret]" in bad.error
    assert report.cases[0].reasons["leaky"] == "saw [secret]"
    saved = report.save(tmp_path / "r.json").read_text()
    page = report.to_html(tmp_path / "r.html")
    for text in (saved, page):
        assert key not in text and secret not in text and "[secret]" in text


def test_run_config_and_deps_reach_every_run(sample_agent: Agent, sample_data: Dataset) -> None:
    # the same agent on "another model": one that always answers Paris
    other = FunctionModel(lambda messages, info: "Paris", name="always-paris")
    report = evaluate_sync(sample_agent, sample_data, ["exact"], run_config=RunConfig(model=other))
    assert [c.name for c in report.cases if c.passed] == ["france"]

    seen: list[Any] = []

    def whoami(ctx: Context[str]) -> str:
        """Who is asking."""
        seen.append(ctx.deps)
        return ctx.deps

    model = FunctionModel(
        lambda m, i: (
            m[-1].tool_results[0].content
            if m[-1].role == "tool"
            else FunctionModel.tool_call("whoami", {})
        )
    )
    agent = Agent("who", model=model, tools=[whoami])
    report = evaluate_sync(agent, [Case("a", "who?", "ada")], deps="ada")
    assert report.cases[0].passed and seen == ["ada"]


def test_blocking_task_functions_run_off_the_loop_side_by_side() -> None:
    import threading

    barrier = threading.Barrier(2, timeout=5)

    def task(text: str) -> str:
        barrier.wait()  # passes only when both cases are running at the same time
        return text

    report = evaluate_sync(task, [Case("a", "x", "x"), Case("b", "y", "y")], concurrency=2)
    assert [c.passed for c in report.cases] == [True, True]


def test_a_hanging_judge_is_cut_by_the_timeout() -> None:
    async def judge(messages: list[Message], info: AgentInfo) -> str:
        await asyncio.sleep(30)
        return "never"

    report = evaluate_sync(
        lambda text: text,
        [Case("a", "x", "x")],
        [Judge("anything", model=FunctionModel(judge)), "exact"],
        timeout=0.2,
    )
    (case,) = report.cases
    assert case.scores == {"judge": 0.0, "exact": 1.0}
    assert case.reasons["judge"] == "the metric raised TimeoutError: timed out"
