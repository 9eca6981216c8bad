"""A Temporal run's events while it runs, model deltas token by token: activity heartbeats.

The workflow's query ``tether.events`` answers the run's events as its history has them, and a
model call's deltas enter the history only when its activity ends (they are its result). So
the model activity also heartbeats the deltas so far while the model streams (:class:`Beats`:
``{"turn", "attempt", "deltas"}``, the deltas as event dicts, at most every ``interval``), and
:func:`events` reads them from the workflow's pending model activity (``describe()``) between
two queries. Heartbeats are Temporal's own channel from a running activity: nothing is added
to the history, no store or extra service is needed, a codec of the client's applies. The
trade-offs: the latest heartbeat only is kept, so each carries all the deltas of the call so
far; deltas arrive at most every ``interval`` (the worker's heartbeat throttle, which the
plugin sets) plus the reader's poll; and an attempt lost with its worker may have shown
deltas that the retried attempt, the one recorded, does not repeat: the reader is then told
so with a ``model_retry`` event before the recorded attempt's deltas.

When the activity ends, its deltas arrive again through the query, with their places in the
log; :func:`events` skips those it showed live for that turn (the same deltas, in the same
order), so each delta is yielded once. Deltas shown live of an attempt that was not the one
recorded (a new attempt's heartbeat, or recorded deltas that differ) are followed by a
``model_retry`` and the recorded attempt's deltas from its start.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..events import Event

__all__ = ["EVENTS_QUERY", "Beats", "events", "plugin_class"]

#: The query a workflow running a durable agent answers with the run's events (as dicts).
EVENTS_QUERY = "tether.events"
_DELTAS = ("text_delta", "tool_call_delta", "reasoning_delta")


class Beats:
    """In a model or tool activity: heartbeats the model's deltas so far, at most every
    ``interval`` seconds, from a task of its own (a delta is never held back by a model that
    pauses), and every ``keepalive`` seconds while nothing changes, so that a cancellation of
    the activity (the run cancelled or interrupted) reaches it while it runs: Temporal tells
    an activity it is cancelled in the answer to a heartbeat. A call shorter than
    ``keepalive`` that streams nothing sends none."""

    def __init__(self, turn: int, interval: float, keepalive: float = 0.5) -> None:
        from temporalio import activity

        self._details: dict[str, Any] = {
            "turn": turn,
            "attempt": activity.info().attempt,
            "deltas": [],
        }
        self._interval = interval
        self._keepalive = keepalive
        self._closed = False
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._send())

    def add(self, item: object) -> None:
        """Record one item of the model's stream (a delta is sent, the rest ignored)."""
        from ..engine._turn import stream_event

        event = stream_event(item, self._details["turn"])
        if event is not None:
            self._details["deltas"].append(event.to_dict())
            self._changed.set()

    async def _send(self) -> None:
        from temporalio import activity

        while not self._closed:
            # nothing new within keepalive: a heartbeat all the same, to hear of a cancellation
            # (asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the cancel of close)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._keepalive):
                    await self._changed.wait()
            if self._closed:
                return
            self._changed.clear()
            deltas = self._details["deltas"]
            if deltas:
                activity.heartbeat({**self._details, "deltas": list(deltas)})
            else:
                activity.heartbeat()
            await asyncio.sleep(self._interval)

    async def close(self) -> None:
        """Stop sending (the activity's result carries every delta)."""
        self._closed = True
        self._changed.set()
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def _live(handle: Any) -> dict[str, Any] | None:
    """The last heartbeat of the workflow's running model activity, if any."""
    from temporalio.converter import DataConverter

    description = await handle.describe()
    for pending in description.raw_description.pending_activities:
        if not pending.activity_type.name.endswith(".model"):
            continue
        payloads = pending.heartbeat_details.payloads
        if payloads:
            client = getattr(handle, "_client", None)
            converter = getattr(client, "data_converter", None) or DataConverter.default
            found = (await converter.decode(payloads))[0]
            return found if isinstance(found, dict) else None
    return None


async def events(handle: Any, poll: float, live: bool) -> AsyncIterator[Event]:
    """The run's events from the first to ``run_finished`` (see the module's doc)."""
    from ..events import event_from_dict

    seen = 0
    turns = _Turns(handle.id)
    while True:
        found: list[dict[str, Any]] = await handle.query(EVENTS_QUERY, seen)
        for data in found:
            seen += 1
            event = event_from_dict(data)
            for out in turns.recorded(event, data):
                yield out
            if event.type == "run_finished":
                return
        started = time.monotonic()
        if live:
            beat = await _live(handle)
            if beat is not None:
                for out in turns.beat(beat):
                    yield out
        await asyncio.sleep(max(0.0, poll - (time.monotonic() - started)))


def _same(shown: dict[str, Any], recorded: dict[str, Any]) -> bool:
    """The same delta, but for its place in the log."""
    skip = ("seq", "at", "run_id")
    return {k: v for k, v in shown.items() if k not in skip} == {
        k: v for k, v in recorded.items() if k not in skip
    }


class _Turns:
    """What the reader was shown of each turn's model call, live and from the log.

    A live delta is yielded as it comes; its recorded copy later is skipped. When what was
    shown turns out to be an attempt that Temporal ran again (its worker lost, or its timeout
    passed), the reader gets ``model_retry`` (the deltas since the last ``model_response``
    are void) and then the recorded attempt's deltas from its start."""

    def __init__(self, run_id: str) -> None:
        self._run_id = run_id
        self._shown: dict[int, tuple[int, list[dict[str, Any]]]] = {}  # turn -> attempt, deltas
        self._recorded: dict[int, list[Event]] = {}
        self._void: set[int] = set()  # turns whose live deltas were a lost attempt's

    def _retry(self, attempt: int) -> Event:
        from ..events import ModelRetry

        retry = ModelRetry(
            model="",
            attempt=attempt,
            error="the model call was run again (its worker was lost or it timed out); "
            "its deltas so far are void",
            delay=0.0,
        )
        retry.run_id = self._run_id
        return retry

    def beat(self, beat: dict[str, Any]) -> list[Event]:
        """The live deltas of a heartbeat not yielded yet."""
        from ..events import event_from_dict

        turn, attempt = int(beat["turn"]), int(beat["attempt"])
        was, shown = self._shown.get(turn, (attempt, []))
        out: list[Event] = []
        if attempt != was:  # a new attempt streams from its start
            if shown:
                out.append(self._retry(attempt))
            shown = []
        deltas = beat["deltas"]
        for data in deltas[len(shown) :]:
            out.append(event_from_dict({**data, "run_id": self._run_id}))
        self._shown[turn] = (attempt, shown + list(deltas[len(shown) :]))
        return out

    def recorded(self, event: Event, data: dict[str, Any]) -> list[Event]:
        """What to yield for an event of the log."""
        turn = int(getattr(event, "turn", 0))
        if event.type not in _DELTAS:
            attempt, shown = self._shown.get(turn, (0, []))
            got = self._recorded.get(turn, [])
            if event.type == "model_response" and turn not in self._void and len(got) < len(shown):
                return [*self._voided(turn, attempt), event]  # a lost attempt streamed more
            return [event]
        got = self._recorded.setdefault(turn, [])
        got.append(event)
        attempt, shown = self._shown.get(turn, (0, []))
        index = len(got) - 1
        if turn in self._void or index >= len(shown):
            return [event]
        if _same(shown[index], data):
            return []  # shown live already
        return self._voided(turn, attempt)

    def _voided(self, turn: int, attempt: int) -> list[Event]:
        self._void.add(turn)
        return [self._retry(attempt + 1), *self._recorded.get(turn, [])]


def plugin_class() -> type[Any]:
    """The class of ``TemporalDurability.plugin``: Temporal's SimplePlugin that also lowers the
    worker's heartbeat throttle to the given interval (it is 30 s by default, which would
    hold a model's deltas back as long)."""
    from temporalio.plugin import SimplePlugin

    class _Plugin(SimplePlugin):
        def __init__(self, name: str, interval: timedelta, **given: Any) -> None:
            super().__init__(name, **given)
            self._interval = interval

        def configure_worker(self, config: Any) -> Any:
            config = super().configure_worker(config)
            for key in ("default_heartbeat_throttle_interval", "max_heartbeat_throttle_interval"):
                current = config.get(key)
                config[key] = self._interval if current is None else min(current, self._interval)
            return config

    return _Plugin
