"""Context: the per-run state a tool, validator, guardrail or dynamic instruction receives."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .messages import Message
from .usage import Usage

if TYPE_CHECKING:
    from ._spec import AgentSpec

__all__ = ["Context", "InputRequired", "idempotency_key"]

DepsT = TypeVar("DepsT")


def idempotency_key(run_id: str, call_id: str) -> str:
    """The idempotency key of tool call ``call_id`` in run ``run_id``: what
    ``ctx.idempotency_key`` was inside that call. Use it after a crash to ask the external
    system whether an ``interrupted`` call's effect already happened."""
    import hashlib

    digest = hashlib.sha256(f"{run_id}\x00{call_id}".encode()).hexdigest()
    return f"tether-{digest[:40]}"


class InputRequired(BaseException):
    """Raised by :meth:`Context.request_input` when the answer is not known yet.

    It derives from BaseException so a tool's ``except Exception`` cannot swallow it; the loop
    turns it into an ``input_requested`` event and runs the tool again once answered.
    """

    def __init__(self, prompt: str, index: int) -> None:
        super().__init__(prompt)
        self.prompt = prompt
        self.index = index


@dataclass(slots=True)
class Context(Generic[DepsT]):
    """Handed to tools that declare a parameter annotated ``Context``.

    ``deps`` is whatever the caller passed as ``deps=``; ``usage`` and ``messages`` are live views
    of the run; ``retry`` counts the retries used so far by the current tool or output.
    """

    deps: DepsT
    run_id: str
    agent: AgentSpec
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
    #: Answers a person gave to this tool call's questions, in order.
    answers: list[Any] = field(default_factory=list)
    asked: int = 0

    def for_call(
        self, agent: AgentSpec, tool_name: str, call_id: str, retry: int, answers: list[Any]
    ) -> Context[DepsT]:
        """A copy of this run's context for one tool call (its own retry count and answers;
        the deps, usage, messages, memory and ``state`` are the run's, shared)."""
        return dataclasses.replace(
            self,
            agent=agent,
            retry=retry,
            tool_name=tool_name,
            tool_call_id=call_id,
            answers=answers,
            asked=0,
        )

    @property
    def idempotency_key(self) -> str:
        """A key for this tool call's side effect, to pass to external APIs (payments, mail).

        Derived from the run id and the call id only, so it is the same every time this call
        runs: after a crash and resume, a retry, or a re-run once a person answered. Another
        call, or the same tool in another run, gets another key. Outside a tool call it raises
        :class:`~tether.errors.UserError`.
        """
        if not self.tool_call_id:
            from .errors import UserError

            raise UserError("ctx.idempotency_key is only known inside a tool call")
        return idempotency_key(self.run_id, self.tool_call_id)

    def request_input(self, prompt: str) -> Any:
        """Ask a person for a value, from inside a tool; returns their answer.

        The first time, the run stops the tool and asks (``input_requested``): an interactive
        run waits for ``handle.respond(call_id, value)``, a headless one ends
        ``awaiting_input`` and continues with ``runner.resume(run_id, inputs={call_id: value})``.
        The tool then runs again from the start, and this call returns the answer, so code
        before it must be safe to run twice.
        """
        index = self.asked
        self.asked += 1
        if index < len(self.answers):
            return self.answers[index]
        raise InputRequired(prompt, index)
