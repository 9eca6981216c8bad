"""Cases from recorded runs: root runs only, completed only, prompts or input items, limits;
and an evaluation awaited inside an event loop (no blocking I/O on it)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tether import Agent, Runner, UserError
from tether.evals import Dataset, cases_from_store, cases_from_traces, evaluate
from tether.models import FakeModel
from tether.tracing.jsonl import JsonlExporter

CONVERSATION = [
    {"role": "user", "content": "My name is Ada."},
    {"role": "assistant", "content": "Hello Ada."},
    {"role": "user", "content": "What is my name?"},
]


def record(directory: Path) -> None:
    """Three runs of agents named "boss" (as across deploys), one of them with a subagent."""

    def run(agent: Agent, prompt: object) -> None:
        runner = Runner(store=None, telemetry=JsonlExporter(directory))
        try:
            runner.run_sync(agent, prompt)  # type: ignore[arg-type]
        finally:
            asyncio.run(runner.aclose())

    helper = Agent("helper", model=FakeModel().add_response("42"))
    boss_model = FakeModel().add_tool_call("helper", {"input": "answer?"}).add_response("It is 42")
    run(Agent("boss", model=boss_model, tools=[helper.as_tool()]), "Ask the helper")
    run(Agent("boss", model=FakeModel().add_response("Ada")), CONVERSATION)
    with pytest.raises(RuntimeError):
        run(Agent("boss", model=FakeModel().add_error(RuntimeError("down"))), "this run fails")


def test_only_completed_root_runs_become_cases(tmp_path: Path) -> None:
    record(tmp_path / "t")
    data = cases_from_traces(tmp_path / "t", agent="boss")
    assert [(c.input, c.expected) for c in data] == [
        ("Ask the helper", "It is 42"),  # the helper's own run is not a case
        (CONVERSATION, "Ada"),  # several messages: the input items, as recorded
    ]
    assert all(c.metadata["agent"] == "boss" and c.name == c.metadata["run_id"] for c in data)
    assert len(cases_from_traces(tmp_path / "t", agent="helper")) == 0
    assert len(cases_from_traces(tmp_path / "t")) == 2
    assert len(cases_from_traces(tmp_path / "t", agent="boss", limit=1)) == 1
    assert len(cases_from_traces(tmp_path / "t", agent="boss", states=("failed",))) == 1
    (tmp_path / "t" / "junk.jsonl").write_text('{"not": "an event"}\n')
    assert len(cases_from_traces(tmp_path / "t", agent="boss")) == 2  # junk is skipped
    with pytest.raises(UserError, match="no trace directory"):
        cases_from_traces(tmp_path / "nowhere")
    with pytest.raises(UserError, match="unknown store URL"):
        asyncio.run(cases_from_store("redis://localhost/0"))


async def test_cases_from_a_store_object_and_an_awaited_evaluation(tmp_path: Path) -> None:
    from tether.store.sqlite import SQLiteStore

    store = SQLiteStore(tmp_path / "runs.db")
    runner = Runner(store=store, telemetry=None)
    agent = Agent("echo", model=FakeModel().add_response("one").add_response("two"))
    await runner.run(agent, "1")
    await runner.run(agent, "2")
    data = await cases_from_store(store, "echo")
    assert sorted((c.input, c.expected) for c in data) == [("1", "one"), ("2", "two")]
    await store.close()
    # evaluate inside the loop: today's agent against yesterday's answers
    today = Agent("echo", model=FakeModel().add_response("one").add_response("TWO"))
    report = await evaluate(today, Dataset(sorted(data, key=lambda c: c.input)), concurrency=1)
    assert [c.scores["exact"] for c in report.cases] == [1.0, 0.0]
    assert report.cases[1].output == "TWO"


async def test_an_evaluation_checkpointed_to_a_store_is_tomorrows_dataset(
    tmp_path: Path, sample_agent: Agent, sample_data: Dataset
) -> None:
    url = f"sqlite:///{tmp_path / 'eval.db'}"
    report = await evaluate(sample_agent, sample_data, ["exact"], store=url)
    again = await cases_from_store(url, "capitals")
    assert sorted(c.name for c in again) == sorted(c.run_id for c in report.cases)
    recorded = {c.input: c.expected for c in again}
    assert recorded["What is the capital of Chile?"] == "I don't know."  # what it said, not truth
