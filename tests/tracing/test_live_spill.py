"""The JSONL exporter's hand-overs: one timer serves every run going (not one timer per run),
long runs are on disk while they go, the timer stops once no run is buffered, and an exporter
used on a new event loop (``run_sync``, ``asyncio.run`` again) sets its timer there; a run's
last events go to the writer at ``run_finished``, so its flush most often finds them written."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tether import Agent, Runner
from tether.models import FakeModel, FunctionModel
from tether.tracing.files import read_events
from tether.tracing.jsonl import JsonlExporter
from tether.tracing.writer import trace_writer

from .conftest import Capture


def _slow_agent(release: asyncio.Event) -> Agent:
    async def answer(messages: list, info: object) -> str:
        await release.wait()
        return "late"

    return Agent("slow", model=FunctionModel(answer))


async def _on_disk(exporter: JsonlExporter, path: Path) -> list[str]:
    for _ in range(200):
        await asyncio.sleep(0.02)
        await exporter.drain()
        if await asyncio.to_thread(path.exists):
            break
    return [e.type for e in await asyncio.to_thread(read_events, path)]


async def _slow_runs_spill(exporter: JsonlExporter, tmp_path: Path, names: list[str]) -> None:
    release = asyncio.Event()
    runner = Runner(store=None, telemetry=exporter)
    agent = _slow_agent(release)
    tasks = [asyncio.create_task(runner.run(agent, "hi", run_id=name)) for name in names]
    for name in names:  # every run going is on disk before it ends
        assert await _on_disk(exporter, tmp_path / f"{name}.jsonl") == [
            "run_started",
            "turn_started",
        ]
    release.set()
    await asyncio.gather(*tasks)
    for name in names:
        path = tmp_path / f"{name}.jsonl"
        types = [e.type for e in await asyncio.to_thread(read_events, path)]
        assert types[-1] == "run_finished" and types.count("run_started") == 1


async def test_one_timer_spills_every_run_going_and_stops_when_none_is(tmp_path: Path) -> None:
    exporter = JsonlExporter(tmp_path, live_interval=0.02)
    await _slow_runs_spill(exporter, tmp_path, ["slow-a", "slow-b", "slow-c"])
    assert not exporter._buffers and not exporter._files  # nothing kept once runs end
    for _ in range(50):  # the next tick finds no run buffered and sets no other
        if exporter._tick is None:
            break
        await asyncio.sleep(0.02)
    assert exporter._tick is None


def test_an_exporter_used_on_a_new_event_loop_sets_its_timer_there(tmp_path: Path) -> None:
    exporter = JsonlExporter(tmp_path, live_interval=0.02)
    asyncio.run(_slow_runs_spill(exporter, tmp_path, ["first-loop"]))
    # the first loop is closed, maybe with the exporter's timer still set on it
    asyncio.run(_slow_runs_spill(exporter, tmp_path, ["second-loop"]))


async def test_a_finished_runs_trace_is_written_before_its_flush_asks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    capture = Capture()
    await Runner(store=None, telemetry=capture).run(
        Agent("quick", model=FakeModel().add_response("done")), "hi", run_id="quick"
    )
    exporter = JsonlExporter(tmp_path, live_interval=0)
    for event in capture.events:
        exporter.on_event(event)  # run_finished hands the run's events to the writer at once
    writer = trace_writer()
    for _ in range(500):
        if writer._written >= writer._handed:  # everything handed over is written
            break
        await asyncio.sleep(0.01)

    def no_hand_over(done: object = None) -> None:
        raise AssertionError("the flush of a written trace woke the writer thread")

    monkeypatch.setattr(writer, "_kick", no_hand_over)
    await exporter.flush("quick")  # already on disk: nothing to wait for
    types = [e.type for e in await asyncio.to_thread(read_events, tmp_path / "quick.jsonl")]
    assert types[0] == "run_started" and types[-1] == "run_finished"
