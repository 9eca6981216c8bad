"""Stream delta events made cheaply: one is made for every piece a model streams.

A delta event built through its dataclass ``__init__`` with keywords (``type.__call__`` packs
them into a dict and unpacks them again) costs about four times what these functions cost,
which fill the slots of a new instance directly. They make events equal to the ones the
constructor makes (tests/run/test_streaming.py holds them to that).
"""

from __future__ import annotations

from ..events import TextDeltaEvent, ToolCallDeltaEvent

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
