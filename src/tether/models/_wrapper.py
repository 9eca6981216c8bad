"""The base of model wrappers: a Model around one Model, forwarding what describes it.

A wrapper (the runtime's ResilientModel, HedgedModel, CoalescingModel) changes how requests are
made, not what the model is: its name, whether it bounds its own attempts, and its prices are
the wrapped model's. Subclasses override ``request`` and/or ``stream``; by default both pass
through.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from .base import Model, ModelRequest, ModelResponse, ModelStreamEvent

__all__ = ["ModelWrapper"]


class ModelWrapper:
    """A Model around ``model``; describes itself as ``model`` does."""

    def __init__(self, model: Model) -> None:
        self.model = model

    @property
    def name(self) -> str:
        """The wrapped model's name."""
        return self.model.name

    @property
    def handles_timeout(self) -> bool:
        """Whether the wrapped model bounds each attempt itself."""
        return bool(getattr(self.model, "handles_timeout", False))

    @property
    def prices_known(self) -> bool:
        """Whether the wrapped model's prices are known (True for models without prices)."""
        return bool(getattr(self.model, "prices_known", True))

    @property
    def prices_loaded(self) -> bool:
        """Whether the wrapped model's prices are looked up already (reading them reads files)."""
        return bool(getattr(self.model, "prices_loaded", True))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model!r})"

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Passes through to the wrapped model."""
        return await self.model.request(request)

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        """Passes through to the wrapped model."""
        return self.model.stream(request)
