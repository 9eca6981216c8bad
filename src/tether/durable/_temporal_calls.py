"""The Temporal seams: a Model and Tools whose calls are activities, and the worker's activities.

Inside the workflow, :class:`ActivitySeam` makes every model and tool a run calls (the run's,
its handoff targets', its subagents', its policy's) an :class:`ActivityModel` or
:class:`ActivityTool`, which send each call to the activity named after the agent and the tool;
the worker runs it with that agent's own model and tools (:func:`activities_for`). Payloads
are pickled bytes (the workflow and the worker run the same code), checked against the payload
limit so that a value too large fails naming its tool or model. A tool's or model's exception
is returned as a value and raised again in the workflow, so Temporal retries an activity only
when its worker is lost (a timeout), never on a failure tether's own failure policy handles:
retries happen once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ..context import Context
from ..models._wrapper import ModelWrapper
from ..models.base import Model, ModelRequest, ModelResponse, ModelStreamEvent
from ..tools import Tool
from ._errors import DurableEngineError
from ._names import model_step_name, tool_step_name
from ._payload import Asked, pack, unpack
from ._temporal_choices import Choices, Ref, Tagged
from ._temporal_context import apply_changes, snapshot

if TYPE_CHECKING:
    from .._spec import AgentSpec

__all__ = [
    "ENGINE",
    "ActivityModel",
    "ActivitySeam",
    "ActivityTool",
    "CallOptions",
    "raise_or_return",
]

ENGINE = "Temporal"


def raise_or_return(data: bytes) -> Any:
    kind, value = unpack(data)
    if kind == "error":
        raise value
    return value


async def _execute(name: str, payload: bytes, timeout: timedelta) -> bytes:
    from temporalio import workflow
    from temporalio.common import RetryPolicy
    from temporalio.exceptions import ActivityError

    try:
        result: bytes = await workflow.execute_activity(
            name,
            payload,
            start_to_close_timeout=timeout,
            # Retried only when the worker is lost (a timeout): failures come back as values,
            # and a worker without the activity (NotFoundError) is a setup error, said at once
            # rather than retried forever.
            retry_policy=RetryPolicy(
                initial_interval=timedelta(milliseconds=200),
                non_retryable_error_types=[
                    "DurableEngineError",
                    "PayloadTooLarge",
                    "NotFoundError",
                ],
            ),
            result_type=bytes,
        )
    except ActivityError as exc:  # say what failed, not only "Activity task failed"
        cause = getattr(exc.cause, "message", None) or str(exc.cause or exc)
        raise DurableEngineError(f"activity {name!r} failed: {cause}") from exc
    return result


@dataclasses.dataclass(frozen=True, slots=True)
class CallOptions:
    """How the workflow calls its activities."""

    timeout: timedelta
    limit: int | None
    #: The turn of the current workflow's run (sent with a streamed call, for its live deltas).
    turn_of: Callable[[], int] = lambda: 0


_Options = CallOptions  # its former name


class ActivityModel(ModelWrapper):
    """In a workflow: each request (or stream, collected) is the activity ``activity_name``."""

    def __init__(
        self,
        model: Model,
        agent: str,
        activity_name: str,
        options: CallOptions,
        ref: Ref = ("agent", None),
    ) -> None:
        super().__init__(model)
        self.activity_name = activity_name
        self._what = f"the request to the model of agent {agent!r}"
        self._options = options
        self._ref = ref  # which model the worker runs (the agent's, the RunConfig's, ...)

    def _payload(self, kind: str, request: ModelRequest) -> bytes:
        turn = self._options.turn_of() if kind == "stream" else 0
        value = (kind, dataclasses.replace(request, observer=None), self._ref, turn)
        return pack(value, self._what, ENGINE, self._options.limit)

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Ask the model in an activity; a replayed workflow gets the recorded response."""
        data = await _execute(
            self.activity_name, self._payload("request", request), self._options.timeout
        )
        response: ModelResponse = raise_or_return(data)
        return response

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        """Stream the model inside one activity: its deltas reach the run (and its events)
        when the activity ends; a reader outside sees them live, as the activity's
        heartbeats (``TemporalDurability.events``)."""
        return self._stream(request)

    async def _stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        data = await _execute(
            self.activity_name, self._payload("stream", request), self._options.timeout
        )
        items: list[ModelStreamEvent] = raise_or_return(data)
        for item in items:
            yield item


class ActivityTool(Tool[Any]):
    """In a workflow: a copy of a Tool whose every invocation is the activity
    ``activity_name``."""

    __slots__ = ("_options", "_source", "activity_name")

    def __init__(
        self, original: Tool[Any], activity_name: str, options: CallOptions, source: str | None
    ) -> None:
        for slot in Tool.__slots__:
            setattr(self, slot, getattr(original, slot))
        self.activity_name = activity_name
        self._options = options
        self._source = source  # the registered policy whose tool it is (None: the agent's)

    async def invoke(self, ctx: Context[Any], args: dict[str, Any]) -> Any:
        """Run the tool in an activity; a replayed workflow gets the recorded result (or
        exception) back without running the tool again. A tool that takes a Context gets one on
        the worker with the run's deps, ids, turn, retry, answers, messages, memory and
        ``ctx.state``; what it changes in ``ctx.state`` comes back with its result and is
        applied to the run's state here, so later tools see it."""
        takes = self.context_param is not None
        sent = (args, snapshot(ctx) if takes else None, self._source)
        what = f"the arguments of tool {self.name!r}"
        if takes:
            what += " (with its context's deps, messages and state)"
        payload = pack(sent, what, ENGINE, self._options.limit)
        data = await _execute(self.activity_name, payload, self._options.timeout)
        kind, value, changes = unpack(data)
        if takes:
            apply_changes(ctx.state, changes)
        if kind == "error":
            raise value
        if isinstance(value, Asked):
            value.raise_again()
        return value


class ActivitySeam:
    """Makes every model and tool call of a workflow's run an activity (a tool that runs an
    agent is left alone: the agent's own calls become activities). A call the worker has no
    activity for is a DurableEngineError, never a call made outside Temporal."""

    def __init__(
        self,
        registered: set[str],
        options: CallOptions,
        choices: Choices,
    ) -> None:
        self._registered = registered
        self._options = options
        self._choices = choices
        self._models: dict[tuple[str, Ref], ActivityModel] = {}
        self._tools: dict[tuple[str, str, str | None], ActivityTool] = {}

    def _known(self, name: str, what: str) -> str:
        if name not in self._registered:
            raise DurableEngineError(
                f"{what} has no activity on the worker ({name!r}): give its agent to the "
                "TemporalDurability([...]) the worker registers"
            )
        return name

    def model(self, agent: AgentSpec, model: Model) -> Model:
        """``agent``'s model as its model activity (the activity is the agent's whichever model
        the run chose; the payload says which)."""
        ref = self._choices.ref(agent, model)
        found = self._models.get((agent.name, ref))
        if found is None:
            name = self._known(model_step_name(agent.name), f"the model of agent {agent.name!r}")
            inner = model.model if isinstance(model, Tagged) else model
            made = ActivityModel(inner, agent.name, name, self._options, ref)
            found = self._models[(agent.name, ref)] = made
        return found

    def tool(self, agent: AgentSpec, tool: Tool[Any]) -> Tool[Any]:
        """``tool`` as one of ``agent``'s tool activities."""
        if tool.subagent is not None or isinstance(tool, ActivityTool):
            return tool
        source = self._choices.source(agent, tool)
        key = (agent.name, tool.name, source)
        found = self._tools.get(key)
        if found is None:
            what = f"tool {tool.name!r} of agent {agent.name!r}"
            name = self._known(tool_step_name(agent.name, tool.name), what)
            found = self._tools[key] = ActivityTool(tool, name, self._options, source)
        return found
