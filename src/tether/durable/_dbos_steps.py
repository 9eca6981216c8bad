"""The DBOS seams: a Model whose calls are DBOS steps, and Tools whose invocations are.

The agent loop is not changed: it asks a Model and invokes Tools as always, and these wrappers
make each of those a checkpointed DBOS step (``DBOS.run_step_async``). A step that finished is
never run again when its workflow is recovered: its recorded result (or exception) is returned.
DBOS's own step retries are off (``retries_allowed=False``): the only retries are tether's
(the model runtime's, inside the step; the run's failure policy, as new steps).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from ..context import Context
from ..models._wrapper import ModelWrapper
from ..models.base import Model, ModelRequest, ModelResponse, ModelStreamEvent
from ..tools import Tool

__all__ = ["StepModel", "StepTool"]


def _dbos() -> Any:
    from dbos import DBOS

    return DBOS


class StepModel(ModelWrapper):
    """``model`` with each request (and each stream, collected) run as the DBOS step
    ``step_name``."""

    def __init__(self, model: Model, step_name: str) -> None:
        super().__init__(model)
        self.step_name = step_name

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Ask the wrapped model inside a DBOS step (a recovered workflow gets the recorded
        response back without asking again)."""
        response: ModelResponse = await _dbos().run_step_async(
            {"name": self.step_name}, self._ask, request
        )
        return response

    async def _ask(self, request: ModelRequest) -> ModelResponse:
        return await self.model.request(request)

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        """Stream the wrapped model inside one DBOS step: the deltas are recorded with the
        final response and reach the caller when the step ends (not token by token)."""
        return self._stream(request)

    async def _stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        items: list[ModelStreamEvent] = await _dbos().run_step_async(
            {"name": self.step_name}, self._collect, request
        )
        for item in items:
            yield item

    async def _collect(self, request: ModelRequest) -> list[ModelStreamEvent]:
        stream = self.model.stream(request)
        items = [item async for item in stream]
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()
        return items


class StepTool(Tool[Any]):
    """A copy of a Tool whose every invocation runs as the DBOS step ``step_name``."""

    __slots__ = ("step_name",)

    def __init__(self, original: Tool[Any], step_name: str) -> None:
        for slot in Tool.__slots__:
            setattr(self, slot, getattr(original, slot))
        self.step_name = step_name

    async def invoke(self, ctx: Context[Any], args: dict[str, Any]) -> Any:
        """Run the tool inside a DBOS step (a recovered workflow gets the recorded result, or
        the recorded exception, back without running the tool again)."""
        return await _dbos().run_step_async({"name": self.step_name}, self._run, ctx, args)

    async def _run(self, ctx: Context[Any], args: dict[str, Any]) -> Any:
        return await Tool.invoke(self, ctx, args)
