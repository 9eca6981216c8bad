"""Built-in metrics, scored by hand on hand-made runs, and the CLI metric names."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from tether import ToolExecutionRecord, UserError
from tether.evals import (
    Case,
    CaseRun,
    Contains,
    ExactMatch,
    ExpectedToolCalls,
    JsonValid,
    MaxCost,
    MaxLatency,
    Metric,
    NumericTolerance,
    Regex,
    Score,
    ToolCalled,
    metric_from_name,
)


def run(output: Any = "", **fields: Any) -> CaseRun:
    return CaseRun(output=output, final_text=output if isinstance(output, str) else "", **fields)


def call(name: str, **args: Any) -> ToolExecutionRecord:
    return ToolExecutionRecord(name, "c1", True, "ok", None, 1.0, args=args)


def value(score: Any) -> Any:
    return score.value if isinstance(score, Score) else score


def test_exact_match() -> None:
    case = Case("c", "q", "Paris")
    assert ExactMatch()(case, run(" Paris\n")) is True
    assert ExactMatch()(case, run("paris")) is False
    assert ExactMatch(case_sensitive=False)(case, run("PARIS")) is True
    assert ExactMatch(strip=False)(case, run(" Paris")) is False
    assert ExactMatch()(Case("c", "q"), run("x")) is None  # no expected: does not apply

    class City(BaseModel):
        name: str
        people: int

    structured = Case("c", "q", {"name": "Oslo", "people": 700000})
    assert ExactMatch()(structured, run(City(name="Oslo", people=700000))) is True
    assert ExactMatch()(structured, run(City(name="Oslo", people=1))) is False
    assert ExactMatch()(Case("c", "q", 42), run(42)) is True


def test_contains_and_regex() -> None:
    case = Case("c", "q", "Paris")
    assert Contains()(case, run("It is Paris.")) is True
    assert Contains()(case, run("It is Lyon.")) is False
    assert Contains(["Paris", "France"])(case, run("Paris, France")) is True
    assert Contains(["Paris", "Spain"])(case, run("Paris, France")) is False
    assert Contains("paris", case_sensitive=False)(case, run("PARIS")) is True
    assert Contains()(Case("c", "q"), run("x")) is None
    assert Regex(r"\d{3}-\d{4}")(case, run("call 555-1234")) is True
    assert Regex(r"^\d+$")(case, run("12a")) is False
    assert Regex("x").name == "regex:x"
    with pytest.raises(UserError, match="invalid regex"):
        Regex("(")


def test_json_valid() -> None:
    schema = {"type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}}
    case = Case("c", "q")
    assert value(JsonValid()(case, run('{"a": 1}'))) is True
    bad = JsonValid()(case, run("{nope"))
    assert bad.value is False and bad.reason.startswith("not JSON")
    assert value(JsonValid(schema)(case, run('{"city": "Oslo"}'))) is True
    wrong = JsonValid(schema)(case, run('{"town": "Oslo"}'))
    assert wrong.value is False and "'city' is a required property" in wrong.reason
    # the schema may come with the case
    assert (
        value(JsonValid()(Case("c", "q", metadata={"schema": schema}), run({"city": 3}))) is False
    )
    with pytest.raises(UserError, match="invalid JSON schema"):
        JsonValid({"type": "no-such-type"})


def test_numeric_tolerance() -> None:
    case = Case("c", "q", 3.14159)
    assert value(NumericTolerance(0.01)(case, run("about 3.14"))) is True
    far = NumericTolerance(0.001)(case, run("about 3.14"))
    assert far.value is False and "from 3.14159" in far.reason
    assert value(NumericTolerance(0.01, relative=True)(Case("c", "q", 1000), run(1009))) is True
    assert value(NumericTolerance(0.01, relative=True)(Case("c", "q", 1000), run(1011))) is False
    assert value(NumericTolerance()(Case("c", "q", "1,234"), run("1234 items"))) is True
    assert value(NumericTolerance()(case, run("no digits"))) is False
    assert NumericTolerance()(Case("c", "q", "n/a"), run("1")) is None
    with pytest.raises(UserError, match="tolerance"):
        NumericTolerance(-1)


def test_tool_called() -> None:
    case = Case("c", "q")
    calls = [call("search", q="weather in Oslo today", n=3), call("fetch", url="x")]
    assert value(ToolCalled("search")(case, run(tool_calls=calls))) is True
    assert value(ToolCalled("search", contains={"q": "Oslo"})(case, run(tool_calls=calls)))
    assert value(ToolCalled("search", args={"n": 3})(case, run(tool_calls=calls)))
    miss = ToolCalled("search", contains={"q": "Paris"})(case, run(tool_calls=calls))
    assert miss.value is False and "never with the expected arguments" in miss.reason
    assert value(ToolCalled("search", args={"n": 4})(case, run(tool_calls=calls))) is False
    absent = ToolCalled("delete")(case, run(tool_calls=calls))
    assert absent.value is False and "'delete' was not called" in absent.reason
    assert "fetch" in absent.reason
    with pytest.raises(UserError, match="needs a tool name"):
        ToolCalled("")


def test_cost_and_latency() -> None:
    case = Case("c", "q")
    assert value(MaxCost(0.01)(case, run(cost=0.01))) is True
    over = MaxCost(0.01)(case, run(cost=0.02))
    assert over.value is False and "$0.020000 > $0.01" in over.reason
    unknown = MaxCost(1)(case, run(cost=None))
    assert unknown.value is False and "unknown" in unknown.reason
    assert value(MaxLatency(0.5)(case, run(latency_ms=499))) is True
    assert value(MaxLatency(0.5)(case, run(latency_ms=501))) is False
    with pytest.raises(UserError):
        MaxCost(-1)
    with pytest.raises(UserError):
        MaxLatency(0)


def test_cli_names() -> None:
    assert isinstance(metric_from_name("exact"), ExactMatch)
    assert isinstance(metric_from_name("contains"), Contains)
    assert isinstance(metric_from_name("json"), JsonValid)
    assert metric_from_name("regex:a:b").pattern.pattern == "a:b"  # the rest is the pattern
    tool = metric_from_name("tool:search")
    assert isinstance(tool, ToolCalled) and tool.tool == "search" and tool.name == "tool:search"
    cost = metric_from_name("max_cost:0.05")
    assert isinstance(cost, MaxCost) and cost.usd == 0.05 and cost.name == "max_cost:0.05"
    assert metric_from_name("max_latency:2").seconds == 2
    assert metric_from_name("numeric:0.5").tolerance == 0.5
    for bad in ("exactly", "tool:", "regex", "exact:1", ""):
        with pytest.raises(UserError, match="unknown metric"):
            metric_from_name(bad)
    with pytest.raises(UserError, match="needs a number"):
        metric_from_name("max_cost:lots")


def test_metric_wraps_a_function() -> None:
    def short(case: Case, run: CaseRun) -> float:
        return 1.0 if len(run.output) < 10 else 0.0

    wrapped = Metric(short, threshold=0.5)
    assert wrapped.name == "short" and wrapped.threshold == 0.5
    assert wrapped(Case("c", "q"), run("tiny")) == 1.0
    assert Metric(short, name="brevity").name == "brevity"


def test_expected_tool_calls_from_the_dataset() -> None:
    calls = [call("search", q="weather in Oslo"), call("fetch", url="https://x")]
    both = Case(
        "c",
        "q",
        metadata={"tools": [{"name": "search", "contains": {"q": "Oslo"}}, {"name": "fetch"}]},
    )
    assert value(ExpectedToolCalls()(both, run(tool_calls=calls))) == 1.0
    half = Case("c", "q", metadata={"tools": [{"name": "search"}, {"name": "delete"}]})
    scored = ExpectedToolCalls()(half, run(tool_calls=calls))
    assert scored.value == 0.5 and "'delete' was not called" in scored.reason
    wrong_args = Case("c", "q", metadata={"tools": [{"name": "search", "args": {"q": "Rome"}}]})
    assert value(ExpectedToolCalls()(wrong_args, run(tool_calls=calls))) == 0.0
    assert ExpectedToolCalls()(Case("c", "q"), run(tool_calls=calls)) is None  # nothing expected
    assert value(ExpectedToolCalls()(Case("c", "q", metadata={"tools": []}), run())) == 1.0
    with pytest.raises(UserError, match="must be a list of objects with a 'name'"):
        ExpectedToolCalls()(Case("c", "q", metadata={"tools": ["search"]}), run())
    assert isinstance(metric_from_name("tools"), ExpectedToolCalls)
