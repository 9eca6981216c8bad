"""What the SQL stores share: event and message (de)serialization, and run-row updates."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import UserError
from ..events import Event, event_from_dict
from ..messages import Message, message_from_dict, message_to_dict
from .base import RunInfo, run_info_from_events

__all__ = ["RunUpdate", "decode_event", "decode_messages", "encode_events", "encode_messages"]

_UNCHANGED = "\x00unchanged"
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def encode_events(events: Sequence[Event]) -> list[tuple[int, str, str]]:
    """(seq, type, JSON) rows for events, in the order given."""
    return [(ev.seq, ev.type, _dumps(ev.to_dict())) for ev in events]


def decode_event(data: str | dict[str, Any]) -> Event:
    """An event from its stored JSON (text, or already parsed by the driver)."""
    return event_from_dict(json.loads(data) if isinstance(data, str) else data)


def encode_messages(messages: Sequence[Message]) -> str:
    """A thread's messages as JSON text."""
    return _dumps([message_to_dict(m) for m in messages])


def decode_messages(data: str | list[Any]) -> list[Message]:
    """A thread's messages from their stored JSON."""
    items = json.loads(data) if isinstance(data, str) else data
    return [message_from_dict(m) for m in items]


@dataclass(slots=True)
class RunUpdate:
    """How one append changes the run's row: a new row, or new status/updated_at for it.

    Computed from the appended events alone, so a store writes it without reading first.
    """

    new: RunInfo | None
    status: str | None
    updated_at: float
    last_seq: int

    @classmethod
    def of(cls, run_id: str, events: Sequence[Event]) -> RunUpdate:
        """The update the events make (``events`` is not empty)."""
        if any(ev.type == "run_started" for ev in events):
            info = run_info_from_events(run_id, events, None)
            return cls(info, None, events[-1].at, events[-1].seq)
        probe = RunInfo(run_id, "", _UNCHANGED, None, 0.0, 0.0)
        run_info_from_events(run_id, events, probe)
        status = None if probe.status == _UNCHANGED else probe.status
        return cls(None, status, events[-1].at, events[-1].seq)


def check_order(run_id: str, events: Sequence[Event]) -> None:
    """Refuse a batch whose ``seq`` numbers do not increase (a bug in the caller)."""
    previous = -1
    for ev in events:
        if ev.seq <= previous:
            raise UserError(f"events of run {run_id!r} must be appended in increasing seq order")
        previous = ev.seq


def conflict(run_id: str, seq: int) -> UserError:
    """The error for an append that collides with events another process already stored."""
    return UserError(
        f"run {run_id!r} already has an event at seq {seq}: another process is continuing this "
        "run. Only one process may drive a run at a time; load it again with runner.resume()"
    )
