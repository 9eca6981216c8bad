"""A consumer that stops reading ``run_stream`` early (``break``, ``aclose()``, its task
cancelled, a dropped iterator) never leaves the run ``running`` in the store: a run cut short
ends ``interrupted`` (resumable), one whose end the consumer had seen keeps it, on SQLite and
PostgreSQL, in this process and in a fresh one."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path

import pytest

from tether import Agent, Runner
from tether._cut_short import CONSUMER_STOPPED
from tether.messages import TextPart
from tether.models import FakeModel, ModelRequest, ModelResponse
from tether.models.base import ModelStreamEvent, TextDelta

_APP = """
import asyncio, json, sys
from tether import Agent, Runner
from tether.models import FakeModel


class Stalls:
    name = "stalls"

    async def request(self, request):
        raise AssertionError("streamed")

    async def stream(self, request):
        from tether.models.base import TextDelta
        yield TextDelta("half ")
        await asyncio.sleep(60)


async def main(store_url):
    runner = Runner(store=store_url, telemetry=None)
    ids = {}
    async for event in runner.run_stream(Agent("cut", model=Stalls()), "talk"):
        if event.type == "text_delta":
            ids["cut"] = event.run_id
            break  # a plain break: the event loop closes the dropped stream
    done = Agent("whole", model=FakeModel().add_response("all of it"))
    async for event in runner.run_stream(done, "talk"):
        if event.type == "run_finished":
            ids["whole"] = event.run_id
            break  # at the end it has seen: the end must be stored too
    print(json.dumps(ids))


asyncio.run(main(sys.argv[1]))
"""


class StallsOnce:
    """The first call streams a word and then stalls; later calls answer at once."""

    def __init__(self) -> None:
        self.calls = 0
        self.cut = False

    @property
    def name(self) -> str:
        return "stalls-once"

    async def request(self, request: ModelRequest) -> ModelResponse:
        self.calls += 1  # (a resumed run does not stream)
        return ModelResponse([TextPart("whole answer")])

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        self.calls += 1
        if self.calls > 1:
            yield TextDelta("whole answer")
            yield ModelResponse([TextPart("whole answer")])
            return
        try:
            yield TextDelta("half ")
            await asyncio.sleep(60)
        finally:
            self.cut = True


async def _stored(store_url: str, run_id: str) -> tuple[str, str | None, str | None]:
    fresh = Runner(store=store_url, telemetry=None)
    state = await fresh.load_state(run_id)
    await fresh.aclose()
    return state.status, state.error_type, state.error


async def test_a_break_after_the_first_delta_ends_the_run_interrupted(store_url: str) -> None:
    model = StallsOnce()
    agent = Agent("talker", model=model)
    runner = Runner(store=store_url, telemetry=None)
    async with aclosing(runner.run_stream(agent, "talk")) as stream:
        async for event in stream:
            if event.type == "text_delta":
                run_id = event.run_id
                break
    assert model.cut  # the model call in flight was cut
    assert await _stored(store_url, run_id) == ("interrupted", "RunInterrupted", CONSUMER_STOPPED)
    assert runner.store is not None
    [end] = [e for e in await runner.store.load(run_id) if e.type == "run_finished"]
    assert end.seq == max(e.seq for e in await runner.store.load(run_id))
    # interrupted is resumable: the model is asked again, the run completes
    done = await runner.resume(run_id, agent)
    assert (done.state, done.output) == ("completed", "whole answer")
    assert await _stored(store_url, run_id) == ("completed", None, None)
    await runner.aclose()


async def test_a_cancelled_consumer_task_ends_the_run_interrupted(store_url: str) -> None:
    model = StallsOnce()
    runner = Runner(store=store_url, telemetry=None)
    seen: list[str] = []
    first = asyncio.Event()

    async def consume() -> None:
        async for event in runner.run_stream(Agent("talker", model=model), "talk"):
            seen.append(event.run_id)
            if event.type == "text_delta":
                first.set()

    task = asyncio.create_task(consume())
    await first.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert model.cut
    assert await _stored(store_url, seen[0]) == ("interrupted", "RunInterrupted", CONSUMER_STOPPED)
    await runner.aclose()


async def test_a_break_while_a_tool_runs_records_the_call_as_cut(store_url: str) -> None:
    model = FakeModel().add_tool_calls([("quick", {}), ("work", {})]).add_response("never")
    agent = Agent("worker", model=model)
    cancelled: list[bool] = []

    @agent.tool
    async def quick() -> str:
        """Answer at once."""
        return "quick"

    @agent.tool
    async def work() -> str:
        """Work for a long time."""
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        return "worked"

    runner = Runner(store=store_url, telemetry=None)
    started: dict[str, str] = {}
    async with aclosing(runner.run_stream(agent, "go")) as stream:
        async for event in stream:
            if event.type == "tool_call_started":
                started[event.tool_name] = event.call_id  # type: ignore[attr-defined]
            if event.type == "tool_call_finished":
                run_id = event.run_id
                break  # `work` is still running
    assert cancelled == [True]
    state = await runner.load_state(run_id)
    assert (state.status, state.interrupted_calls) == ("interrupted", [started["work"]])
    assert [r.tool_name for r in state.tool_executions] == ["quick"]  # its result is kept
    assert model.remaining == 1
    await runner.aclose()


async def test_a_break_at_run_finished_stores_the_end_it_saw(store_url: str) -> None:
    runner = Runner(store=store_url, telemetry=None)
    agent = Agent("quick", model=FakeModel().add_response("done"))
    async with aclosing(runner.run_stream(agent, "go")) as stream:
        async for event in stream:
            if event.type == "run_finished":
                run_id = event.run_id
                break
    assert await _stored(store_url, run_id) == ("completed", None, None)
    await runner.aclose()


@pytest.mark.allow_blocking
def test_a_plain_break_in_a_process_that_then_exits(store_url: str, tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text(_APP)
    child = subprocess.run(
        [sys.executable, str(script), store_url], capture_output=True, text=True, timeout=60
    )
    assert child.returncode == 0, child.stderr[-2000:]
    ids = json.loads(child.stdout.strip().splitlines()[-1])
    cut = asyncio.run(_stored(store_url, ids["cut"]))
    assert cut == ("interrupted", "RunInterrupted", CONSUMER_STOPPED)
    assert asyncio.run(_stored(store_url, ids["whole"])) == ("completed", None, None)
