"""Stream delta events made cheaply: one is made for every piece a model streams.

A delta event built through its dataclass ``__init__`` with keywords (``type.__call__`` packs
them into a dict and unpacks them again) costs about four times what these functions cost,
which fill the slots of a new instance directly. They make events equal to the ones the
constructor makes (tests/run/test_streaming.py holds them to that).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, cast

from ..events import TextDeltaEvent, ToolCallDeltaEvent
from ..models.base import ModelResponse, _StreamPiece

if TYPE_CHECKING:
    from ._wiring import RunWiring

__all__ = ["from_memory", "text_delta", "tool_call_delta"]

_new = object.__new__


def text_delta(run_id: str, seq: int, at: float, delta: str, turn: int) -> TextDeltaEvent:
    """``TextDeltaEvent(run_id=run_id, seq=seq, at=at, delta=delta, turn=turn)``."""
    event: TextDeltaEvent = _new(TextDeltaEvent)
    event.run_id = run_id
    event.seq = seq
    event.at = at
    event.delta = delta
    event.turn = turn
    return event


def tool_call_delta(
    run_id: str,
    seq: int,
    at: float,
    index: int,
    call_id: str | None,
    tool_name: str | None,
    delta: str,
    turn: int,
) -> ToolCallDeltaEvent:
    """``ToolCallDeltaEvent(...)`` with these fields, made as :func:`text_delta` makes its."""
    event: ToolCallDeltaEvent = _new(ToolCallDeltaEvent)
    event.run_id = run_id
    event.seq = seq
    event.at = at
    event.index = index
    event.call_id = call_id
    event.tool_name = tool_name
    event.delta = delta
    event.turn = turn
    return event


def from_memory(
    s: RunWiring, pieces: list[_StreamPiece], turn: int
) -> tuple[ModelResponse | None, int]:
    """Queue the delta events of an answer streamed from memory, as the model turn queues a
    stream's (a run without breakpoints: ``put`` never waits), with no await, frame or delta
    object per piece. The pieces arrived together: their events share one reading of the
    clock. Returns the answer (the last piece) and how many deltas it queued."""
    state = s.state
    run_id = state.run_id
    out = s.out
    seq = s.seq
    at = time.time()
    # what the model runtime reported while answering comes after the first delta, as from any
    # stream; nothing runs between the pieces to report more
    early = s.runtime_events
    for piece in pieces:
        seq += 1
        if type(piece) is str:
            text: TextDeltaEvent = _new(TextDeltaEvent)
            text.run_id = run_id
            text.seq = seq
            text.at = at
            text.delta = piece
            text.turn = turn
            out.append(text)
        elif type(piece) is tuple:
            call: ToolCallDeltaEvent = _new(ToolCallDeltaEvent)
            call.run_id = run_id
            call.seq = seq
            call.at = at
            call.turn = turn
            call.index, call.call_id, call.tool_name, call.delta = piece
            out.append(call)
        else:  # the answer, the last piece
            s.seq = state.seq = seq - 1
            return cast(ModelResponse, piece), len(pieces) - 1
        if early:
            early = []
            s.seq = state.seq = seq
            out.extend(s.drain())
            seq = s.seq
    s.seq = state.seq = seq
    return None, len(pieces)
