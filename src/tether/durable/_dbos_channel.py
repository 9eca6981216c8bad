"""A DBOS workflow's run and the world outside it: events out on a DBOS stream, decisions in.

Events: :class:`Publisher` is an exporter of the workflow's Runner. For each event of a
published run it draws the next DBOS step id at once (``DBOS.reserve_step``), in the loop's own
task, so the event's step number is the same on every execution of the workflow; a writer task
then writes the events in order, each in its reserved step, to the workflow's stream. A
recovered workflow skips the writes its first execution made, so a reader sees each event once.
A model's deltas are not among them: the model step writes each to the stream itself while the
model streams (:meth:`Publisher.live`), so they reach the reader token by token.

Decisions: :func:`pump` waits with ``DBOS.recv`` (durably: a recovered workflow gets the
recorded messages back) whenever the run waits for a person (an approval, an answer, a
deferred result), at a point where the loop itself is blocked, so the receives have the same
step numbers on every execution. It publishes what the run waits for as the workflow event
``tether.waiting``, so a sender can check a decision before sending it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .._log_scrub import get_logger
from ..errors import UserError
from ._control import apply, check, decision, waiting

if TYPE_CHECKING:
    from ..events import Event
    from ..run.handle import RunHandle

__all__ = ["DECISION_TOPIC", "WAITING_EVENT", "Publisher", "pump", "send_decision"]

#: The DBOS message topic of decisions sent to a durable run.
DECISION_TOPIC = "tether.decision"
#: The DBOS workflow event that says what a durable run waits for (call ids by action).
WAITING_EVENT = "tether.waiting"
_ASKS = {"approval_requested", "input_requested", "tool_call_deferred"}
#: How long one receive waits when the run has no approval_timeout (it is then repeated).
_WAIT = 24 * 3600.0
logger = get_logger("tether.durable")


def _dbos() -> Any:
    from dbos import DBOS

    return DBOS


class Publisher:
    """Writes the events of published runs to their workflows' DBOS streams (an Exporter)."""

    def __init__(self) -> None:
        self._keys: dict[str, str] = {}
        self._turns: dict[str, int] = {}
        self._queues: dict[str, asyncio.Queue[tuple[Any, Event] | None]] = {}
        self._writers: dict[str, asyncio.Task[None]] = {}

    async def live(self, workflow_id: str) -> tuple[str, int] | None:
        """The stream key and the run's turn, for a model step of a published run that
        streams its deltas itself (after every event before it is written, so the stream keeps
        the run's order); None when the run is not published."""
        key = self._keys.get(workflow_id)
        queue = self._queues.get(workflow_id)
        writer = self._writers.get(workflow_id)
        if key is None or queue is None or writer is None:
            return None
        joined = asyncio.ensure_future(queue.join())
        await asyncio.wait({joined, writer}, return_when=asyncio.FIRST_COMPLETED)
        if not joined.done():  # the writer failed: the run's close reports it, no wait here
            joined.cancel()
        return key, self._turns.get(workflow_id, 0)

    def open(self, workflow_id: str, key: str) -> None:
        """Publish the run of ``workflow_id`` (the run id is the workflow id) on ``key``."""
        self._keys[workflow_id] = key
        queue: asyncio.Queue[tuple[Any, Event] | None] = asyncio.Queue()
        self._queues[workflow_id] = queue
        self._writers[workflow_id] = asyncio.ensure_future(self._write(key, queue))

    async def close(self, workflow_id: str) -> None:
        """Write what is queued, then close the stream."""
        queue = self._queues.pop(workflow_id, None)
        key = self._keys.pop(workflow_id, None)
        self._turns.pop(workflow_id, None)
        writer = self._writers.pop(workflow_id, None)
        if queue is None or key is None or writer is None:
            return
        queue.put_nowait(None)
        await writer
        await _dbos().close_stream_async(key)

    def on_event(self, event: Event) -> None:
        """Reserve the event's step now (its number fixed by the loop's order), write it soon."""
        queue = self._queues.get(event.run_id)
        if queue is None:  # not published, or a subagent's run (its parent's events carry it)
            return
        if event.type == "turn_started":
            self._turns[event.run_id] = getattr(event, "turn", 0)
        if not event.durable:  # a model's delta: its step wrote it to the stream as it came
            return
        queue.put_nowait((_dbos().reserve_step(), event))

    async def flush(self, run_id: str) -> None:
        """Nothing to do: :meth:`close` drains the queue."""

    @staticmethod
    async def _write(key: str, queue: asyncio.Queue[tuple[Any, Event] | None]) -> None:
        async def write(event: Event) -> None:
            await _dbos().write_stream_async(key, event)

        while (item := await queue.get()) is not None:
            reservation, event = item
            try:
                await reservation.run_async({"name": "tether.publish"}, write, event)
            finally:
                queue.task_done()
        queue.task_done()


async def pump(
    handle: RunHandle,
    approval_timeout: float | None,
    before_wait: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Feed the run the decisions sent to its workflow, until the run ends (``before_wait``:
    called before it waits anew, e.g. to write the run's tether log)."""
    dbos = _dbos()
    asked: Counter[str] = Counter()
    answered: Counter[str] = Counter()
    shown: Any = None
    async for event in handle.events:
        if event.type not in _ASKS:
            continue
        asked[getattr(event, "call_id", "")] += 1
        while any(asked[c] > answered[c] for c in asked):
            pending = waiting(handle)
            if pending != shown:
                if before_wait is not None:
                    await before_wait()
                await dbos.set_event_async(WAITING_EVENT, pending)
                shown = pending
            receive = asyncio.ensure_future(
                dbos.recv_async(DECISION_TOPIC, timeout_seconds=approval_timeout or _WAIT)
            )
            ended = asyncio.ensure_future(handle.result())
            await asyncio.wait({receive, ended}, return_when=asyncio.FIRST_COMPLETED)
            if not receive.done():  # the run ended while it waited (cancelled, timed out)
                receive.cancel()
                break
            ended.cancel()
            message = receive.result()
            if message is None:
                if approval_timeout is not None:
                    for call_id in handle.pending_approvals:
                        reason = f"no decision within {approval_timeout:g}s"
                        await handle.reject(call_id, reason)
                        answered[call_id] += 1
                continue
            if isinstance(message, dict) and message.get("action") in ("cancel", "interrupt"):
                await (handle.cancel() if message["action"] == "cancel" else handle.interrupt())
                break  # the run ends now (its control, sent while it waited)
            try:
                check(pending, message)
            except UserError as exc:  # a stale or stray message: the sender was told at send
                logger.warning("durable run %s ignored a decision: %s", handle.run_id, exc)
                continue
            await apply(handle, message)
            answered[message["call_id"]] += 1
        if handle.done():
            break
    if shown is not None:
        await dbos.set_event_async(WAITING_EVENT, {})


async def send_decision(
    workflow_id: str,
    action: str,
    call_id: str,
    *,
    reason: str | None = None,
    value: Any = None,
    client: Any = None,
    wait: float = 10.0,
) -> None:
    """Send a decision to the durable run of ``workflow_id`` (from any process: ``client`` is a
    ``dbos.DBOSClient``, or None inside a launched DBOS app). Checks first that the run waits
    for it (UserError naming what it waits for, if not)."""
    message = decision(action, call_id, reason=reason, value=value)
    sender = client if client is not None else _dbos()
    pending = await sender.get_event_async(workflow_id, WAITING_EVENT, timeout_seconds=wait)
    if pending is None:
        raise UserError(
            f"workflow {workflow_id!r} is not waiting for a decision (none within {wait:g}s)"
        )
    check(pending, message)
    await sender.send_async(workflow_id, message, DECISION_TOPIC)
