"""A replayed run's usage and cost equal the live run's, model calls outside the loop included
(a history policy's summary is served from the record and counted in the replay as it was live)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

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


def _process(mode: str, url: str) -> dict[str, Any]:
    here = Path(__file__).parent
    env = {**os.environ, "PYTHONPATH": str(here.parent.parent / "src")}
    done = subprocess.run(
        [sys.executable, str(here / "_summary_app.py"), mode, url],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    if mode == "run":
        assert done.returncode == -9, done.stderr  # SIGKILLed inside the tool
        return {}
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def test_a_run_resumed_after_sigkill_replays_at_its_cost(tmp_path: Path) -> None:
    """The history policy of a resumed run goes on from the last summary in the log (as the run
    would have without the crash), so a replay, which runs in one go, is served every summary
    the run made and costs what it did (it asked the summarizer again, or diverged)."""
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    _process("run", url)
    resumed = _process("resume", url)
    assert resumed["state"] == "completed"
    assert (resumed["model"], resumed["summarizer"]) == (1, 1)  # nothing recorded asked again
    replayed = _process("replay", url)
    assert replayed["state"] == "completed"
    assert (replayed["model"], replayed["summarizer"]) == (0, 0)
    assert replayed["usage"] == resumed["usage"]
    assert resumed["usage"]["cost"] == pytest.approx(3 * 0.03 + 2 * 0.5)
