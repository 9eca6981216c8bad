"""Delta events made cheaply: one is made for every piece a model streams.

A delta event built through its dataclass ``__init__`` with keywords (``type.__call__`` packs
them into a dict and unpacks them again) costs about twice what these functions cost, which
fill the slots of a new instance directly. They make events equal to the ones the
constructors make (tests/run/test_memory_stream.py holds them to that).
"""

from __future__ import annotations

from ..events import TextDeltaEvent, ToolCallDeltaEvent
from ..models.base import ToolCallDelta

__all__ = ["text_delta", "tool_call_delta"]

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
    run_id: str, seq: int, at: float, delta: ToolCallDelta, turn: int
) -> ToolCallDeltaEvent:
    """The event of a streamed :class:`~tether.models.base.ToolCallDelta`, as
    ``ToolCallDeltaEvent(run_id=..., seq=..., at=..., index=..., call_id=..., tool_name=...,
    delta=..., turn=...)`` makes it."""
    event: ToolCallDeltaEvent = _new(ToolCallDeltaEvent)
    event.run_id = run_id
    event.seq = seq
    event.at = at
    event.index = delta.index
    event.call_id = delta.call_id
    event.tool_name = delta.name
    event.delta = delta.arguments
    event.turn = turn
    return event
