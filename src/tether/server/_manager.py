"""RunManager: executes the server's runs, each under a lease, and follows any run's log.

A run executes in exactly one process at a time: before driving a run (starting it, or
continuing it after an approval, an answer, a deferred result, a resume) the manager takes the
run's lease in the store and renews it by a heartbeat until the run stops. Any replica can read
any run (its state and events come from the store). A replica killed mid-run leaves a lease that
expires; the sweeper of another replica takes it and resumes the run from its checkpoint.
A cancel asked of a replica that does not execute the run marks the run's lease; the replica
executing it reads the mark at its heartbeat and stops the run. A run streamed live reserves
the positions it hands out on its lease, and a takeover numbers its events after them.
Draining (shutdown) stops accepting runs, gives running ones ``drain_timeout`` seconds, then
stops the rest where they stand (each log records it cut short, ``interrupted``) and hands their
leases over (expired at once), so another replica resumes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, cast

from .._cut_short import CANCEL_MESSAGE, HAND_OVER_MESSAGE
from .._log_scrub import get_logger
from .._subagents import record_cancelled
from ..errors import TetherError, UserError
from ..events import Event, RunFinished
from ..messages import input_to_messages
from ..results import RunState
from ..store.base import LeaseStore, Store
from ..store.lease import (
    CancelPending,
    LeaseKeeper,
    acquire,
    lease_store,
    owner_id,
    past_streamed,
    take_for_cancel,
)
from ._config import ServerConfig
from ._execution import Counters, Execution
from ._executor import RunExecutor
from ._http import ApiError
from ._results import result_json, state_json
from ._takeover import after_takeover, resumer, takeable

if TYPE_CHECKING:
    from ..agent import Agent
    from ..run.runner import Runner

__all__ = ["Execution", "RunManager"]

_log = get_logger("tether.server")
_POLL = 0.05  # seconds between looks at the store while following a run executed elsewhere
_RESERVE_AHEAD = 64  # positions recorded on a run's lease at a time while streaming it live


class RunManager:
    """Starts, continues, cancels and follows runs for one server process."""

    def __init__(
        self, runner: Runner, config: ServerConfig, executor: RunExecutor | None = None
    ) -> None:
        if runner.store is None:
            raise UserError(
                "a server needs a Runner with a store (runs outlive requests): pass "
                "store='sqlite:///.tether/tether.db' or 'postgresql://...'"
            )
        self.runner = runner
        #: Executes the runs not streamed from here: the Runner, or Ray workers (--engine ray).
        self.executor: RunExecutor = executor if executor is not None else runner
        self.config = config
        self.store: Store = runner.store
        self.leases: LeaseStore = lease_store(runner.store)
        self.owner = config.owner or owner_id()
        self.counters = Counters()
        self.accepting = True
        #: Set once :meth:`drain` has finished (the process may then exit cleanly).
        self.drained = False
        self._live: dict[str, Execution] = {}
        self._sweeper: asyncio.Task[None] | None = None
        #: Expired runs of agents not served here, left for the replicas that serve them.
        self._foreign: set[str] = set()
        #: Takeovers that failed here, by run (see TAKEOVER_TRIES).
        self._failed_takeovers: dict[str, int] = {}

    # -- lifecycle --------------------------------------------------------------------------------

    def start_sweeper(self) -> None:
        """Look for runs whose lease expired (a dead replica's) every ``sweep_interval``."""
        if self.config.sweep_interval > 0 and self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep_forever(), name="tether-sweeper")

    async def drain(self) -> None:
        """Stop accepting runs; let running ones finish for ``drain_timeout`` seconds, then stop
        the rest at their last checkpoint and hand their leases over to the other replicas."""
        self.accepting = False
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        tasks = [e.task for e in self._live.values() if e.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=self.config.drain_timeout)
        late = [e for e in self._live.values() if e.task is not None and not e.task.done()]
        for execution in late:
            execution.handover = True
            assert execution.task is not None
            execution.task.cancel(HAND_OVER_MESSAGE)  # it goes on elsewhere: no end recorded
        for execution in late:
            assert execution.task is not None
            with contextlib.suppress(asyncio.CancelledError):
                await execution.task
        _log.warning(
            "tether: drained: %d runs finished, %d handed over to other replicas",
            len(tasks) - len(late),
            len(late),
        )
        self.drained = True

    @property
    def in_flight(self) -> int:
        """Runs this process is executing now."""
        return len(self._live)

    def live(self, run_id: str) -> Execution | None:
        """The run's execution in this process, if any."""
        return self._live.get(run_id)

    # -- starting -------------------------------------------------------------------------------

    def _refuse_when_draining(self) -> None:
        if not self.accepting:
            raise ApiError(503, "shutting_down", "this server is shutting down; retry elsewhere")

    def agent(self, name: str) -> Agent:
        """A served agent by name (404 when unknown)."""
        agent = self.runner.get_agent(name)
        if agent is None:
            raise ApiError(404, "agent_not_found", f"no agent named {name!r} is served here")
        return cast("Agent", agent)  # the Runner types agents by the engine's AgentSpec

    async def start(
        self,
        agent: Agent,
        input: Any,
        *,
        run_id: str | None,
        thread_id: str | None,
        stream: bool = True,
    ) -> tuple[Execution | None, str]:
        """Start a run; returns its execution (None: ``run_id`` names an existing run) and id.

        ``stream`` runs it with streamed model calls and keeps its live events (deltas
        included) for followers; without, the model answers whole (faster) and followers read
        the run's durable events from the store.
        """
        self._refuse_when_draining()
        try:
            input_to_messages(input)
        except (UserError, TypeError, ValueError, KeyError) as exc:
            raise ApiError(422, "invalid_input", f"input: {exc}") from None
        if run_id is None:
            run_id = uuid.uuid4().hex
        else:
            live = self._live.get(run_id)
            if live is not None:
                return live, run_id
            if await self.store.run_info(run_id) is not None:
                return None, run_id
        try:
            keeper = await acquire(self.store, run_id, owner=self.owner, ttl=self.config.lease_ttl)
        except UserError:  # another replica is creating it right now: it is that run
            await self._wait_for_run(run_id)
            return None, run_id
        if await self.store.run_info(run_id) is not None:  # created and released meanwhile
            await keeper.release()
            return None, run_id
        execution = Execution(run_id, keeper, [] if stream else None)
        self.counters.started += 1
        drive = self._drive_new if stream else self._drive_whole
        self._launch(execution, drive(execution, agent, input, thread_id))
        return execution, run_id

    def _launch(self, execution: Execution, drive: Coroutine[Any, Any, None]) -> None:
        """Drive the run here; a cancel another replica asks for (a mark on the lease, read at
        its heartbeat) stops it as a cancel asked here would."""
        self._live[execution.run_id] = execution
        execution.keeper.on_cancel = lambda reason: self._stop_cancelled(execution)
        execution.task = asyncio.create_task(drive, name=f"tether-serve-{execution.run_id}")

    @staticmethod
    def _stop_cancelled(execution: Execution) -> None:
        task = execution.task
        if task is not None and not task.done() and not execution.cancel_requested:
            execution.cancel_requested = True
            task.cancel(CANCEL_MESSAGE)  # the run records its cancelled end itself

    async def _wait_for_run(self, run_id: str) -> None:
        deadline = time.monotonic() + self.config.lease_ttl
        while time.monotonic() < deadline:
            if await self.store.run_info(run_id) is not None:
                return
            await asyncio.sleep(_POLL)
        raise ApiError(409, "conflict", f"run {run_id!r} is being created by another replica")

    async def _drive_new(
        self, execution: Execution, agent: Agent, input: Any, thread_id: str | None
    ) -> None:
        stream = self.runner.run_stream(agent, input, run_id=execution.run_id, thread_id=thread_id)
        await self._drive_events(execution, stream)

    async def _drive_events(self, execution: Execution, events: AsyncIterator[Event]) -> None:
        """Drive a streamed run here, each event kept for the followers (deltas included)."""
        try:
            async for event in events:
                execution.push(event)
                if isinstance(event, RunFinished):
                    execution.result = event.result
        except Exception as exc:
            execution.error = exc
        finally:
            await self._settle(execution)

    async def _drive_whole(
        self, execution: Execution, agent: Agent, input: Any, thread_id: str | None
    ) -> None:
        async def step() -> Any:
            return await self.executor.run(
                agent, input, run_id=execution.run_id, thread_id=thread_id
            )

        await self._drive_step(execution, step)

    # -- continuing -----------------------------------------------------------------------------

    async def load(self, run_id: str) -> RunState:
        """The run's folded state from the store (404 when unknown; a run starting here that
        has stored nothing yet is an empty state)."""
        events = await self.store.load(run_id)
        if not events:
            if await self._starting(run_id):
                return RunState(run_id)
            raise ApiError(404, "run_not_found", f"no run {run_id!r}")
        return RunState.from_events(run_id, events)

    async def _starting(self, run_id: str) -> bool:
        """Whether a run with no stored event is being started (here, or by the replica that
        holds its lease and has not written its first event yet)."""
        return run_id in self._live or await self.leases.get_lease(run_id) is not None

    async def continue_run(
        self,
        run_id: str,
        check: Callable[[RunState], None],
        step: Callable[[], Awaitable[Any]] | None,
        streamed: Callable[[], AsyncIterator[Event]] | None = None,
    ) -> tuple[Execution, RunState]:
        """Continue a stored run with ``step`` (a Runner call) under its lease.

        ``check`` validates the decision against the state first (raising ApiError).
        ``streamed``, when given, continues it here instead, streamed (``Runner.resume_stream``):
        its followers get its live events, text deltas included, as a new streamed run's do.
        """
        assert (step is None) != (streamed is None), "a step or a stream, one of them"
        self._refuse_when_draining()
        if run_id in self._live:
            raise ApiError(409, "conflict", f"run {run_id!r} is executing now; try once it stops")
        state = await self.load(run_id)
        check(state)
        try:
            keeper = await acquire(self.store, run_id, owner=self.owner, ttl=self.config.lease_ttl)
        except UserError:
            raise ApiError(
                409, "conflict", f"run {run_id!r} is executing on another replica right now"
            ) from None
        if run_id in self._live:  # started here meanwhile
            raise ApiError(409, "conflict", f"run {run_id!r} is executing now; try once it stops")
        try:
            after = await past_streamed(self.store, state)
        except BaseException:
            await keeper.release()
            raise
        if streamed is not None:
            execution = Execution(run_id, keeper, [], after=after)
            self._launch(execution, self._drive_events(execution, streamed()))
        else:
            assert step is not None
            execution = Execution(run_id, keeper, None, after=after)
            self._launch(execution, self._drive_step(execution, step))
        return execution, state

    async def _drive_step(self, execution: Execution, step: Callable[[], Awaitable[Any]]) -> None:
        try:
            execution.result = await step()
        except TetherError as exc:
            execution.result = getattr(exc, "result", None)
            if execution.result is None:
                execution.error = exc
        except Exception as exc:
            execution.error = exc
        finally:
            await self._settle(execution)

    async def cancel(self, run_id: str) -> None:
        """End the run as ``cancelled``: stop it here, or record the end of a suspended run."""
        execution = self._live.get(run_id)
        if execution is not None and execution.task is not None:
            execution.cancel_requested = True
            execution.task.cancel(CANCEL_MESSAGE)  # the run records its cancelled end itself
            with contextlib.suppress(asyncio.CancelledError):
                await execution.task
            return
        _refuse_ended(await self.load(run_id))
        keeper = await self._cancel_elsewhere(run_id)
        if keeper is None:  # the replica executing it stopped it cancelled
            return
        try:
            state = await self.load(run_id)
            _refuse_ended(state)  # it ended meanwhile, on another replica
            await past_streamed(self.store, state)
            if await self._record_cancel(run_id, state, None):
                self._count("cancelled")
        finally:
            await keeper.release()

    async def _cancel_elsewhere(self, run_id: str) -> LeaseKeeper | None:
        """The run's lease to record its end here, or None: the replica executing it stopped
        it cancelled (:func:`take_for_cancel`)."""
        try:
            return await take_for_cancel(
                self.store,
                run_id,
                "cancelled by the caller",
                owner=self.owner,
                ttl=self.config.lease_ttl,
                poll=_POLL,
            )
        except CancelPending:
            raise ApiError(
                409,
                "conflict",
                f"run {run_id!r} is executing on another replica that has not stopped it "
                "yet; it is asked to cancel it",
            ) from None

    def _count(self, state: str) -> None:
        finished = self.counters.finished
        finished[state] = finished.get(state, 0) + 1

    async def _record_cancel(self, run_id: str, state: RunState, live: list[Event] | None) -> bool:
        """Append the run's cancelled end (False: it had one already)."""
        if state.finished and state.status == "cancelled":
            return False
        seq = max([state.seq, *(e.seq for e in live or ())]) + 1
        await record_cancelled(self.store, state, "cancelled by the caller", seq=seq)
        return True

    async def _settle(self, execution: Execution) -> None:
        """The run stopped here: record a cancel, count it, give its lease up or hand it over."""
        run_id = execution.run_id
        try:
            result = execution.result
            if execution.cancel_requested:
                self._count("cancelled")  # a run cancelled here ends so, whatever it was doing
                with contextlib.suppress(Exception):
                    await self._record_cancel(run_id, await self.load(run_id), execution.log)
            elif result is not None:
                self._count(result.state)
            if execution.takeover and not execution.cancel_requested and not execution.handover:
                execution.handover = await self._takeover_failed(execution)
            if result is not None:
                self.counters.input_tokens += result.usage.input_tokens
                self.counters.output_tokens += result.usage.output_tokens
                self.counters.cost += result.usage.cost or 0.0
        finally:
            try:
                with contextlib.suppress(Exception):
                    if execution.handover:
                        await execution.keeper.hand_over()
                    else:
                        await execution.keeper.release()
            finally:  # released first, so a follower woken now sees the run has stopped
                self._live.pop(run_id, None)
                execution.done = True
                execution.wake()

    async def outcome(self, execution: Execution) -> dict[str, Any]:
        """Wait for the execution to stop; its Result JSON (from the store when it has none)."""
        if execution.task is not None:
            await asyncio.shield(execution.task)
        if execution.result is not None and not execution.cancel_requested:
            return result_json(execution.result)
        error = execution.error
        if error is not None and not await self.store.load(execution.run_id):
            raise ApiError(422, type(error).__name__, str(error))  # refused before it started
        return state_json(await self.load(execution.run_id))

    async def stopped(self, run_id: str) -> dict[str, Any]:
        """The run's Result JSON once it stops executing, here or on another replica."""
        async for _ in self.follow(run_id, (await self.load(run_id)).seq):
            pass
        return await self.snapshot(run_id)

    async def snapshot(self, run_id: str) -> dict[str, Any]:
        """The run's Result JSON as it stands (``running`` while it executes anywhere)."""
        state = await self.load(run_id)
        return state_json(state, executing=run_id in self._live)

    # -- following ------------------------------------------------------------------------------

    async def follow(self, run_id: str, after: int = 0) -> AsyncIterator[Event]:
        """The run's events with ``seq > after``: what is stored, then live ones until it stops.

        A run executed here yields its live events (text deltas included); one executed
        elsewhere is followed through the store (its durable events).
        """
        last = after
        idle_since = time.monotonic()
        while True:
            execution = self._live.get(run_id)
            if execution is not None and execution.log is not None:
                index = 0
                while True:
                    log = execution.log
                    while index < len(log):
                        event = log[index]
                        index += 1
                        if event.seq > last:
                            last = event.seq
                            if type(event) is RunFinished:
                                # the follower is told the run stopped only once it has here
                                # (its lease given up): a resume sent on that word is taken
                                await self._settled(execution)
                            elif event.seq > execution.reserved:
                                await self._reserve(execution, event.seq)
                            yield event
                    if execution.done:
                        break
                    await execution.changed()
            events = await self.store.load(run_id)
            if not events and last == 0 and not await self._starting(run_id):
                raise ApiError(404, "run_not_found", f"no run {run_id!r}")
            for event in events:
                if event.seq > last:
                    last = event.seq
                    idle_since = time.monotonic()
                    if type(event) is RunFinished:  # the end of a step executed here: as above
                        live = self._live.get(run_id)
                        if live is not None and event.seq > live.after:
                            await self._settled(live)
                    yield event
            execution = self._live.get(run_id)
            if execution is not None:
                idle_since = time.monotonic()
                if execution.log is None:
                    await execution.changed(_POLL)
                continue
            ended = bool(events) and events[-1].type == "run_finished"
            leased = await self.leases.get_lease(run_id) is not None
            if not leased and (ended or time.monotonic() - idle_since > self.config.lease_ttl):
                return
            await asyncio.sleep(_POLL)

    async def _reserve(self, execution: Execution, seq: int) -> None:
        """Record on the run's lease, before a live event at ``seq`` goes out (it may be one the
        store never gets: a delta, an event after the last checkpoint), that positions up to
        it may have been handed out: if this process dies, the replica taking the run over
        numbers its events after them (:func:`past_streamed`), so a client reconnecting there
        with the Last-Event-ID it got here misses none. One write per _RESERVE_AHEAD events."""
        ahead = seq + _RESERVE_AHEAD
        try:
            if await self.leases.reserve_seq(execution.run_id, self.owner, ahead):
                execution.reserved = max(execution.reserved, ahead)
        except Exception:  # the store is away: the stream goes on, tried again next event
            _log.warning("tether: recording the streamed positions of %s failed", execution.run_id)

    @staticmethod
    async def _settled(execution: Execution) -> None:
        """Wait until the execution has stopped here (its lease released or handed over)."""
        while not execution.done:
            await execution.changed()

    # -- taking over runs of dead replicas ------------------------------------------------------

    async def _takeover_failed(self, execution: Execution) -> bool:
        """Whether a stopped takeover hands its lease over (:func:`after_takeover`)."""
        verdict = await after_takeover(self.store, execution, self._failed_takeovers)
        if verdict == "failed":
            self._count("failed")
        return verdict == "retry"

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.config.sweep_interval)
            try:
                await self.sweep()
            except Exception:  # the store may be away for a while: try at the next sweep
                _log.exception("tether: looking for abandoned runs failed")

    async def sweep(self) -> list[str]:
        """Resume the runs whose lease expired (their replica died); returns their ids."""
        taken: list[str] = []
        expired = await self.leases.expired_leases(limit=20 + len(self._foreign))
        self._foreign &= {lease.run_id for lease in expired}  # forget the ones taken elsewhere
        for lease in expired:
            run_id = lease.run_id
            if run_id in self._live or run_id in self._foreign or not self.accepting:
                continue
            try:
                keeper = await acquire(
                    self.store, run_id, owner=self.owner, ttl=self.config.lease_ttl
                )
            except UserError:
                continue  # another replica was quicker
            try:
                state = await self.load(run_id)
                known = state.started_event is not None and (
                    self.runner.get_agent(state.started_event.agent) is not None
                )
                if not known and takeable(state):
                    # another replica may serve its agent: the lease stays expired for it to see
                    self._foreign.add(run_id)
                    await keeper.hand_over()
                    continue
                if not takeable(state) or run_id in self._live:
                    await keeper.release()
                    continue
                mark = await self.leases.get_lease(run_id)
                after = await past_streamed(self.store, state)
                if mark is not None and mark.cancel_requested:
                    # cancelled while its replica was dying: it ends so, not resumed
                    if await self._record_cancel(run_id, state, None):
                        self._count("cancelled")
                    await keeper.release()
                    continue
            except BaseException:  # the store is away: expired again, for a later sweep
                with contextlib.suppress(Exception):
                    await keeper.hand_over()
                raise
            execution = Execution(run_id, keeper, None, after=after, takeover=True)
            self.counters.resumed_from_expired += 1
            self._launch(execution, self._drive_step(execution, resumer(self.executor, run_id)))
            taken.append(run_id)
        return taken


def _refuse_ended(state: RunState) -> None:
    if state.finished and state.status in ("completed", "failed", "cancelled", "degraded"):
        raise ApiError(409, "conflict", f"run {state.run_id!r} has already ended ({state.status})")
