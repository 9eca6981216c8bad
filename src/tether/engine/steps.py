"""The loop's vocabulary: the next step of a run, decided from its state alone, and its endings.

:func:`next_step` is a pure function of :class:`~tether.results.RunState`: a run rebuilt from its
persisted events takes the same step it would have taken live. A run ends through one of the
closed set of :class:`Ending` outcomes (or by finishing its steps: completed or degraded).

The loop and its phases are plain coroutines. What they emit goes into the run's queue
(``RunWiring.out``) with :func:`put`; :func:`checkpoint` queues a :data:`CHECKPOINT`. The one
generator that drives the run (``tether.run._drive.drive``) hands the queue to the consumers
whenever the loop signals :data:`HANDED` (awaiting :data:`HAND_OVER`: at checkpoints of a run
with a store, exporters or breakpoints; before a stream's model calls and tools; after every
event under breakpoints) or waits for anything (a model call, a tool, a person), and when it
ends. So an event reaches the consumers
before the run waits or persists, in order, without a hop through a generator per level.
"""

from __future__ import annotations

import functools
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..messages import Message
from ..results import RunState

if TYPE_CHECKING:
    from ..events import Event
    from ._wiring import RunWiring

__all__ = [
    "CHECKPOINT",
    "HANDED",
    "HAND_OVER",
    "NOT_YET",
    "AskModel",
    "AwaitingApproval",
    "AwaitingDeferred",
    "AwaitingInput",
    "Checkpoint",
    "Degraded",
    "Ending",
    "Interrupted",
    "JudgeAnswer",
    "RunTools",
    "Step",
    "ToolResultsIn",
    "checkpoint",
    "hand",
    "hand_over",
    "next_step",
    "put",
]


class Checkpoint:
    """The type of :data:`CHECKPOINT`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "CHECKPOINT"


#: Yielded by the loop where everything emitted so far must be persisted before it goes on.
CHECKPOINT = Checkpoint()


# -- the hand-over -------------------------------------------------------------------------------


class _Handed:
    __slots__ = ()

    def __repr__(self) -> str:
        return "HANDED"


#: What the loop's coroutines send up to drive() to have their queue handed out now.
HANDED = _Handed()


class _Pass:
    """Awaited after queueing: goes on at once (:data:`NOT_YET`) or first has drive() hand the
    queue out (:data:`HAND_OVER`, which sends :data:`HANDED` up the coroutines).

    ``__await__`` is a C callable that makes the iterator (stored on the class, it is called
    without the instance): awaiting one runs no Python frame."""

    __slots__ = ()
    if TYPE_CHECKING:

        def __await__(self) -> Generator[Any, None, None]: ...


class _NotYet(_Pass):
    __slots__ = ()
    # an exhausted iterator: the await returns None at once
    __await__ = iter(()).__iter__  # type: ignore[assignment]


class _HandOver(_Pass):
    __slots__ = ()
    # a new iterator each time: yields HANDED once, then the await returns None
    __await__ = functools.partial(iter, (HANDED,))


NOT_YET: _Pass = _NotYet()
HAND_OVER: _Pass = _HandOver()


def put(s: RunWiring, event: Event) -> _Pass:
    """Emit ``event`` and queue it for the consumers (await the result)."""
    s.out.append(s.emit(event))
    return NOT_YET if s.debugger is None else HAND_OVER


def hand(s: RunWiring, item: Event | Checkpoint) -> _Pass:
    """Queue an event emitted already (or a checkpoint) for the consumers (await the result)."""
    if item is CHECKPOINT:
        return checkpoint(s)
    s.out.append(item)
    return NOT_YET if s.debugger is None else HAND_OVER


def checkpoint(s: RunWiring) -> _Pass:
    """Queue a :data:`CHECKPOINT` (await the result: a run with a store persists it now)."""
    s.out.append(CHECKPOINT)
    return HAND_OVER if s.eager else NOT_YET


def hand_over(s: RunWiring) -> _Pass:
    """Awaited before the loop acts outside (asks the model, runs tools): a stream's consumer
    sees the queue first (and can stop the run before it)."""
    return HAND_OVER if s.out and (s.eager or s.stream) else NOT_YET


# -- steps ---------------------------------------------------------------------------------------
# (not frozen: the loop makes one per step, and a frozen dataclass's __init__ costs twice as much)


@dataclass(slots=True)
class RunTools:
    """Tool calls of the last model answer have no result yet: run the tool phase."""


@dataclass(slots=True)
class JudgeAnswer:
    """The model answered without calling tools: follow up, accept the answer, or retry."""

    message: Message


@dataclass(slots=True)
class ToolResultsIn:
    """Every tool call has its result. If one was the accepted final result (a crash came
    before ``run_finished`` was stored) the run is done; otherwise the model is asked again."""

    message: Message


@dataclass(slots=True)
class AskModel:
    """Ask the model for its next answer (a model turn)."""


Step = RunTools | JudgeAnswer | ToolResultsIn | AskModel
_RUN_TOOLS = RunTools()  # the steps without a field are made once
_ASK_MODEL = AskModel()


def next_step(state: RunState) -> Step:
    """The step a run takes next, from its state alone."""
    if state.open_calls:
        return _RUN_TOOLS
    last = state.messages[-1] if state.messages else None
    # Before the first turn the last message came with the input: the model must answer.
    if last is not None and state.turn > 0:
        if last.role == "assistant":
            return JudgeAnswer(last)
        if last.role == "tool":
            return ToolResultsIn(last)
    return _ASK_MODEL


# -- endings -------------------------------------------------------------------------------------


class Ending(Exception):
    """A run ends now with ``status`` (raised inside the loop, turned into ``run_finished``)."""

    status: str = "failed"
    #: The error type recorded with the ending (None: no error).
    error_type: str | None = None

    def __init__(self, reason: str = "", interrupted_calls: list[str] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        #: The calls an interruption cut short.
        self.interrupted_calls = interrupted_calls or []

    @property
    def error(self) -> str | None:
        """The error text recorded with the ending (None when it is no error)."""
        return self.reason if self.error_type is not None else None


class Degraded(Ending):
    """End the run now as degraded (a failure policy chose to tolerate a failure)."""

    status = "degraded"


class AwaitingApproval(Ending):
    """Suspend: tool calls wait for a person's decision."""

    status = "awaiting_approval"


class AwaitingInput(Ending):
    """Suspend: tools asked a person for input."""

    status = "awaiting_input"


class AwaitingDeferred(Ending):
    """Suspend: deferred tool calls wait for their results."""

    status = "awaiting_deferred"


class Interrupted(Ending):
    """Stop: tool calls started before a crash did not finish and may not run again."""

    status = "interrupted"
    error_type = "RunInterrupted"
