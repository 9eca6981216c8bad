"""A session id links the traces of several runs: RunConfig(group_id=...) and Result.session_id."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tether import Agent, RunConfig, Runner
from tether.compat.openai_agents import Runner as SDKRunner
from tether.compat.openai_agents import trace
from tether.models.testing import FakeModel
from tether.tracing.jsonl import JsonlExporter


def _starts(folder: Path) -> list[dict[str, Any]]:
    files = sorted(folder.glob("*.jsonl"))
    lines = [json.loads(line) for f in files for line in f.read_text().splitlines()]
    return [line for line in lines if line["type"] == "run_started"]


async def test_runs_of_one_session_share_its_id_in_results_and_traces(tmp_path: Path) -> None:
    exporter = JsonlExporter(tmp_path / "traces")
    runner = Runner(store=None, telemetry=exporter)
    agent = Agent("helper", model=FakeModel().add_response("one").add_response("two"))
    config = RunConfig(group_id="session-7")
    first = await runner.run(agent, "hello", run_config=config)
    second = await runner.run(
        agent, [*first.to_input_list(), {"role": "user", "content": "again"}], run_config=config
    )
    alone = await runner.run(Agent("other", model=FakeModel().add_response("x")), "hi")
    assert (first.session_id, second.session_id, alone.session_id) == (
        "session-7",
        "session-7",
        None,
    )
    assert first.trace_id != second.trace_id  # two traces, linked by the session
    await exporter.drain()
    starts = await _read(tmp_path / "traces")
    by_run = {s["run_id"]: s["group_id"] for s in starts}
    assert by_run == {first.run_id: "session-7", second.run_id: "session-7", alone.run_id: None}


async def _read(folder: Path) -> list[dict[str, Any]]:
    import asyncio

    return await asyncio.to_thread(_starts, folder)


async def test_the_sdk_trace_group_is_the_session() -> None:
    agent = Agent("a", model=FakeModel().add_response("ok"))
    with trace("Chat", group_id="thread-9"):
        result = await SDKRunner.run(agent, "hi")
    assert result.session_id == "thread-9"


async def test_a_thread_is_the_session_unless_one_is_given() -> None:
    runner = Runner(store=None, telemetry=None)
    agent = Agent("chat", model=FakeModel().add_response("a").add_response("b").add_response("c"))
    first = await runner.run(agent, "one", thread_id="t-5")
    second = await runner.run(agent, "two", thread_id="t-5")
    chosen = await runner.run(agent, "three", thread_id="t-5", run_config=RunConfig(group_id="s"))
    assert (first.session_id, second.session_id, chosen.session_id) == ("t-5", "t-5", "s")
