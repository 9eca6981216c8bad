"""Events made cheaply: a delta for every piece a model streams, and the events of every turn
(``turn_started``, ``progress``).

An event built through its dataclass ``__init__`` with keywords (``type.__call__`` packs
them into a dict and unpacks them again) costs about twice what these functions cost, which
fill the slots of a new instance directly. They make events equal to the ones the
constructors make (tests/run/test_memory_stream.py holds them to that). Elsewhere in the engine
an event of many fields is made as ``type.__call__`` makes it, ``object.__new__`` then the
class's ``__init__`` called directly: its keywords then cost no dict.
"""

from __future__ import annotations

from typing import TypeVar

from ..events import Event, Progress, TextDeltaEvent, ToolCallDeltaEvent, TurnStarted
from ..models.base import ToolCallDelta

__all__ = ["progress", "text_delta", "tool_call_delta", "turn_started"]

_new = object.__new__
T = TypeVar("T", bound=Event)


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


def _unstamped(kind: type[T]) -> T:
    """A new ``kind`` event with the stamp of one not emitted yet (no run id, seq or time)."""
    event = _new(kind)
    event.run_id = ""
    event.seq = 0
    event.at = 0.0
    return event


def turn_started(turn: int, agent: str, model: str) -> TurnStarted:
    """``TurnStarted(turn=turn, agent=agent, model=model)``."""
    event = _unstamped(TurnStarted)
    event.turn, event.agent, event.model = turn, agent, model
    return event


def progress(percent: float, turn: int, max_turns: int, cost: float | None) -> Progress:
    """``Progress(progress_percent=percent, turn=turn, max_turns=max_turns, cost=cost)``."""
    event = _unstamped(Progress)
    event.progress_percent, event.turn, event.max_turns, event.cost = percent, turn, max_turns, cost
    return event
