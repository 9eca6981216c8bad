"""A sweeper's takeover whose resume raises before the run records anything (a store error):
the run's lease is handed over (expired at once), not released, so a later sweep tries again;
after TAKEOVER_TRIES failed takeovers of the run it is recorded ``failed`` with the reason.
Before, the lease was released: no replica ever looked at the run again and it stayed
``running``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from tether import Agent, Runner
from tether.events import Event
from tether.models import FakeModel
from tether.server import ServerConfig
from tether.server._manager import RunManager
from tether.server._takeover import TAKEOVER_TRIES
from tether.store import MemoryStore


class FlakyStore(MemoryStore):
    """A memory store whose next ``failing`` appends raise, as a database gone away would."""

    def __init__(self) -> None:
        super().__init__()
        self.failing = 0

    async def append(self, run_id: str, events: Sequence[Event]) -> None:
        if self.failing:
            self.failing -= 1
            raise OSError("disk full")
        await super().append(run_id, events)


def _agent() -> Agent:
    return Agent("worker", model=FakeModel().add_response("done").add_response("done again"))


async def _abandoned(store: FlakyStore, agent: Agent, run_id: str) -> None:
    """A run whose replica died mid-way: its log without an end, its lease expired."""
    made = MemoryStore()
    await Runner(store=made, telemetry=None).run(agent, "hello", run_id=run_id)
    events = await made.load(run_id)
    await store.append(run_id, events[:-1])
    assert await store.acquire_lease(run_id, "elsewhere:1:gone", 0.01)
    await asyncio.sleep(0.05)


async def _sweep_once(manager: RunManager, run_id: str) -> None:
    assert await manager.sweep() == [run_id]
    execution = manager.live(run_id)
    assert execution is not None and execution.task is not None
    await execution.task


async def test_a_takeover_that_fails_before_recording_is_tried_again_by_a_later_sweep() -> None:
    store, agent = FlakyStore(), _agent()
    await _abandoned(store, agent, "r1")
    runner = Runner(store=store, telemetry=None, agents=[agent])
    manager = RunManager(runner, ServerConfig(sweep_interval=0, lease_ttl=30, a2a=False))
    store.failing = 1  # the resume's first write fails
    await _sweep_once(manager, "r1")
    lease = await store.get_lease("r1")
    assert lease is not None and lease.owner == manager.owner  # handed over, not released
    assert lease.expires_at <= time.time()
    assert (await manager.load("r1")).status == "running"
    await _sweep_once(manager, "r1")  # the store is back: the run goes on
    assert (await manager.load("r1")).status == "completed"
    assert await store.get_lease("r1") is None
    assert await manager.sweep() == []


async def test_a_run_whose_takeovers_keep_failing_is_recorded_failed_with_the_reason() -> None:
    store, agent = FlakyStore(), _agent()
    await _abandoned(store, agent, "r2")
    runner = Runner(store=store, telemetry=None, agents=[agent])
    manager = RunManager(runner, ServerConfig(sweep_interval=0, lease_ttl=30, a2a=False))
    store.failing = TAKEOVER_TRIES  # every resume's write fails; the store is back after that
    for _ in range(TAKEOVER_TRIES - 1):
        await _sweep_once(manager, "r2")
        assert (await manager.load("r2")).status == "running"
    await _sweep_once(manager, "r2")
    state = await manager.load("r2")
    assert state.status == "failed"
    assert state.error == (
        f"taking the run over failed {TAKEOVER_TRIES} times, the last: OSError: disk full"
    )
    assert await store.get_lease("r2") is None
    assert await manager.sweep() == []
    assert manager.counters.finished == {"failed": 1}
    assert [e.type for e in await store.load("r2")].count("run_finished") == 1
