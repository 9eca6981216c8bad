"""Sync tools: their own bounded threads, never waited for once abandoned; killable processes."""

from __future__ import annotations

import asyncio
import contextvars
import os
import threading
import time
from pathlib import Path

import pytest

from tether import Agent
from tether._threads import ToolProcessDied, ToolThreads, ToolThreadsExhausted, tool_threads
from tether.models import FakeModel

from . import _isolated_tools as iso

RELEASE = threading.Event()


def _wait_until(predicate, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def hung_agent(calls: int) -> Agent:
    model = FakeModel()
    for i in range(calls):
        model.add_tool_call("stuck", {"i": i})
    model.add_tool_call("quick", {}).add_response("done")
    bot = Agent("bot", model=model)

    @bot.tool(timeout=0.2)
    def stuck(i: int) -> str:
        """Hangs until released."""
        RELEASE.wait(30)
        return "late"

    @bot.tool
    def quick() -> str:
        """Answers at once."""
        return "fast"

    return bot


@pytest.mark.allow_blocking
def test_hung_sync_tools_neither_hold_up_run_sync_nor_exhaust_threads() -> None:
    RELEASE.clear()
    pool = tool_threads()
    try:
        started = time.monotonic()
        result = hung_agent(8).run_sync("go")  # 8 > the default executor's 6 threads here
        elapsed = time.monotonic() - started
        assert result.final_text == "done"
        outcomes = [t.error for t in result.tool_executions]
        assert sum("timed out" in (e or "") for e in outcomes) == 8 and outcomes[-1] is None
        assert elapsed < 8 * 0.2 + 3  # not the tools' 30 s, nor waiting for their threads
        assert pool.stats().abandoned == 8
        # The default executor (endpoints, DNS, to_thread) was never touched.
        assert asyncio.run(asyncio.to_thread(lambda: "free")) == "free"
    finally:
        RELEASE.set()
    assert _wait_until(lambda: pool.stats().abandoned == 0)


async def test_past_max_abandoned_a_sync_call_fails_at_once() -> None:
    pool = ToolThreads(max_workers=2, max_abandoned=2)
    gate = threading.Event()
    for _ in range(2):
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await pool.run(gate.wait, 30)
    assert pool.stats().abandoned == 2
    with pytest.raises(ToolThreadsExhausted, match="2 sync tool calls timed out"):
        await pool.run(lambda: 1)
    gate.set()
    assert await asyncio.to_thread(_wait_until, lambda: pool.stats().abandoned == 0)
    assert await pool.run(lambda: 1) == 1


async def test_the_pool_is_bounded_and_keeps_context_and_errors() -> None:
    pool = ToolThreads(max_workers=3)
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var")
    var.set("mine")
    running = 0
    peak = 0
    lock = threading.Lock()

    def work() -> str:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.02)
        with lock:
            running -= 1
        return var.get()

    assert await asyncio.gather(*(pool.run(work) for _ in range(12))) == ["mine"] * 12
    assert peak <= 3 and pool.stats().threads <= 3

    def fail() -> None:
        raise KeyError("nope")

    with pytest.raises(KeyError, match="nope"):
        await pool.run(fail)


async def test_an_isolated_tool_is_killed_on_timeout(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    task = asyncio.ensure_future(iso.hang(str(pid_file)))
    # The child's start (spawn) is bounded too.
    assert await asyncio.to_thread(_wait_until, pid_file.exists, 15)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):
            await task
    pid = int(await asyncio.to_thread(pid_file.read_text))

    def gone() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    assert await asyncio.to_thread(_wait_until, gone)


async def test_an_isolated_tool_returns_raises_and_dies_plainly() -> None:
    assert await iso.double(21) == 42
    with pytest.raises(ValueError, match="negative: -1"):
        await iso.double(-1)
    with pytest.raises(ToolProcessDied, match=r"'die' ended without answering \(exit code 3\)"):
        await iso.die()


async def test_an_isolated_tool_keeps_its_schema() -> None:
    bot = Agent("bot", model=FakeModel().add_tool_call("double", {"n": 4}).add_response("ok"))
    bot.tool(timeout=20)(iso.double)
    spec = bot.tools_map["double"]
    assert spec.description.startswith("Double a number")
    result = await bot.run("go")
    assert result.tool_executions[0].output == 8


async def test_the_counts_stay_true_under_random_timeouts() -> None:
    import random

    pool = ToolThreads(max_workers=6, max_abandoned=1000, idle_timeout=0.1)
    rng = random.Random(23)

    async def one() -> float | None:
        pause = rng.random() * 0.02
        try:
            async with asyncio.timeout(rng.random() * 0.025):
                return await pool.run(time.sleep, pause)
        except TimeoutError:
            return None

    for _ in range(3):
        await asyncio.gather(*(one() for _ in range(150)))
        stats = pool.stats()
        assert stats.busy >= 0 and stats.threads - stats.abandoned <= 6
    settled = await asyncio.to_thread(
        _wait_until, lambda: pool.stats() == type(pool.stats())(0, 0, 0, 0)
    )
    assert settled, pool.stats()
