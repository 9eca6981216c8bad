"""A replayed run's usage and cost equal the live run's, model calls outside the loop included
(a history policy's summary is served from the record and counted in the replay as it was live)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tether import Agent, HistorySummarize, Runner
from tether.models import FakeModel
from tether.store import MemoryStore


def _agent(summarizer: FakeModel) -> Agent:
    model = FakeModel(cost_per_call=0.01).add_tool_call("look", {}).add_response("all seen")
    agent = Agent(
        "reader", model=model, history=HistorySummarize(summarizer, trigger_tokens=5, keep_last=1)
    )

    @agent.tool
    def look() -> str:
        """Look around."""
        return "a long description of everything in the room " * 3

    return agent


@pytest.mark.parametrize("source", ["store", "trace"])
async def test_a_replay_costs_what_the_live_run_cost_with_its_summary(
    source: str, tmp_path: Path
) -> None:
    summarizer = FakeModel(cost_per_call=0.25).add_response("they looked around")
    from tether.tracing.jsonl import JsonlExporter

    store = MemoryStore() if source == "store" else None
    runner = Runner(store=store, telemetry=None if store is not None else JsonlExporter(tmp_path))
    live = await runner.run(_agent(summarizer), "please look around the room")
    assert live.usage.cost == pytest.approx(0.27)  # two model calls and the summary
    replayed = await runner.replay(live.run_id, agent=_agent(summarizer))
    assert len(summarizer.requests) == 1  # served from the record, not asked again
    assert replayed.output == live.output
    assert replayed.usage == live.usage
    if store is not None:  # the replayed log holds the summary, as the live one does
        log = await store.load(replayed.run_id)
        (summary,) = [e for e in log if e.type == "history_summarized"]
        assert summary.usage is not None and summary.usage.cost == pytest.approx(0.25)  # type: ignore[attr-defined]
    await runner.aclose()
