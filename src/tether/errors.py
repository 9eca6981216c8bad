"""The exception hierarchy: every error tether raises subclasses :class:`TetherError`."""

from __future__ import annotations

from typing import Any

__all__ = [
    "AgentsException",
    "ApprovalDenied",
    "BudgetExceeded",
    "CircuitOpen",
    "EditRejected",
    "InputGuardrailTripwireTriggered",
    "LogFormatError",
    "MaxTurnsExceeded",
    "ModelBehaviorError",
    "ModelProviderError",
    "OutputGuardrailTripwireTriggered",
    "ReplayDivergence",
    "Retry",
    "RunCancelled",
    "RunInterrupted",
    "RunLimitExceeded",
    "RunTimeout",
    "StaleApproval",
    "TetherError",
    "ToolTimeout",
    "UserError",
]


class TetherError(Exception):
    """Base class of every error raised by tether."""

    #: The run the error ended, when it happened inside a run.
    run_id: str | None = None
    #: The partial :class:`~tether.Result` of the run the error ended, when there is one.
    result: Any = None


#: Alias for users coming from the OpenAI Agents SDK.
AgentsException = TetherError


class UserError(TetherError):
    """The caller used tether wrongly (bad configuration, wrong call); the message names the fix."""


class StaleApproval(UserError):
    """An approval given with an ``args_digest`` that is not the digest of the arguments the
    call is pending with now (they changed since the decision was made): nothing is recorded;
    look at the pending call again and decide anew."""


class EditRejected(UserError):
    """An approval's edit of a call's arguments that cannot be applied: they do not fit the
    tool's schema, or the call already started (it can only be approved or rejected). Nothing
    is recorded."""


class ModelBehaviorError(TetherError):
    """The model did something it should not: malformed output, retries exhausted, bad tool use."""


class MaxTurnsExceeded(TetherError):
    """The run needed more model turns than ``max_turns`` allows."""

    def __init__(self, turn: int, limit: int) -> None:
        super().__init__(f"max_turns exceeded: turn {turn} would pass the limit of {limit}")
        self.turn = turn
        self.limit = limit


class BudgetExceeded(TetherError):
    """The accumulated cost of the run passed ``max_cost`` (USD)."""

    def __init__(self, spent: float, limit: float) -> None:
        super().__init__(f"budget exceeded: spent ${spent:.6f} > limit ${limit:.6f}")
        self.spent = spent
        self.limit = limit


class RunLimitExceeded(TetherError):
    """A run-wide cap other than turns or cost was reached (``max_tool_calls``,
    ``max_subagent_depth``)."""

    def __init__(self, limit: str, value: int, maximum: int) -> None:
        super().__init__(f"{limit} exceeded: {value} > {maximum}")
        self.limit = limit
        self.value = value
        self.maximum = maximum


class ToolTimeout(TetherError):
    """A tool ran longer than its ``timeout``."""

    def __init__(self, tool_name: str, timeout: float) -> None:
        super().__init__(f"tool {tool_name!r} timed out after {timeout:g}s")
        self.tool_name = tool_name
        self.timeout = timeout


class ApprovalDenied(TetherError):
    """A tool call that needed approval was rejected (raised when the policy is to fail the run)."""

    def __init__(self, tool_name: str, call_id: str, reason: str | None = None) -> None:
        super().__init__(f"approval denied for {tool_name!r} ({call_id}): {reason or 'no reason'}")
        self.tool_name = tool_name
        self.call_id = call_id
        self.reason = reason


class InputGuardrailTripwireTriggered(TetherError):
    """An input guardrail tripped: the run stopped before the model was asked."""

    def __init__(self, guardrail: str, info: Any = None) -> None:
        super().__init__(f"input guardrail {guardrail!r} tripped")
        self.guardrail = guardrail
        self.info = info


class OutputGuardrailTripwireTriggered(TetherError):
    """An output guardrail tripped: the final output was not accepted."""

    def __init__(self, guardrail: str, info: Any = None) -> None:
        super().__init__(f"output guardrail {guardrail!r} tripped")
        self.guardrail = guardrail
        self.info = info


class ModelProviderError(TetherError):
    """The model provider answered with an error (HTTP status and body), or could not be reached."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: Any = None,
        retry_after: float | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message if status is None else f"{message} (HTTP {status})")
        self.status = status
        self.body = body
        self.retry_after = retry_after
        if retryable is None:
            retryable = (
                status is None or status == 408 or status == 409 or status == 429 or (status >= 500)
            )
        self.retryable = retryable


class CircuitOpen(ModelProviderError):
    """The circuit breaker of a model endpoint is open: requests fail fast until it cools down."""

    def __init__(self, endpoint: str, retry_in: float) -> None:
        super().__init__(
            f"circuit open for {endpoint}: failing fast for {retry_in:.1f}s more", retryable=False
        )
        self.endpoint = endpoint
        self.retry_in = retry_in


class RunCancelled(TetherError):
    """The run was cancelled by its caller."""


class RunInterrupted(TetherError):
    """The run was interrupted (timeout, interrupt, or a non-idempotent tool cut short)."""


class RunTimeout(RunInterrupted):
    """The run, or one model call, took longer than its timeout (the run ends ``interrupted``)."""


class LogFormatError(TetherError, ValueError):
    """A persisted event log cannot be read: a format version this tether does not know, an
    unknown event type or field, or a value of the wrong shape (see docs/log-format.md)."""

    def __init__(self, message: str, *, version: int | None = None) -> None:
        super().__init__(message)
        #: The log's format version, when it is known.
        self.version = version


class ReplayDivergence(TetherError):
    """A replayed run asked the model something the recorded run did not."""

    def __init__(self, turn: int, diff: str) -> None:
        super().__init__(f"replay diverged at turn {turn}:\n{diff}")
        self.turn = turn
        self.diff = diff


class Retry(Exception):
    """Raised by a tool or output validator to send the model a hint and ask it to try again."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
