"""What cannot be durable under an engine fails loudly at start: breakpoints (and a handle or a
stream with ``RunConfig(durability=...)``, which only ``run()`` hands to an engine). And an
engine run's log in a tether store is not continued by tether: resume, a decision (the CLI,
the dashboard's route) and cancel are refused, naming how to reach the workflow."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tether import RunConfig, Runner
from tether.cli._ops import cancel_run, check_decision, load_run
from tether.durable import DBOSDurability, DurableEngineError
from tether.store import open_store

from . import engine_log, features

_SRC = str(Path(__file__).parents[2] / "src")


def _engines() -> list[Any]:
    return [DBOSDurability(), features.temporal_durable]


async def test_breakpoints_under_an_engine_are_refused_at_start() -> None:
    runner = Runner(store=None, telemetry=None)
    calls = len(engine_log.CALLS)
    for durability in _engines():
        with pytest.raises(
            DurableEngineError, match="breakpoints cannot pause a run under one"
        ) as caught:
            await runner.start(
                engine_log.dbos_ledger,
                "sum twice",
                breakpoints=["tool:add"],
                run_config=RunConfig(durability=durability),
            )
        assert "tether replay" in str(caught.value)  # says what to use instead
    assert len(engine_log.CALLS) == calls  # nothing ran


async def test_a_handle_or_a_stream_with_a_durability_is_refused_not_run_plainly() -> None:
    runner = Runner(store=None, telemetry=None)
    config = RunConfig(durability=DBOSDurability())
    calls = len(engine_log.CALLS)
    with pytest.raises(DurableEngineError, match=r"runner.start\(\) \(a handle, breakpoints\)"):
        await runner.start(engine_log.dbos_ledger, "sum twice", run_config=config)
    with pytest.raises(DurableEngineError, match=r"run_stream\(\) cannot run .* taken by run\(\)"):
        async for _ in runner.run_stream(engine_log.dbos_ledger, "sum twice", run_config=config):
            pass
    assert len(engine_log.CALLS) == calls


async def _unfinished_engine_run(tmp_path: Path, engine: str) -> tuple[str, str]:
    """An engine run's log cut before its end (as a crashed workflow's copy is, until the
    engine recovers it), in a store of its own: (store URL, run id)."""
    from tether.durable._mirror import LogMirror

    url = f"sqlite:///{tmp_path}/runs-{engine}.db"
    mirror = LogMirror(url, engine, lambda: "wf", _never)
    runner = Runner(store=None, telemetry=None)
    run_id = f"wf-{uuid.uuid4().hex[:8]}"
    handle = await runner.start(engine_log.dbos_chat, "hello", run_id=run_id)
    events = [e async for e in handle.events]
    for event in events[:-1]:  # all but run_finished
        mirror.on_event(event)
    await mirror.write(mirror._pending.pop("wf"))
    await mirror.store.close()
    return url, run_id


async def _never(*args: Any) -> Any:
    raise AssertionError("no step here")


@pytest.mark.parametrize("engine", ["dbos", "temporal"])
async def test_tether_does_not_continue_an_engine_s_run(tmp_path: Path, engine: str) -> None:
    url, run_id = await _unfinished_engine_run(tmp_path, engine)
    runner = Runner(store=url, telemetry=None)
    try:
        with pytest.raises(DurableEngineError, match="tether cannot resume it here") as caught:
            await runner.resume(run_id, engine_log.dbos_chat)
        assert ("DBOSDurability.approve" if engine == "dbos" else "tether.decide") in str(
            caught.value
        )
        store = open_store(url)
        _events, state = await load_run(store, run_id)
        with pytest.raises(DurableEngineError, match="tether cannot decide it here"):
            check_decision(state, "call-1")
        with pytest.raises(DurableEngineError, match="tether cannot cancel it here"):
            await cancel_run(store, run_id)
        await store.close()
        before = [e.seq for e in await runner.store.load(run_id)]  # type: ignore[union-attr]
    finally:
        await runner.aclose()
    if engine == "temporal":
        return  # the CLI's refusal is the same check: once is enough
    command = [sys.executable, "-m", "tether.cli", "runs", "approve", run_id, "call-1"]
    done = await asyncio.to_thread(
        subprocess.run,
        [*command, "--store", url],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": _SRC},
        cwd=tmp_path,
    )
    assert done.returncode != 0
    assert "tether cannot decide it here" in done.stdout + done.stderr
    store = open_store(url)
    try:
        assert [e.seq for e in await store.load(run_id)] == before  # nothing was written
    finally:
        await store.close()
