"""Run leases: the store contract on every store, and two real processes resuming one run."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from store.conftest import _make  # the same fresh stores as the store suite

from tether import Runner
from tether.errors import UserError
from tether.store import LeaseStore, MemoryStore, RunLeaseHeld, run_lease
from tether.store.lease import acquire

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from lease_worker import build_agent  # noqa: E402


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def leases(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LeaseStore]:
    async for made in _make(request.param, request, tmp_path):
        assert isinstance(made, LeaseStore)
        yield made


async def test_one_owner_at_a_time(leases: LeaseStore) -> None:
    assert await leases.acquire_lease("r1", "a", 30)
    assert not await leases.acquire_lease("r1", "b", 30)
    assert await leases.acquire_lease("r1", "a", 30)  # ours: taken again (renewed)
    held = await leases.get_lease("r1")
    assert held is not None and held.owner == "a" and held.expires_at > time.time() + 20
    assert await leases.renew_lease("r1", "a", 30)
    assert not await leases.renew_lease("r1", "b", 30)
    await leases.release_lease("r1", "b")  # not b's: nothing happens
    assert (await leases.get_lease("r1")) is not None
    await leases.release_lease("r1", "a")
    assert await leases.get_lease("r1") is None
    assert await leases.acquire_lease("r1", "b", 30)
    assert await leases.get_lease("other") is None


async def test_an_expired_lease_is_listed_and_taken_over(leases: LeaseStore) -> None:
    assert await leases.acquire_lease("alive", "a", 30)
    assert await leases.expired_leases() == []  # a live lease is not listed
    # taken after that check: a stall under load cannot make it expire before the check
    assert await leases.acquire_lease("dead", "a", 0.2)
    await asyncio.sleep(0.35)
    expired = await leases.expired_leases()
    assert [(e.run_id, e.owner) for e in expired] == [("dead", "a")]
    assert not await leases.renew_lease("alive", "b", 30)
    assert await leases.acquire_lease("dead", "b", 30)
    held = await leases.get_lease("dead")
    assert held is not None and held.owner == "b"
    assert await leases.expired_leases() == []
    assert not await leases.renew_lease("dead", "a", 30)  # a lost it


async def test_run_lease_heartbeat_keeps_it_and_release_frees_it() -> None:
    store = MemoryStore()
    async with run_lease(store, "r", owner="me", ttl=1.0) as keeper:
        await asyncio.sleep(1.3)  # longer than the ttl: the heartbeat renewed it
        assert not keeper.lost
        with pytest.raises(RunLeaseHeld, match=r"being executed by another process.*me"):
            await acquire(store, "r", owner="other")
    assert await store.get_lease("r") is None
    waited = await acquire(store, "r", owner="other", wait=True, timeout=1)
    await waited.hand_over()  # expires at once: another may take it
    assert [e.run_id for e in await store.expired_leases()] == ["r"]


async def _until(check: Any, what: str) -> None:
    for _ in range(400):
        if await check():
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"timed out waiting until {what}")


async def test_a_holder_whose_lease_lapsed_takes_it_back_once_it_is_free(
    leases: LeaseStore,
) -> None:
    # A stall longer than the ttl lets another replica take the run's lease; its takeover
    # fails (the holder is still appending) and it gives the lease up. The holder, still
    # driving the run, must hold the lease again: were it left without one, a holder killed
    # afterwards would leave a run no sweeper ever finds (it looks for expired leases).
    keeper = await acquire(leases, "r", owner="a", ttl=0.6)
    try:

        async def taken_by_b() -> bool:
            await leases.renew_lease("r", "a", 0.0)  # a's lease lapses (expired now)
            return await leases.acquire_lease("r", "b", 30)

        await _until(taken_by_b, "b took the lapsed lease")

        async def lost() -> bool:
            return keeper.lost

        await _until(lost, "a's heartbeat noticed it lost the lease")
        held = await leases.get_lease("r")
        assert held is not None and held.owner == "b"  # a live lease of another is left alone
        await leases.release_lease("r", "b")  # b's takeover failed: it gives the lease up

        async def a_again() -> bool:
            held = await leases.get_lease("r")
            return held is not None and held.owner == "a" and not keeper.lost

        await _until(a_again, "a held its lease again")
    finally:
        await keeper.release()
    assert await leases.get_lease("r") is None  # released by a, whose lease it was


async def test_run_lease_refuses_bad_input() -> None:
    with pytest.raises(UserError, match="ttl must be a positive"):
        await acquire(MemoryStore(), "r", ttl=0)
    with pytest.raises(UserError, match="keeps no run leases"):
        await acquire(object(), "r")
    store = MemoryStore()
    await store.acquire_lease("r", "x", 30)
    with pytest.raises(RunLeaseHeld):
        await acquire(store, "r", wait=True, timeout=0.2)


def _worker(url: str, run_id: str, call_id: str, work: Path, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(HERE / "lease_worker.py"), url, run_id, call_id, str(work), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def _suspended_run(url: str, work: Path) -> tuple[str, str]:
    runner = Runner(store=url, telemetry=None, agents=[build_agent(work)])
    result = await runner.run("leased", "go")
    await runner.aclose()
    assert result.state == "awaiting_approval"
    return result.run_id, result.pending_approvals[0].call_id


async def _finish(proc: subprocess.Popen[str]) -> dict[str, object]:
    out, err = await asyncio.to_thread(proc.communicate, timeout=60)
    assert proc.returncode == 0, err
    answer: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return answer


def _wait_for(marker: Path, proc: subprocess.Popen[str]) -> None:
    for _ in range(400):
        if marker.exists():
            return
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.05)
    raise AssertionError(f"{marker.name} never appeared")


async def _when(marker: Path, proc: subprocess.Popen[str]) -> None:
    await asyncio.to_thread(_wait_for, marker, proc)


@pytest.mark.parametrize("mode", ["fail", "wait"])
async def test_two_processes_resuming_one_run(store_url: str, tmp_path: Path, mode: str) -> None:
    """Both stores, both modes: the second process is refused (or waits), the tool runs once."""
    run_id, call_id = await _suspended_run(store_url, tmp_path)
    first = _worker(store_url, run_id, call_id, tmp_path, "fail")
    await _when(tmp_path / "started", first)
    second = _worker(store_url, run_id, call_id, tmp_path, mode)
    if mode == "fail":
        two = await _finish(second)  # refused while the first one holds the lease
        (tmp_path / "release").touch()
        one = await _finish(first)
    else:
        await _when(tmp_path / "trying-wait", second)
        await asyncio.sleep(0.3)  # it is waiting for the lease now
        (tmp_path / "release").touch()
        one, two = await _finish(first), await _finish(second)
    assert one == {"state": "completed", "text": "done: recorded x"}
    if mode == "fail":
        assert two["error"] == "RunLeaseHeld"
        assert f"run {run_id!r} is being executed by another process" in str(two["message"])
    else:  # it waited for the lease, then found the run finished: nothing ran again
        assert two == one
    assert (tmp_path / "ledger.txt").read_text() == "x\n"  # the tool ran exactly once


async def test_two_plain_resumes_at_once_run_the_tool_once(store_url: str, tmp_path: Path) -> None:
    """``runner.resume`` takes the run's lease itself: a second process resuming the same run
    while the first runs the approved tool is refused, rather than taking the running call
    for one a crash cut short, approving it again and running it a second time."""
    run_id, call_id = await _suspended_run(store_url, tmp_path)
    first = _worker(store_url, run_id, call_id, tmp_path, "plain")
    await _when(tmp_path / "started", first)
    second = _worker(store_url, run_id, call_id, tmp_path, "plain")
    two = await _finish(second)
    (tmp_path / "release").touch()
    one = await _finish(first)
    assert one == {"state": "completed", "text": "done: recorded x"}
    assert two["error"] == "RunLeaseHeld", two
    assert f"run {run_id!r} is being executed by another process" in str(two["message"])
    assert (tmp_path / "ledger.txt").read_text() == "x\n"  # the tool ran exactly once
    runner = Runner(store=store_url, telemetry=None, agents=[build_agent(tmp_path)])
    leases = runner.store
    assert isinstance(leases, LeaseStore)
    assert await leases.get_lease(run_id) is None  # released when the resume returned
    await runner.aclose()


async def test_a_resume_killed_holding_the_lease_is_resumed_at_once(
    store_url: str, tmp_path: Path
) -> None:
    """A process SIGKILLed while its resume holds the lease renews nothing; another process
    on the host sees the holder is gone and resumes the run without waiting for the ttl."""
    run_id, call_id = await _suspended_run(store_url, tmp_path)
    first = _worker(store_url, run_id, call_id, tmp_path, "plain")
    await _when(tmp_path / "started", first)
    first.kill()
    await asyncio.to_thread(first.communicate, timeout=60)
    started = time.monotonic()
    after = await _finish(_worker(store_url, run_id, "-", tmp_path, "plain"))
    assert after == {"state": "interrupted", "text": ""}  # the call was cut short: not re-run
    assert time.monotonic() - started < 10  # not the 15 s a live holder's lease lasts
    assert (tmp_path / "ledger.txt").read_text() == "x\n"
