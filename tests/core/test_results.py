"""Result and Usage: the fold of a run, its aliases, its JSON summary."""

from __future__ import annotations

import json
from pathlib import Path

from tether import Agent, Result, Usage
from tether.models import FakeModel


def double(n: int) -> int:
    """Double a number."""
    return n * 2


async def test_result_fields_after_a_run_with_a_tool() -> None:
    model = FakeModel(cost_per_call=0.25).add_tool_call("double", {"n": 21}).add_response("42")
    result = await Agent("calc", model=model, tools=[double]).run("double 21", thread_id="t-1")
    assert isinstance(result, Result)
    assert (result.output, result.final_text, str(result)) == ("42", "42", "42")
    assert result.final_output == result.output  # the OpenAI Agents SDK's name
    assert result.usage_aggregate is result.usage
    assert (result.state, result.turns, result.last_agent) == ("completed", 2, "calc")
    assert result.thread_id == "t-1"
    assert result.trace_id == result.run_id  # a run is its own trace unless told otherwise
    assert result.degraded_reasons == [] and result.pending_approvals == []
    assert result.error is None and result.error_type is None
    [record] = result.tool_executions
    assert (record.tool_name, record.tool_call_id, record.success) == ("double", "call_1_0", True)
    assert (record.output, record.error, record.args, record.agent_name) == (
        42,
        None,
        {"n": 21},
        "calc",
    )
    assert record.latency_ms is not None and record.latency_ms >= 0
    assert result.subagent_executions == []


async def test_to_dict_is_json() -> None:
    model = FakeModel().add_response("hi")
    result = await Agent("a", model=model).run("hello", run_id="r-dict")
    data = json.loads(json.dumps(result.to_dict()))
    assert data["output"] == "hi"
    assert data["state"] == "completed"
    assert data["run_id"] == "r-dict"
    assert data["usage"]["requests"] == 1
    assert data["tool_calls"] == 0


async def test_results_are_snapshots_not_live_views() -> None:
    model = FakeModel().add_response("one").add_response("two")
    agent = Agent("a", model=model)
    first = await agent.run("1")
    await agent.run("2")
    assert first.output == "one"
    assert len(first.messages) == 2
    assert first.usage.requests == 1


def test_usage_arithmetic() -> None:
    total = Usage()
    total.add(Usage(requests=1, input_tokens=10, output_tokens=5, cached_tokens=2, cost=0.5))
    total.add(Usage(requests=1, input_tokens=1, output_tokens=1, reasoning_tokens=3, cost=None))
    assert (total.requests, total.input_tokens, total.output_tokens) == (2, 11, 6)
    assert (total.cached_tokens, total.reasoning_tokens, total.total_tokens) == (2, 3, 17)
    assert total.cost is None  # an unknown part makes the total unknown, never understated
    copy = total.copy()
    copy.add(Usage(requests=1))
    assert total.requests == 2
    assert Usage.from_dict(total.to_dict()) == total
    unknown = Usage(cost=None)
    unknown.add(Usage(cost=0.1))
    assert unknown.cost is None
    known = Usage()
    known.add(Usage(requests=1, cost=0.25))
    assert known.cost == 0.25


async def test_progress_events_report_turns_and_cost() -> None:
    model = FakeModel(cost_per_call=0.5).add_tool_call("double", {"n": 1}).add_response("2")
    agent = Agent("a", model=model, tools=[double], max_turns=4)
    events = [e async for e in agent.run_stream("go")]
    progress = [
        (e.turn, e.max_turns, e.progress_percent, e.cost)  # type: ignore[attr-defined]
        for e in events
        if e.type == "progress"
    ]
    # the last progress event comes with run_finished: the run is done
    assert progress == [(1, 4, 25.0, 0.5), (2, 4, 50.0, 1.0), (2, 4, 100.0, 1.0)]
    assert [e.type for e in events[-2:]] == ["progress", "run_finished"]
    finished = [e for e in events if e.type == "tool_call_finished"]
    assert [(e.call_id, e.tool_name, e.args, e.output) for e in finished] == [  # type: ignore[attr-defined]
        ("call_1_0", "double", {"n": 1}, 2)
    ]
    # every event is JSON
    for event in events:
        assert json.loads(json.dumps(event.to_dict()))["type"] == event.type


async def test_run_state_from_events_is_the_fold_of_a_stored_log(tmp_path: Path) -> None:
    from tether import Runner
    from tether.results import RunState

    runner = Runner(store=f"sqlite:///{tmp_path / 'runs.db'}", telemetry=None)
    model = FakeModel().add_tool_call("double", {"n": 21}).add_response("42")
    result = await runner.run(Agent("calc", model=model, tools=[double]), "double 21")
    events = await runner.store.load(result.run_id)  # type: ignore[union-attr]
    state = RunState.from_events(result.run_id, events)
    assert (state.status, state.final_text, state.turn, state.seq) == (
        "completed",
        "42",
        2,
        events[-1].seq,
    )
    assert [r.tool_name for r in state.tool_executions] == ["double"]
    assert state == await runner.load_state(result.run_id)  # the Runner folds the same way
    empty = RunState.from_events("nothing", [])
    assert (empty.run_id, empty.status, empty.seq) == ("nothing", "running", 0)
