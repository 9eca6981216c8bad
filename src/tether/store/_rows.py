"""What the SQL stores share: event and message (de)serialization, and run-row updates."""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic_core import PydanticSerializationError
from pydantic_core import to_json as _to_json

from .._log_format import ARGS_FROM_CALL, LogCompactor, LogExpander
from ..errors import LogFormatError, UserError
from ..events import Event, event_from_dict
from ..messages import Message, message_from_dict, message_to_dict
from ._ids import check_run_id
from .base import RunInfo, run_info_from_events
from .errors import StoreError, _UnreadableLog

__all__ = [
    "RunPayloads",
    "RunUpdate",
    "decode_event",
    "decode_events",
    "decode_messages",
    "encode_events",
    "encode_messages",
    "encode_value",
]

_UNCHANGED = "\x00unchanged"
# The fast encoder: UTF-8 text as is, no NaN. Whatever it refuses goes to the careful one.
_fast = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode
# The careful encoder: every non-ASCII character escaped, so lone surrogates (``"\\ud83d"``
# from a model that split an emoji, ``os.listdir`` names of non-UTF-8 files) survive the trip
# losslessly: ``json.loads`` gives the very same string back.
_careful = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode
#: How NaN and the infinities are stored, the same on every store (PostgreSQL's JSON refuses
#: the bare literals): as these strings.
NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _finite(value: Any, depth: int = 0) -> Any:
    """``value`` with NaN/Infinity floats replaced by their :data:`NON_FINITE` strings."""
    if isinstance(value, float):
        return value if value == value and value not in (_INF, -_INF) else NON_FINITE[repr(value)]
    if depth > _MAX_DEPTH:
        raise RecursionError("nested too deeply")
    if isinstance(value, dict):
        return {k: _finite(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v, depth + 1) for v in value]
    return value


_INF = float("inf")
_MAX_DEPTH = 400


def encode_value(value: Any) -> str:
    """JSON text for ``value`` that every store accepts: UTF-8 when it can be, ASCII-escaped
    when it holds lone surrogates, NaN/Infinity as strings (``ValueError``/``TypeError``/
    ``RecursionError`` for what JSON cannot hold)."""
    try:
        # pydantic-core's encoder is several times faster than json's; it writes NaN and the
        # infinities as the NON_FINITE strings already.
        return _to_json(value, inf_nan_mode="strings").decode()
    except PydanticSerializationError:
        pass  # lone surrogates, an unknown type, deep nesting: the careful way decides
    try:
        text = _fast(value)
    except ValueError:  # NaN or an infinity somewhere
        value = _finite(value)
        text = _fast(value)
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _careful(value)
    return text


def encode_events(
    events: Sequence[Event], compactor: LogCompactor | None = None
) -> list[tuple[int, str, str]]:
    """(seq, type, JSON) rows for events, in the order given (:class:`StoreError` naming the
    run and position for an event JSON cannot hold); with the run's ``compactor``, each tool
    call's arguments are stored once (see :class:`RunPayloads`)."""
    rows = []
    for ev in events:
        try:
            row = ev.to_dict()
            if compactor is not None:
                row = compactor.compact(row)
            rows.append((ev.seq, ev.type, encode_value(row)))
        except (ValueError, TypeError, RecursionError) as exc:
            raise StoreError(
                f"run {ev.run_id!r}: the {ev.type} event at seq {ev.seq} cannot be stored as "
                f"JSON ({type(exc).__name__}: {_short(exc)})",
                run_id=ev.run_id,
                seq=ev.seq,
            ) from None
    return rows


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:200] + "..."


class RunPayloads:
    """The :class:`~tether._log_format.LogCompactor` of each run a store is writing, so a
    tool call's arguments are stored once, not in the model response and again in the tool's
    started and finished events (log format 4).

    Only runs whose ``run_started`` this store wrote get one (a run of an older format resumed
    here is appended to as before). At most ``keep`` runs are remembered (the least recently
    written goes first); a run's entry goes when it finishes or when one of its appends fails
    (then what the compactor knows may not be stored).
    """

    def __init__(self, keep: int = 1024) -> None:
        self.keep = keep
        self._runs: OrderedDict[str, LogCompactor] = OrderedDict()

    def __len__(self) -> int:
        return len(self._runs)

    def for_append(self, run_id: str, events: Sequence[Event]) -> LogCompactor | None:
        """The run's compactor for these events (made when they start the run), or None."""
        compactor = self._runs.get(run_id)
        if compactor is None:
            if events[0].type != "run_started":
                return None
            compactor = self._runs[run_id] = LogCompactor(encode_value)
            while len(self._runs) > self.keep:
                self._runs.popitem(last=False)
        else:
            self._runs.move_to_end(run_id)
        return compactor

    def appended(self, run_id: str, events: Sequence[Event]) -> None:
        """The events are stored: a finished run is forgotten."""
        if events[-1].type == "run_finished":
            self._runs.pop(run_id, None)

    def failed(self, run_id: str) -> None:
        """An append of the run failed: store its tool calls' arguments in full from now on."""
        self._runs.pop(run_id, None)


def decode_events(rows: Iterable[tuple[int, str | dict[str, Any]]], run_id: str) -> list[Event]:
    """A run's events from its stored (seq, JSON) rows in order, references to tool calls'
    arguments resolved (:class:`StoreError` naming the run and position for a bad row)."""
    expander = LogExpander()
    events = []
    for seq, data in rows:
        try:
            row = json.loads(data) if isinstance(data, str) else data
        except (ValueError, RecursionError):  # not JSON, or nested past what Python parses
            row = data  # decode_event reports it, naming the run and position
        else:
            try:
                row = expander.expand(row)
            except LogFormatError as exc:
                raise _UnreadableLog(
                    f"run {run_id!r}: the stored event at seq {seq} cannot be read ({exc})",
                    run_id=run_id,
                    seq=seq,
                    version=exc.version,
                ) from None
        events.append(decode_event(row, run_id, seq))
    return events


def decode_event(data: str | dict[str, Any], run_id: str = "?", seq: int | None = None) -> Event:
    """An event from its stored JSON (text, or already parsed by the driver); a
    :class:`StoreError` naming the run and position when it cannot be read."""
    try:
        if isinstance(data, dict) and ARGS_FROM_CALL in data:
            raise LogFormatError(
                f"the {data.get('type')!r} event refers to the arguments of an earlier tool "
                "call: read it with the rest of the run's log"
            )
        return event_from_dict(json.loads(data) if isinstance(data, str) else data)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        where = f"seq {seq}" if seq is not None else "one position"
        why = "" if "newer tether" in str(exc) else "; the log is corrupt or from a newer tether"
        message = (
            f"run {run_id!r}: the stored event at {where} cannot be read "
            f"({type(exc).__name__}: {_short(exc)}){why}"
        )
        if isinstance(exc, LogFormatError):  # a LogFormatError too, naming the version
            raise _UnreadableLog(message, run_id=run_id, seq=seq, version=exc.version) from None
        raise StoreError(message, run_id=run_id, seq=seq) from None


def encode_messages(messages: Sequence[Message]) -> str:
    """A thread's messages as JSON text."""
    return encode_value([message_to_dict(m) for m in messages])


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
    """Refuse a run id no store could keep, and a batch whose ``seq`` numbers do not increase
    (a bug in the caller)."""
    check_run_id(run_id)
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
