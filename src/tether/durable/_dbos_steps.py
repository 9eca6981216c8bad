"""The DBOS seams: a Model whose calls are DBOS steps, Tools whose invocations are, and the
CallSeam that wraps every model and tool a run (and its subagents, handoff targets and policy)
calls.

The agent loop is not changed: it asks a Model and invokes Tools as always, and these wrappers
make each of those a checkpointed DBOS step (``DBOS.run_step_async``). A step that finished is
never run again when its workflow is recovered: its recorded result (or exception) is returned.
DBOS's own step retries are off (no ``retries_allowed``): the only retries are tether's (the
model runtime's, inside the step; the run's failure policy, as new steps).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import pickle
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..context import Context, InputRequired
from ..engine._turn import stream_event
from ..events import ModelRetry
from ..models._wrapper import ModelWrapper
from ..models.base import (
    Model,
    ModelRequest,
    ModelResponse,
    ModelStreamEvent,
)
from ..tools import Tool
from ._dbos_effects import Cut, EffectGuard, cut_short
from ._dbos_lifecycle import Stopped, gate, until_stopped
from ._names import model_step_name, tool_step_name
from ._payload import Asked, Offload, finished_value, pack, scrubbed

if TYPE_CHECKING:
    from .._spec import AgentSpec

__all__ = ["Live", "StepModel", "StepSeam", "StepTool"]

#: For a workflow id: the DBOS stream key its run's deltas go to and the run's turn, or None.
Live = Callable[[str], Awaitable[tuple[str, int] | None]]
#: Ends the run of a workflow id with a control ("cancel" or "interrupt"); never returns.
Stop = Callable[[str, str], Awaitable[None]]


def _dbos() -> Any:
    from dbos import DBOS

    return DBOS


class StepModel(ModelWrapper):
    """``model`` with each request (and each stream, collected) run as the DBOS step
    ``step_name``."""

    def __init__(
        self,
        model: Model,
        step_name: str,
        offload: Offload | None = None,
        limit: int | None = None,
        live: Live | None = None,
        stop: Stop | None = None,
    ) -> None:
        super().__init__(model)
        self.step_name = step_name
        self._offload = offload
        self._limit = limit
        self._live = live
        self._stop = stop

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Ask the wrapped model inside a DBOS step (a recovered workflow gets the recorded
        response back without asking again)."""
        response: ModelResponse | Stopped = await _dbos().run_step_async(
            {"name": self.step_name}, self._ask, request
        )
        if isinstance(response, Stopped):
            await _stopped(self._stop, response)
        assert isinstance(response, ModelResponse)
        return response

    async def _ask(self, request: ModelRequest) -> ModelResponse | Stopped:
        stopped = await gate()
        if stopped is not None:
            return stopped
        if self._offload is not None:
            request = await self._offload.expand(request)
        try:
            response = await until_stopped(self.model.request(request))
        except Exception as exc:  # DBOS records it: never a key it quotes
            scrubbed(exc)
            raise
        if isinstance(response, Stopped):
            return response
        pack(response, f"the response of model {self.model.name!r}", "DBOS", self._limit)
        return response

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        """Stream the wrapped model inside one DBOS step: each delta reaches the run (and so
        ``run_stream``) while the step runs, and is recorded with the final response, which
        reaches the run when the step is recorded; a recovered workflow gets the recorded
        deltas and response at once. A published run's deltas are also written to its DBOS
        stream as they come (token by token)."""
        return self._stream(request)

    async def _stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        # The step's number is drawn here, in the loop's order, as run_step_async would; the
        # step then runs in a task of its own, handing its deltas over as they come.
        reservation = _dbos().reserve_step()
        shown: asyncio.Queue[ModelStreamEvent] = asyncio.Queue()
        step = asyncio.ensure_future(
            reservation.run_async({"name": self.step_name}, self._collect, request, shown)
        )
        count = 0
        try:
            while not step.done() or not shown.empty():
                if shown.empty():
                    taken = asyncio.ensure_future(shown.get())
                    await asyncio.wait({taken, step}, return_when=asyncio.FIRST_COMPLETED)
                    if not taken.done():
                        taken.cancel()
                        continue
                    item = taken.result()
                else:
                    item = shown.get_nowait()
                count += 1
                yield item
            items: list[ModelStreamEvent] | Stopped | Streamed = step.result()
        finally:
            if not step.done():  # the run stopped waiting (cancel, interrupt): the step too
                step.cancel()
                with contextlib.suppress(BaseException):
                    await step
        if isinstance(items, Stopped):
            await _stopped(self._stop, items)
            return
        if isinstance(items, Streamed):  # failed or stopped after deltas the run was shown
            for item in items.items[count:]:
                yield item
            if isinstance(items.outcome, Stopped):
                await _stopped(self._stop, items.outcome)
                return
            raise items.outcome
        for item in items[count:]:  # a recorded step's (recovered): all of them, at once
            yield item

    async def _collect(
        self, request: ModelRequest, shown: asyncio.Queue[ModelStreamEvent]
    ) -> list[ModelStreamEvent] | Stopped | Streamed:
        stopped = await gate()
        if stopped is not None:
            return stopped
        if self._offload is not None:
            request = await self._offload.expand(request)
        dbos = _dbos()
        workflow_id = dbos.workflow_id
        live = await self._live(workflow_id) if self._live is not None and workflow_id else None
        attempt = await _restarted(dbos, workflow_id, live, self.model.name)
        stream = self.model.stream(request)
        items: list[ModelStreamEvent] = []

        async def take() -> None:
            nonlocal attempt
            async for item in stream:
                items.append(item)
                if not isinstance(item, ModelResponse):
                    shown.put_nowait(item)  # to the run now; the response once recorded
                event = stream_event(item, live[1]) if live is not None else None
                if live is not None and event is not None:
                    if attempt is not None:  # this attempt's first delta: say it streamed
                        await dbos.set_event_async(_attempt_key(dbos), attempt)
                        attempt = None
                    event.run_id = workflow_id
                    await dbos.write_stream_async(live[0], event)  # from the step: at once

        try:
            stopped = await until_stopped(take())
        except Exception as exc:  # DBOS records it: never a key it quotes
            scrubbed(exc)
            if items and _picklable(exc):  # the run saw these: a recovered run sees them too
                return Streamed(items, exc)
            raise
        finally:
            close = getattr(stream, "aclose", None)
            if close is not None:
                await close()
        if isinstance(stopped, Stopped):  # cut in flight by the run's cancel or interrupt
            return Streamed(items, stopped) if items else stopped
        pack(items, f"the response of model {self.model.name!r}", "DBOS", self._limit)
        return items


@dataclasses.dataclass(slots=True)
class Streamed:
    """A model step whose stream failed, or was stopped by the run's cancel or interrupt, after
    it had handed deltas to the run: recorded as the step's result, so that a recovered run is
    shown the same deltas before the same error or stop (and its failure policy decides the
    same way: a stream that showed something is not asked again)."""

    items: list[ModelStreamEvent]
    outcome: Exception | Stopped


def _picklable(exc: Exception) -> bool:
    """Whether DBOS can record ``exc`` inside a step's result (else it is raised, as before)."""
    try:
        pickle.dumps(exc)
    except Exception:
        return False
    return True


def _attempt_key(dbos: Any) -> str:
    """The workflow event that counts the attempts of this model step that streamed deltas."""
    return f"tether.streamed.{dbos.step_id}"


async def _restarted(dbos: Any, workflow_id: str, live: Any, model: str) -> int | None:
    """For a published run's model step: the number this attempt has (set as a workflow event
    once it streams). A step run again on recovery, after an attempt of it streamed deltas and
    was lost with its worker, first writes ``model_retry`` to the stream: the reader drops the
    lost attempt's deltas (the recorded response is the new attempt's)."""
    if live is None:
        return None
    key = _attempt_key(dbos)
    before = await dbos.get_event_async(workflow_id, key, timeout_seconds=0)
    if before is None:
        return 1
    retry = ModelRetry(
        model=model,
        attempt=int(before) + 1,
        error="the worker running this model call was lost; its deltas so far are void",
        delay=0.0,
    )
    retry.run_id = workflow_id
    await dbos.write_stream_async(live[0], retry)
    return int(before) + 1


async def _stopped(stop: Stop | None, stopped: Stopped) -> None:
    """End the run at a step its control stopped it at (the run's guard cancels this wait)."""
    if stop is None:  # pragma: no cover - the seam always gives one
        raise RuntimeError(f"the run was stopped ({stopped.action}) and cannot be ended")
    await stop(_dbos().workflow_id, stopped.action)


class StepTool(Tool[Any]):
    """A copy of a Tool whose every invocation runs as the DBOS step ``step_name`` (an
    ``effect="external"`` tool's with the effect ledger written inside the step: ``guard``)."""

    __slots__ = ("_guard", "_limit", "_offload", "_stop", "step_name")

    def __init__(
        self,
        original: Tool[Any],
        step_name: str,
        offload: Offload | None = None,
        limit: int | None = None,
        guard: EffectGuard | None = None,
        stop: Stop | None = None,
    ) -> None:
        for slot in Tool.__slots__:
            setattr(self, slot, getattr(original, slot))
        self.step_name = step_name
        self._offload = offload
        self._limit = limit
        self._guard = guard if original.effect == "external" else None
        self._stop = stop

    async def invoke(self, ctx: Context[Any], args: dict[str, Any]) -> Any:
        """Run the tool inside a DBOS step (a recovered workflow gets the recorded result, or
        the recorded exception, back without running the tool again)."""
        value = await _dbos().run_step_async({"name": self.step_name}, self._run, ctx, args)
        if isinstance(value, Asked):
            value.raise_again()
        if isinstance(value, Cut):
            raise cut_short(value, self, ctx.tool_call_id or "")
        if isinstance(value, Stopped):
            await _stopped(self._stop, value)
        return value

    async def _run(self, ctx: Context[Any], args: dict[str, Any]) -> Any:
        stopped = await gate()
        if stopped is not None:
            return stopped
        try:
            if self._guard is not None and ctx.tool_call_id:
                value = await self._guard.run(
                    self, ctx.run_id, ctx.tool_call_id, lambda: Tool.invoke(self, ctx, args)
                )
                if isinstance(value, Cut):
                    return value
            else:
                value = await until_stopped(Tool.invoke(self, ctx, args))
                if isinstance(value, Stopped):  # cut in flight by the run's cancel or interrupt
                    return value
        except InputRequired as asked:  # recorded as the step's result: it is not a failure
            return Asked(asked.prompt, asked.index)
        except Exception as exc:  # DBOS records it: never a key it quotes
            scrubbed(exc)
            raise
        return await finished_value(value, self.name, self._offload, "DBOS", self._limit)


class StepSeam:
    """Makes every model and tool call of a run a DBOS step named after its agent (a tool that
    runs an agent is left alone: the agent's own calls become steps)."""

    def __init__(
        self,
        offload: Offload | None = None,
        limit: int | None = None,
        guard: EffectGuard | None = None,
        live: Live | None = None,
        stop: Stop | None = None,
    ) -> None:
        self._offload = offload
        self._limit = limit
        self.guard = guard
        self._live = live
        self._stop = stop
        self._models: dict[tuple[str, int], tuple[Model, StepModel]] = {}
        self._tools: dict[tuple[str, int], tuple[Tool[Any], Tool[Any]]] = {}

    def model(self, agent: AgentSpec, model: Model) -> Model:
        """``model`` as ``agent``'s model step."""
        if isinstance(model, StepModel):
            return model
        key = (agent.name, id(model))
        known = self._models.get(key)
        if known is None or known[0] is not model:
            name = model_step_name(agent.name)
            known = (
                model,
                StepModel(model, name, self._offload, self._limit, self._live, self._stop),
            )
            self._models[key] = known
        return known[1]

    def tool(self, agent: AgentSpec, tool: Tool[Any]) -> Tool[Any]:
        """``tool`` as a step of ``agent``'s."""
        if tool.subagent is not None or isinstance(tool, StepTool):
            return tool
        key = (agent.name, id(tool))
        known = self._tools.get(key)
        if known is None or known[0] is not tool:
            name = tool_step_name(agent.name, tool.name)
            known = (
                tool,
                StepTool(tool, name, self._offload, self._limit, self.guard, self._stop),
            )
            self._tools[key] = known
        return known[1]
