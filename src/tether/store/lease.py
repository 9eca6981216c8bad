"""Run leases: a run executes in exactly one process at a time.

A process takes a run's lease in the store before it drives the run, renews it by a heartbeat
while it does, and releases it when the run stops. A process killed mid-run stops renewing: its
lease expires after ``ttl`` seconds and another process may take the run over (and resume it
from its checkpoint). ``run_lease`` wraps all of that::

    async with run_lease(runner.store, run_id):
        result = await runner.resume(run_id)

A second process asking for the same run gets :class:`RunLeaseHeld` at once, or waits for the
lease with ``wait=True``. ``runner.resume`` takes the lease itself (:func:`resume_lease`) unless
this process holds it already, so two processes resuming one run never both execute it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from ..errors import UserError
from ..events import RunResumed
from ..results import RunState
from .base import LeaseStore

__all__ = [
    "DEFAULT_LEASE_TTL",
    "CancelPending",
    "LeaseKeeper",
    "RunLeaseHeld",
    "lease_store",
    "owner_id",
    "past_streamed",
    "resume_lease",
    "run_lease",
    "take_for_cancel",
]

#: Seconds a lease lives without a heartbeat (renewed every third of it).
DEFAULT_LEASE_TTL = 15.0

# The leases this process holds, by store object and run (a count: a server's lease and a
# run_lease() block may nest): a resume inside one takes no second lease.
_HELD: dict[tuple[int, str], int] = {}


class RunLeaseHeld(UserError):
    """Another process holds the run's lease: it is executing the run right now."""

    def __init__(self, run_id: str, owner: str | None) -> None:
        holder = f" (held by {owner})" if owner else ""
        super().__init__(
            f"run {run_id!r} is being executed by another process{holder}; wait for it "
            "(run_lease(..., wait=True)) or try again once its lease is released or expired"
        )
        self.run_id = run_id
        self.owner = owner


class CancelPending(RunLeaseHeld):
    """A cancel waited long enough for the process executing the run to stop it: the mark
    stays on the run's lease, so that process still cancels the run at its next heartbeat."""

    def __init__(self, run_id: str, owner: str | None) -> None:
        holder = f" ({owner})" if owner else ""
        UserError.__init__(
            self,
            f"run {run_id!r} is executing in another process{holder} that has not stopped it "
            "yet; it is asked to cancel it at its next heartbeat (check with tether runs show)",
        )
        self.run_id = run_id
        self.owner = owner


def owner_id() -> str:
    """A lease owner id unique to this process: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def lease_store(store: Any) -> LeaseStore:
    """``store`` as a LeaseStore, or a UserError naming the stores that keep leases."""
    if not isinstance(store, LeaseStore):
        raise UserError(
            f"{type(store).__name__} keeps no run leases: use the SQLite, PostgreSQL or memory "
            "store (or implement tether.store.base.LeaseStore)"
        )
    return store


class LeaseKeeper:
    """A held lease and the heartbeat task that renews it; :attr:`lost` turns True if it lapses.

    :attr:`on_cancel`, when set, is called once with the reason when another process asks for
    the run to be cancelled (:meth:`LeaseStore.request_cancel`): the heartbeat reads the mark.
    """

    def __init__(self, store: LeaseStore, run_id: str, owner: str, ttl: float) -> None:
        self.store = store
        self.run_id = run_id
        self.owner = owner
        self.ttl = ttl
        self.lost = False
        self.on_cancel: Callable[[str], None] | None = None
        self._cancel_told = False
        self._task: asyncio.Task[None] | None = None
        self._key: tuple[int, str] | None = None

    def start(self) -> None:
        """Start the heartbeat (every ``ttl / 3`` seconds)."""
        self._key = (id(self.store), self.run_id)
        _HELD[self._key] = _HELD.get(self._key, 0) + 1
        self._task = asyncio.create_task(self._beat(), name=f"tether-lease-{self.run_id}")

    async def _beat(self) -> None:
        # A lease can lapse while its holder still drives the run (a stall longer than the
        # ttl): another process may take it, fail to continue the run (its first append
        # collides with ours) and give it up. The holder takes it back as soon as it is free
        # or expired, so a run still being driven never stays without a lease (a replica
        # killed after that leaves a lease that expires, and the run is taken over).
        while True:
            await asyncio.sleep(self.ttl / 3)
            store, run_id, owner, ttl = self.store, self.run_id, self.owner, self.ttl
            try:
                held = await store.renew_lease(run_id, owner, ttl) or (
                    await store.acquire_lease(run_id, owner, ttl)
                )
            except Exception:  # a store hiccup: try again at the next beat, the ttl has room
                continue
            self.lost = not held
            if held:
                await self._read_cancel_mark()

    async def _read_cancel_mark(self) -> None:
        if self.on_cancel is None or self._cancel_told:
            return
        with contextlib.suppress(Exception):  # read again at the next beat
            lease = await self.store.get_lease(self.run_id)
            if lease is not None and lease.cancel_requested is not None:
                self._cancel_told = True
                self.on_cancel(lease.cancel_requested)

    async def _stop(self) -> None:
        if self._key is not None:
            left = _HELD.pop(self._key, 1) - 1
            if left:
                _HELD[self._key] = left
            self._key = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def hand_over(self) -> None:
        """Stop the heartbeat and let the lease expire now: another process may take the run
        over at once (for a run stopped at a checkpoint that should go on elsewhere)."""
        await self._stop()
        if not self.lost:
            await self.store.renew_lease(self.run_id, self.owner, 0.0)

    async def release(self) -> None:
        """Stop the heartbeat and give the lease up."""
        await self._stop()
        if not self.lost:
            await self.store.release_lease(self.run_id, self.owner)


async def acquire(
    store: Any,
    run_id: str,
    *,
    owner: str | None = None,
    ttl: float = DEFAULT_LEASE_TTL,
    wait: bool = False,
    timeout: float | None = None,
    poll: float = 0.1,
) -> LeaseKeeper:
    """Take the run's lease and start its heartbeat; see :func:`run_lease`."""
    if ttl <= 0:
        raise UserError("the lease ttl must be a positive number of seconds")
    leases = lease_store(store)
    owner = owner or owner_id()
    deadline = None if timeout is None else time.monotonic() + timeout
    freed = False
    while not await leases.acquire_lease(run_id, owner, ttl):
        held = await leases.get_lease(run_id)
        # a holder killed on this host (SIGKILL, OOM) renews nothing: expire its lease now, do
        # not wait (expired, not released: its marks, a cancel asked and the positions it
        # streamed, stay for the process taking the run over)
        if not freed and held is not None and await asyncio.to_thread(_dead_here, held.owner):
            await leases.renew_lease(run_id, held.owner, 0.0)
            freed = True
            continue
        if not wait or (deadline is not None and time.monotonic() >= deadline):
            raise RunLeaseHeld(run_id, held.owner if held is not None else None)
        await asyncio.sleep(poll)
    keeper = LeaseKeeper(leases, run_id, owner, ttl)
    keeper.start()
    return keeper


def _dead_here(owner: str) -> bool:
    """Whether ``owner`` (an :func:`owner_id`) is a process of this host that has exited."""
    parts = owner.split(":")
    if len(parts) < 3 or ":".join(parts[:-2]) != socket.gethostname():
        return False
    try:
        pid = int(parts[-2])
    except ValueError:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:  # a zombie (killed, not reaped) is dead
            return stat.read().rpartition(b")")[2].split()[0] == b"Z"
    except FileNotFoundError:
        return True
    except OSError:  # no /proc here: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except OSError:
            return False
        return False


@contextlib.asynccontextmanager
async def resume_lease(store: Any, run_id: str, take: bool = True) -> AsyncIterator[None]:
    """Hold the run's lease for a ``runner.resume`` block: nothing to take when ``store`` keeps
    no leases, ``take`` is False (a Ray worker of a server that holds it) or this process holds
    it already (a server, a ``run_lease`` block); :class:`RunLeaseHeld` when a live process
    holds it."""
    if not take or not isinstance(store, LeaseStore) or (id(store), run_id) in _HELD:
        yield
        return
    keeper = await acquire(store, run_id)
    try:
        yield
    finally:
        await keeper.release()


@contextlib.asynccontextmanager
async def run_lease(
    store: Any,
    run_id: str,
    *,
    owner: str | None = None,
    ttl: float = DEFAULT_LEASE_TTL,
    wait: bool = False,
    timeout: float | None = None,
) -> AsyncIterator[LeaseKeeper]:
    """Hold the run's lease for the block: heartbeat while inside, release on the way out.

    Raises :class:`RunLeaseHeld` when another owner holds a live lease, unless ``wait`` is
    True (then it waits, up to ``timeout`` seconds when given).
    """
    keeper = await acquire(store, run_id, owner=owner, ttl=ttl, wait=wait, timeout=timeout)
    try:
        yield keeper
    finally:
        await keeper.release()


async def _stored_state(store: Any, run_id: str) -> RunState:
    return RunState.from_events(run_id, await store.load(run_id))


async def take_for_cancel(
    store: Any,
    run_id: str,
    reason: str,
    *,
    owner: str | None = None,
    ttl: float = DEFAULT_LEASE_TTL,
    timeout: float | None = None,
    poll: float = 0.05,
) -> LeaseKeeper | None:
    """Take the run's lease to record its cancelled end (every cancel of a stored run does so:
    the server's, ``tether runs cancel``). While a live process holds it, the lease is marked
    (:meth:`LeaseStore.request_cancel` with ``reason``) for that holder to cancel the run at its
    heartbeat, and this waits for it to stop.

    Returns the lease, held (the run stands still: write its end after :func:`past_streamed`,
    then release it), or None: the holder stopped the run and recorded its cancelled end.
    Raises :class:`CancelPending` after ``timeout`` seconds (by default twice ``ttl`` and 5 s:
    a holder reads the mark within a third of its lease time, a dead holder's lease expires
    within it).
    """
    leases = lease_store(store)
    owner = owner or owner_id()
    deadline = time.monotonic() + (2 * ttl + 5.0 if timeout is None else timeout)
    marked = False
    while True:
        try:
            keeper = await acquire(leases, run_id, owner=owner, ttl=ttl)
        except RunLeaseHeld as held:
            holder = held.owner
        else:
            if marked and (await _stored_state(store, run_id)).status == "cancelled":
                await keeper.release()  # stopped there at our word, then released
                return None
            return keeper
        if not marked:
            marked = await leases.request_cancel(run_id, reason)
        state = await _stored_state(store, run_id)
        if state.finished and state.status == "cancelled":
            return None
        if time.monotonic() > deadline:
            raise CancelPending(run_id, holder)
        await asyncio.sleep(poll)


async def past_streamed(store: Any, state: RunState) -> int:
    """Before a process writes to a run whose lease it took: the seq its events come after.

    A holder that stopped (died, or was cancelled) may have streamed positions past the run's
    last stored event (its lease says how far, :meth:`LeaseStore.reserve_seq`); they are skipped
    by a ``run_resumed`` stored after them (``state`` applies it), so every event written from
    here on has a position no client was handed for another event."""
    lease = await lease_store(store).get_lease(state.run_id)
    if lease is None or lease.reserved_seq <= state.seq or state.finished:
        return state.seq  # nothing streamed past the log (or it recorded an end after it)
    marker = RunResumed(
        run_id=state.run_id, seq=lease.reserved_seq + 1, at=time.time(), from_checkpoint=True
    )
    await store.append(state.run_id, [marker])
    state.apply(marker)
    return marker.seq
