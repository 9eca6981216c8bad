"""Context: the per-run state a tool, validator, guardrail or dynamic instruction receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .messages import Message
from .usage import Usage

if TYPE_CHECKING:
    from .agent import Agent

__all__ = ["Context"]

DepsT = TypeVar("DepsT")


@dataclass(slots=True)
class Context(Generic[DepsT]):
    """Handed to tools that declare a parameter annotated ``Context``.

    ``deps`` is whatever the caller passed as ``deps=``; ``usage`` and ``messages`` are live views
    of the run; ``retry`` counts the retries used so far by the current tool or output.
    """

    deps: DepsT
    run_id: str
    agent: Agent
    usage: Usage
    messages: list[Message]
    thread_id: str | None = None
    memory: Any = None
    retry: int = 0
    turn: int = 0
    tool_name: str | None = None
    tool_call_id: str | None = None
    #: Free-form per-run scratch space, shared by the run's tools.
    state: dict[str, Any] = field(default_factory=dict)
