"""The Temporal seams: a Model and Tools whose calls are Temporal activities.

Inside the workflow, :class:`ActivityModel` and :class:`ActivityTool` send each model call and
each tool call to an activity named after the agent and the tool; the worker runs it with the
registered agent's own model and tool (:func:`activities_for`). Payloads are pickled (tether's
requests, responses and tool values are Python objects, and the workflow and the worker run the
same code). A tool's or model's exception is returned as a value and raised again in the
workflow, so Temporal retries an activity only when its worker is lost (a timeout), never on a
failure tether's own failure policy handles: retries happen once.
"""

from __future__ import annotations

import base64
import dataclasses
import pickle
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ..context import Context
from ..models._wrapper import ModelWrapper
from ..models.base import Model, ModelRequest, ModelResponse, ModelStreamEvent
from ..tools import Tool
from ._errors import DurableEngineError
from ._names import model_step_name, tool_step_name

if TYPE_CHECKING:
    from ..agent import Agent

__all__ = ["ActivityModel", "ActivityTool", "activities_for"]


def _pack(value: Any, what: str) -> str:
    try:
        return base64.b64encode(pickle.dumps(value)).decode("ascii")
    except Exception as exc:
        raise DurableEngineError(
            f"{what}: the value cannot be sent through Temporal (not picklable: {exc})"
        ) from exc


def _unpack(text: str) -> Any:
    return pickle.loads(base64.b64decode(text))  # our own workers' payloads


def _outcome(value: Any) -> tuple[str, Any]:
    return ("ok", value)


def _raise_or_return(packed: str) -> Any:
    kind, value = _unpack(packed)
    if kind == "error":
        raise value
    return value


async def _execute(name: str, payload: str, timeout: timedelta) -> str:
    from temporalio import workflow
    from temporalio.common import RetryPolicy
    from temporalio.exceptions import ActivityError

    try:
        return await _call(workflow, RetryPolicy, name, payload, timeout)
    except ActivityError as exc:  # say what failed, not only "Activity task failed"
        cause = getattr(exc.cause, "message", None) or str(exc.cause or exc)
        raise DurableEngineError(f"activity {name!r} failed: {cause}") from exc


async def _call(workflow: Any, policy: Any, name: str, payload: str, timeout: timedelta) -> str:
    result: str = await workflow.execute_activity(
        name,
        payload,
        start_to_close_timeout=timeout,
        # Retried only when the worker is lost (a timeout): failures come back as values, and a
        # payload that cannot be sent is final.
        retry_policy=policy(
            initial_interval=timedelta(milliseconds=200),
            non_retryable_error_types=["DurableEngineError"],
        ),
        result_type=str,
    )
    return result


class ActivityModel(ModelWrapper):
    """In a workflow: each request (or stream, collected) is the activity ``activity_name``."""

    def __init__(self, model: Model, activity_name: str, timeout: timedelta) -> None:
        super().__init__(model)
        self.activity_name = activity_name
        self.timeout = timeout

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Ask the model in an activity; a replayed workflow gets the recorded response."""
        payload = _pack(("request", dataclasses.replace(request, observer=None)), self.name)
        response: ModelResponse = _raise_or_return(
            await _execute(self.activity_name, payload, self.timeout)
        )
        return response

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        """Stream the model inside one activity: the deltas arrive when it ends."""
        return self._stream(request)

    async def _stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        payload = _pack(("stream", dataclasses.replace(request, observer=None)), self.name)
        items: list[ModelStreamEvent] = _raise_or_return(
            await _execute(self.activity_name, payload, self.timeout)
        )
        for item in items:
            yield item


class ActivityTool(Tool[Any]):
    """In a workflow: a copy of a Tool whose every invocation is the activity
    ``activity_name``."""

    __slots__ = ("activity_name", "activity_timeout")

    def __init__(self, original: Tool[Any], activity_name: str, timeout: timedelta) -> None:
        for slot in Tool.__slots__:
            setattr(self, slot, getattr(original, slot))
        self.activity_name = activity_name
        self.activity_timeout = timeout

    async def invoke(self, ctx: Context[Any], args: dict[str, Any]) -> Any:
        """Run the tool in an activity; a replayed workflow gets the recorded result (or
        exception) back without running the tool again."""
        payload = _pack(args, f"arguments of tool {self.name!r}")
        return _raise_or_return(await _execute(self.activity_name, payload, self.activity_timeout))


def activities_for(agent: Agent, resolve: Callable[[Agent], Model]) -> list[Callable[..., Any]]:
    """The worker side: one activity for ``agent``'s model calls, one per tool."""
    from temporalio import activity

    made: list[Callable[..., Any]] = []
    model_holder: list[Model] = []

    def model() -> Model:
        if not model_holder:
            model_holder.append(resolve(agent))
        return model_holder[0]

    async def ask(payload: str) -> str:
        kind, request = _unpack(payload)
        try:
            if kind == "stream":
                stream = model().stream(request)
                value: Any = [item async for item in stream]
            else:
                value = await model().request(request)
            return _pack(_outcome(value), f"model of agent {agent.name!r}")
        except DurableEngineError:
            raise
        except Exception as exc:
            return _pack(("error", exc), f"model of agent {agent.name!r}")

    made.append(activity.defn(name=model_step_name(agent.name))(ask))
    for found in agent.tools_map.values():
        made.append(
            activity.defn(name=tool_step_name(agent.name, found.name))(_tool_activity(found))
        )
    return made


def _tool_activity(found: Tool[Any]) -> Callable[[str], Any]:
    async def run(payload: str) -> str:
        args = _unpack(payload)
        try:
            value: Any = _outcome(await found.invoke(None, args))  # type: ignore[arg-type]
        except Exception as exc:
            value = ("error", exc)
        return _pack(value, f"result of tool {found.name!r}")

    return run
