"""The trace writer's hand-over: a run's last append and its drain share one wake-up of the
thread, drains are answered by what the thread counted written (never early), and many drains
on one loop are answered together."""

from __future__ import annotations

import asyncio
import json
import queue
import threading
from pathlib import Path

import pytest

from tether import Agent, Runner
from tether.events import Event
from tether.models import FakeModel
from tether.tracing.writer import TraceWriter


class _CountedWakeups(queue.SimpleQueue[None]):
    """The writer's wake-up queue, counting what is put in it (the thread's wake-ups)."""

    def __init__(self) -> None:
        self.puts = 0

    def put(self, item: None, block: bool = True, timeout: float | None = None) -> None:
        self.puts += 1
        super().put(item, block, timeout)


async def _events() -> list[Event]:
    seen: list[Event] = []

    class Capture:
        def on_event(self, event: Event) -> None:
            seen.append(event)

        async def flush(self, run_id: str) -> None:
            pass

    agent = Agent("quick", model=FakeModel().add_response("done"))
    await Runner(store=None, telemetry=Capture()).run(agent, "hi", run_id="quick")
    return [event for event in seen if event.durable]


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_bytes().splitlines() if line]


def _held_writer(tmp_path: Path) -> tuple[TraceWriter, threading.Event]:
    """A writer whose thread is held on a first write until the event is set."""
    writer = TraceWriter()
    release = threading.Event()
    writer.replace(tmp_path / "doc.json", lambda: release.wait(5) and {"ok": True})
    return writer, release


@pytest.mark.allow_blocking  # reads the trace file back on the loop
async def test_a_runs_last_append_and_its_drain_wake_the_thread_once(tmp_path: Path) -> None:
    events = await _events()
    writer = TraceWriter()
    wakeups = writer._wakeups = _CountedWakeups()
    path = tmp_path / "quick.jsonl"
    for _ in range(20):
        writer._append_now(path, events)  # what run_finished does
        await writer.drain(5)  # what the run's flush does next
    assert wakeups.puts <= 20  # one per run at most (a drain finding it written adds none)
    assert len(_lines(path)) == 20 * len(events)
    assert not writer._waiting and writer._written == writer._handed


@pytest.mark.allow_blocking
async def test_many_drains_on_one_loop_are_all_answered(tmp_path: Path) -> None:
    events = await _events()
    writer, release = _held_writer(tmp_path)  # so every drain below waits for it
    drains = []
    for index in range(50):
        writer.append(tmp_path / f"run-{index}.jsonl", events)
        drains.append(asyncio.ensure_future(writer.drain(5)))
    await asyncio.sleep(0.05)
    assert not any(drain.done() for drain in drains)  # none answered before its write
    release.set()
    await asyncio.wait_for(asyncio.gather(*drains), 5)
    for index in range(50):
        assert len(_lines(tmp_path / f"run-{index}.jsonl")) == len(events)
    assert not writer._waiting  # nothing kept once the drains are answered


@pytest.mark.allow_blocking
async def test_a_drain_waits_for_every_write_handed_over_before_it_from_any_thread(
    tmp_path: Path,
) -> None:
    events = await _events()
    writer = TraceWriter(delay=0.001)
    path = tmp_path / "shared.jsonl"
    handed = [0]
    stop = threading.Event()

    def other_thread() -> None:  # hands writes over with no loop (each kicks the thread)
        while not stop.is_set() and handed[0] < 5000:
            writer.append_lines(path, [b'{"from":"thread"}'])
            handed[0] += 1
            if handed[0] % 50 == 0:
                stop.wait(0.001)

    worker = threading.Thread(target=other_thread)
    worker.start()
    try:
        for _ in range(100):
            before = handed[0]
            writer.append(path, events[:1])
            await writer.drain(5)
            lines = path.read_bytes().splitlines()
            assert sum(line == b'{"from":"thread"}' for line in lines) >= before
    finally:
        stop.set()
        worker.join()
    await writer.drain(5)
    assert len(_lines(path)) == handed[0] + 100


@pytest.mark.allow_blocking
async def test_a_wake_up_left_to_a_thread_that_is_gone_is_not_counted_on(tmp_path: Path) -> None:
    # what a fork leaves in the child: the flag of a wake-up sent to a thread that is not there
    events = await _events()
    writer = TraceWriter()
    gone = threading.Thread(target=lambda: None)
    gone.start()
    gone.join()
    writer._thread, writer._kicked = gone, True
    writer.append(tmp_path / "child.jsonl", events)
    await asyncio.wait_for(writer.drain(5), 5)
    assert len(_lines(tmp_path / "child.jsonl")) == len(events)


_REPR_THREADS: list[str] = []  # the threads a _Probe's repr was made in


class _Probe:
    """A tool value JSON cannot hold: the trace writes its repr, and this notes the thread."""

    def __repr__(self) -> str:
        _REPR_THREADS.append(threading.current_thread().name)
        return "Probe()"


@pytest.mark.allow_blocking  # reads the trace file back on the loop
async def test_a_runs_last_events_are_serialized_and_scrubbed_before_the_hand_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the writer thread is left the write alone: it does not hold the GIL serializing the
    # trace while the run makes its last checkpoint
    from tether.tracing.jsonl import JsonlExporter

    secret = "s3cr3t-value-for-the-trace"
    monkeypatch.setenv("PROBE_API_KEY", secret)
    agent = Agent("probe", model=FakeModel().add_tool_call("probe", {}).add_response(secret))

    @agent.tool
    def probe() -> object:
        """Return a probe."""
        return _Probe()

    _REPR_THREADS.clear()
    exporter = JsonlExporter(tmp_path, live_interval=0)
    result = await Runner(store=None, telemetry=exporter).run(agent, "go", run_id="probe-run")
    assert result.output == secret  # the run's own answer is not scrubbed
    assert _REPR_THREADS and set(_REPR_THREADS) == {threading.current_thread().name}
    data = (tmp_path / "probe-run.jsonl").read_bytes()
    assert b"Probe()" in data and secret.encode() not in data
    assert [line["type"] for line in _lines(tmp_path / "probe-run.jsonl")][-1] == "run_finished"


def _fresh_writer(monkeypatch: pytest.MonkeyPatch) -> tuple[TraceWriter, _CountedWakeups]:
    from tether.tracing import writer as module

    fresh = TraceWriter()
    wakeups = fresh._wakeups = _CountedWakeups()
    monkeypatch.setattr(module, "_WRITER", fresh)
    return fresh, wakeups


async def _traced_runs(tmp_path: Path, count: int) -> list[Path]:
    from tether.tracing.jsonl import JsonlExporter

    exporter = JsonlExporter(tmp_path, live_interval=0)
    runner = Runner(store=None, telemetry=exporter)
    agent = Agent("quick", model=FakeModel())
    model = agent.model
    assert isinstance(model, FakeModel)
    files = []
    for index in range(count):
        model.add_response("done")
        result = await runner.run(agent, "hi", run_id=f"here-{index}")
        files.append(tmp_path / f"{result.trace_id}.jsonl")
    return files


async def test_a_run_on_an_idle_writer_writes_its_trace_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # no thread wake-up and no call back into the loop per run (blockbuster is on: this is
    # the one write the loop may make, docs/decisions.md "JSONL tracing, round six")
    writer, wakeups = _fresh_writer(monkeypatch)
    files = await _traced_runs(tmp_path, 5)
    assert wakeups.puts == 0 and writer._thread is None
    for path in files:
        lines = await asyncio.to_thread(_lines, path)
        assert lines[0]["type"] == "run_started" and lines[-1]["type"] == "run_finished"


async def test_a_slow_write_on_the_loop_sends_the_later_ones_to_the_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tether.tracing import writer as module

    writer, wakeups = _fresh_writer(monkeypatch)
    monkeypatch.setattr(module, "HERE_BUDGET", -1.0)  # every write is "slow"
    files = await _traced_runs(tmp_path, 5)
    assert writer.write_here is False
    assert wakeups.puts >= 1  # the runs after the third were written by the thread
    for path in files:
        lines = await asyncio.to_thread(_lines, path)
        assert [line["type"] for line in lines][-1] == "run_finished"


@pytest.mark.allow_blocking
async def test_a_runs_last_lines_come_after_what_was_handed_over_before(tmp_path: Path) -> None:
    events = await _events()
    writer, release = _held_writer(tmp_path)
    path = tmp_path / "quick.jsonl"
    writer.append_lines(path, [b'{"first":true}'])  # pending: the thread is held
    writer._append_now(str(path), events)  # so this one waits its turn, in the thread
    release.set()
    await writer.drain(5)
    lines = _lines(path)
    assert lines[0] == {"first": True} and len(lines) == 1 + len(events)
