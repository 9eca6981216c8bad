"""The log mirror's writes on a real SQLite store, without an engine: a write repeated by a
recovered process appends nothing twice, a recovered run whose events differ from the first's
is said (a warning), and a write that fails keeps its events for the next one."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from tether import Runner
from tether.durable import DurableEngineError
from tether.durable._mirror import LogMirror
from tether.store import open_store

from . import engine_log


async def _events() -> list[Any]:
    """A real run's durable events (the ledger: five steps)."""
    runner = Runner(store=None, telemetry=None)
    handle = await runner.start(engine_log.dbos_ledger, "sum twice", run_id="wf-1")
    return [e async for e in handle.events if e.durable]


async def _direct(name: str, fn: Any, *args: Any) -> Any:
    return await fn(*args)


def _mirror(url: str, step: Any = _direct) -> LogMirror:
    return LogMirror(url, "dbos", lambda: "wf", step)


async def _seqs(url: str) -> list[int]:
    store = open_store(url)
    try:
        return [e.seq for e in await store.load("wf-1")]
    finally:
        await store.close()


async def test_a_write_repeated_by_a_recovered_process_appends_nothing_twice(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/runs.db"
    events = await _events()
    first = _mirror(url)
    assert await first.write(events[:5]) == 5
    await first.store.close()
    recovered = _mirror(url)  # a new process: it knows nothing of what was written
    assert await recovered.write(events) == len(events) - 5
    assert await recovered.write(events) == 0
    await recovered.store.close()
    assert await _seqs(url) == [e.seq for e in events]


async def test_a_recovered_run_that_differs_is_said(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path}/runs.db"
    events = await _events()
    first = _mirror(url)
    await first.write(events[:4])
    await first.store.close()
    seqs = [e.seq for e in events]
    shifted = [*events[:2], *events[3:]]  # one event the recovered run did not repeat
    for event, seq in zip(shifted, seqs, strict=False):
        event.seq = seq  # so the ones after it took the seqs one earlier
    recovered = _mirror(url)
    with caplog.at_level(logging.WARNING, logger="tether.durable"):
        await recovered.write(shifted)
    await recovered.store.close()
    assert "differs from its recovered run at seq" in caplog.text


async def test_a_failed_write_keeps_its_events_for_the_next(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/runs.db"
    failures = [OSError("disk full")]

    async def flaky(name: str, fn: Any, *args: Any) -> Any:
        if failures:
            raise failures.pop()
        return await fn(*args)

    mirror = _mirror(url, flaky)
    events = await _events()
    for event in events[:3]:
        mirror.on_event(event)
    with pytest.raises(DurableEngineError, match=r"could not be written to its store.*disk full"):
        await mirror.sync()
    for event in events[3:]:
        mirror.on_event(event)
    await mirror.settle()  # the run's last write: the first three too
    await mirror.store.close()
    assert await _seqs(url) == [e.seq for e in events]
