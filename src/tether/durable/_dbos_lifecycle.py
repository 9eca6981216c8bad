"""Pause, resume, cancel and interrupt of a DBOS run, from any process, deterministically.

The control is a custom attribute of the workflow, ``tether.control`` (``"pause"``,
``"cancel"``, ``"interrupt"``, or none), set from outside with DBOS's
``update_workflow_attributes`` (:func:`send_control`). The run reads it only where the result
is recorded: the body of each model and tool step checks it first (:func:`gate`), before it
calls the model or the tool, and watches for a stop while the call runs
(:func:`until_stopped`). The check is free: a
task of the process (:func:`watch`) reads the attributes of its running workflows in one
query every quarter second (a control sent
from the same process is seen at once), and the step bodies read what it saw. Which step a
control lands on depends on timing, but the step records it, so every later execution of the
workflow stops at the same one.

- ``pause``: the step body waits, before calling anything, until the control changes (the step
  in flight when it was sent finishes and is recorded first). A worker that dies while paused
  loses nothing: the recovered step body reads the control again and waits again.
- ``cancel`` / ``interrupt``: the step body records :class:`Stopped` instead of calling (or
  cancels the call in flight and records it then: an ``effect="external"`` tool's call is left
  to finish, its ledger written); the workflow side then ends the run ``cancelled`` /
  ``interrupted`` through its own RunHandle, as the same control does without an engine, and
  the workflow returns the Result. Recorded, so a recovered workflow stops at the same step.
  A run waiting for a person gets the same control as a DBOS message (its wait is a receive,
  at a fixed point of the workflow).

DBOS's own ``cancel_workflow`` is not used for these: it throws away the result of the step in
flight (the step runs again on ``resume_workflow``), which for a tool is a second execution.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

from ..errors import UserError

__all__ = [
    "CONTROLS",
    "CONTROL_ATTRIBUTE",
    "Stopped",
    "control_status",
    "gate",
    "send_control",
    "until_stopped",
    "unwatch",
    "watch",
]

T = TypeVar("T")
_STOPS = ("cancel", "interrupt")

#: The workflow attribute that carries a pending control.
CONTROL_ATTRIBUTE = "tether.control"
CONTROLS = ("pause", "resume", "cancel", "interrupt")
#: How often a paused step body reads the control again.
_POLL = 0.1
#: How often a running run's control is read (a control sent from this process is seen at
#: once; from another, within this many seconds).
_WATCH = 0.25
#: The controls the watched runs of this process last saw, by workflow id.
_seen: dict[str, str | None] = {}
#: How many runs of this process watch each workflow id.
_watched: dict[str, int] = {}
#: The task that reads the watched controls, per event loop.
_pollers: dict[asyncio.AbstractEventLoop, asyncio.Task[None]] = {}
#: Set when a watched run's control turns to cancel or interrupt, by workflow id (the steps in
#: flight wait on it: :func:`until_stopped`).
_stops: dict[str, asyncio.Event] = {}
_ENDED = {"SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"}


@dataclass(frozen=True, slots=True)
class Stopped:
    """The recorded result of a step the run was cancelled or interrupted at."""

    action: str


def _dbos() -> Any:
    from dbos import DBOS

    return DBOS


async def _control(sender: Any, workflow_id: str) -> tuple[str | None, str | None]:
    """The workflow's DBOS status and pending control (None, None for an unknown workflow)."""
    if sender is _dbos():
        status = await sender.get_workflow_status_async(workflow_id)
    else:  # a DBOSClient
        found = await sender.list_workflows_async(workflow_ids=[workflow_id])
        status = found[0] if found else None
    if status is None:
        return None, None
    attributes = getattr(status, "attributes", None) or {}
    return str(status.status), attributes.get(CONTROL_ATTRIBUTE)


async def gate() -> Stopped | None:
    """Called first in a model or tool step's body: wait while the run is paused; Stopped when
    it was cancelled or interrupted (the step records it instead of calling anything). Free
    while no control is pending: it reads what :func:`watch` last saw."""
    dbos = _dbos()
    workflow_id = dbos.workflow_id
    control = _seen.get(workflow_id)
    while True:
        if control in ("cancel", "interrupt"):
            return Stopped(control)
        if control != "pause":
            return None
        await asyncio.sleep(_POLL)
        _, control = await _control(dbos, workflow_id)
        _saw(workflow_id, control)


def _saw(workflow_id: str, control: str | None) -> None:
    """Record the control a watched run was seen with; a cancel or interrupt cuts its steps in
    flight."""
    _seen[workflow_id] = control
    if control in ("cancel", "interrupt") and workflow_id in _stops:
        _stops[workflow_id].set()


async def until_stopped(call: Awaitable[T]) -> T | Stopped:
    """Inside a model or tool step's body, after :func:`gate`: the call's result, or Stopped
    when the run is cancelled or interrupted while it runs (the call is cancelled, as a call in
    flight is without an engine, and the step records Stopped: a recovered workflow stops at
    the same step without calling again)."""
    workflow_id = _dbos().workflow_id
    stop = _stops.get(workflow_id)
    if stop is None:
        stop = _stops[workflow_id] = asyncio.Event()
    task = asyncio.ensure_future(call)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
    if not task.cancelled():  # it ended first (or with the stop): its result is recorded
        return task.result()
    control = _seen.get(workflow_id)
    return Stopped(control if control in _STOPS else "cancel")


async def watch(workflow_id: str) -> None:
    """Read the control of ``workflow_id`` now (a recovered run that was paused stays paused),
    then keep it read while its run goes on: one task of the process reads every watched
    workflow's control in one query every ``_WATCH`` seconds, so the steps need no read of
    their own. The reads run outside the workflow's DBOS context: plain reads, never steps."""
    loop = asyncio.get_running_loop()

    async def read() -> None:
        _saw(workflow_id, (await _control(_dbos(), workflow_id))[1])

    for attempt in range(5):  # the first read must land: a paused run must not run on
        try:
            await loop.create_task(read(), context=contextvars.Context())
            break
        except Exception:
            if attempt == 4:
                raise
            await asyncio.sleep(0.05 * (attempt + 1))
    _watched[workflow_id] = _watched.get(workflow_id, 0) + 1
    poller = _pollers.get(loop)
    if poller is None or poller.done():
        _pollers[loop] = loop.create_task(_poll(), context=contextvars.Context())


def unwatch(workflow_id: str) -> None:
    """Stop watching ``workflow_id`` once its run has ended (the poller stops with the last)."""
    left = _watched.get(workflow_id, 0) - 1
    if left > 0:
        _watched[workflow_id] = left
        return
    _watched.pop(workflow_id, None)
    _seen.pop(workflow_id, None)
    _stops.pop(workflow_id, None)
    if not _watched:
        for poller in _pollers.values():
            poller.cancel()
        _pollers.clear()


async def _poll() -> None:
    while _watched:
        await asyncio.sleep(_WATCH)
        ids = list(_watched)
        with contextlib.suppress(Exception):  # a passing database error: read again later
            found = await _dbos().list_workflows_async(
                workflow_ids=ids, load_input=False, load_output=False
            )
            for status in found:
                if status.workflow_id in _watched:
                    attributes = getattr(status, "attributes", None) or {}
                    _saw(status.workflow_id, attributes.get(CONTROL_ATTRIBUTE))


async def send_control(workflow_id: str, action: str, *, client: Any = None) -> None:
    """Set the control ``action`` on the run of ``workflow_id`` (from any process: ``client``
    is a ``dbos.DBOSClient``, or None inside a launched DBOS app). A UserError for an unknown
    action or workflow, one that has ended, or a resume of a run that is not paused."""
    from ._dbos_channel import DECISION_TOPIC

    if action not in CONTROLS:
        raise UserError(f"unknown control {action!r}: use one of {', '.join(CONTROLS)}")
    sender = client if client is not None else _dbos()
    status, control = await _control(sender, workflow_id)
    if status is None:
        raise UserError(f"no DBOS workflow {workflow_id!r}")
    if status in _ENDED:
        raise UserError(f"workflow {workflow_id!r} has ended ({status}): nothing to {action}")
    if action == "resume" and control != "pause":
        raise UserError(f"the run of workflow {workflow_id!r} is not paused")
    if control in ("cancel", "interrupt"):
        raise UserError(f"the run of workflow {workflow_id!r} is already being stopped ({control})")
    value = None if action == "resume" else action
    await sender.update_workflow_attributes_async(
        workflow_id, {CONTROL_ATTRIBUTE: value}, merge=True
    )
    if workflow_id in _seen:  # its run goes on in this process: seen at once
        _saw(workflow_id, value)
    if action in ("cancel", "interrupt"):  # a run waiting for a person gets it there
        await sender.send_async(workflow_id, {"action": action}, DECISION_TOPIC)


async def control_status(workflow_id: str, *, client: Any = None) -> str:
    """The run's control state as DBOS holds it: ``paused`` (a pause is pending or in effect:
    the run stops at its next step boundary), ``cancelling`` or ``interrupting`` (sent, not
    yet at a step boundary), ``running``, or the ended workflow's DBOS status in lower case
    (``success``, ``error``, ...)."""
    sender = client if client is not None else _dbos()
    status, control = await _control(sender, workflow_id)
    if status is None:
        raise UserError(f"no DBOS workflow {workflow_id!r}")
    if status in _ENDED:
        return status.lower()
    return {"pause": "paused", "cancel": "cancelling", "interrupt": "interrupting"}.get(
        control or "", "running"
    )
