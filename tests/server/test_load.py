"""A bounded load run through `tether serve`: 2,000 runs, 100 at a time, no error, none lost.

The served agent talks to the loopback Chat Completions server (tests/servers), which asks for
`add(1, 2)` and then answers: each run is two real HTTP model calls and one tool call."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from tests._ports import PortedProcess
from tests.servers.openai_chat import ChatCompletionsServer, add_tool_responder
from tether.store.sqlite import SQLiteStore

HERE = Path(__file__).parent
RUNS = 2000
CONCURRENCY = 100


@pytest.mark.timeout(150)
async def test_two_thousand_runs_none_lost(tmp_path: Path) -> None:
    store = tmp_path / "load.db"
    env = {
        **os.environ,
        "PYTHONPATH": str(HERE),
        "TETHER_TEST_STORE": f"sqlite:///{store}",
    }

    def command(port: int) -> list[str]:
        return [
            sys.executable, "-m", "tether.cli", "serve", "load_app:runner", "--port", str(port),
            "--no-a2a", "--sweep-interval", "0",
        ]  # fmt: skip

    model = ChatCompletionsServer(add_tool_responder(answer="the sum is 3"), record=False).start()
    env["TETHER_TEST_MODEL_URL"] = model.base_url
    # it binds its port itself: one taken meanwhile is tried again on a new port
    served = PortedProcess(command, tmp_path / "serve.log", cwd=tmp_path, env=env)
    proc = served.proc
    try:
        for _ in range(600):
            if served.listening():
                break
            await asyncio.sleep(0.05)
        proc = served.proc
        connector = aiohttp.TCPConnector(limit=CONCURRENCY)
        url = f"http://127.0.0.1:{served.port}"
        async with aiohttp.ClientSession(url, connector=connector) as client:
            for _ in range(600):
                assert proc.poll() is None, served.output()
                try:
                    async with client.get("/healthz") as health:
                        if health.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
            gate = asyncio.Semaphore(CONCURRENCY)
            failures: list[str] = []

            async def one(i: int) -> None:
                async with gate:
                    body = {"agent": "assistant", "input": f"add {i}", "run_id": f"load-{i}"}
                    async with client.post("/v1/runs", json=body) as answer:
                        result = await answer.json()
                    if answer.status != 200 or result.get("final_text") != "the sum is 3":
                        failures.append(f"{i}: {answer.status} {str(result)[:200]}")

            started = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(RUNS)))
            elapsed = time.perf_counter() - started
        assert failures == [], failures[:5]
        print(f"{RUNS} runs in {elapsed:.1f}s: {RUNS / elapsed:.0f} runs/s")
    finally:
        proc.terminate()
        proc.wait(30)
        model.stop()
    runs = SQLiteStore(store)
    try:
        stored = await runs.list_runs(limit=RUNS + 10)
    finally:
        await runs.close()
    assert len(stored) == RUNS
    assert {r.status for r in stored} == {"completed"}
    assert {r.run_id for r in stored} == {f"load-{i}" for i in range(RUNS)}
