"""Fallback between models: when one fails (after its own retries), the next answers.

Part of the model runtime (see resilience.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from ..errors import ModelProviderError, UserError
from ..events import ModelFallback
from ..tracing.redact import scrub_secrets
from .base import Model, ModelRequest, ModelResponse, ModelStreamEvent

__all__ = ["FallbackModel"]


class FallbackModel:
    """Try ``primary``, then each of ``others`` in turn when a model fails (after its own
    retries) with one of ``fallback_on``. Each move shows as a ``model_fallback`` event."""

    def __init__(
        self,
        primary: Model | str,
        *others: Model | str,
        fallback_on: Sequence[type[BaseException]] = (ModelProviderError,),
    ) -> None:
        if not others:
            raise UserError("FallbackModel needs at least one model to fall back to")
        self.models: list[Model] = [_wrap_default(m) for m in (primary, *others)]
        self.fallback_on = tuple(fallback_on)

    @property
    def name(self) -> str:
        """The primary model's name."""
        return self.models[0].name

    @property
    def handles_timeout(self) -> bool:
        """True when every model bounds its own attempts by the timeout."""
        return all(getattr(m, "handles_timeout", False) for m in self.models)

    @property
    def prices_known(self) -> bool:
        """True when the prices of every model are known."""
        return all(bool(getattr(m, "prices_known", True)) for m in self.models)

    @property
    def prices_loaded(self) -> bool:
        """Whether the prices of every model are looked up already."""
        return all(bool(getattr(m, "prices_loaded", True)) for m in self.models)

    def __repr__(self) -> str:
        return f"FallbackModel({', '.join(repr(m) for m in self.models)})"

    async def request(self, request: ModelRequest) -> ModelResponse:
        """The first model's answer that does not fail."""
        last = len(self.models) - 1
        for index, model in enumerate(self.models):
            try:
                return await model.request(request)
            except self.fallback_on as error:
                if index == last:
                    raise
                request.notify(
                    ModelFallback(
                        from_model=model.name,
                        to_model=self.models[index + 1].name,
                        error=scrub_secrets(str(error)),
                    )
                )
        raise AssertionError("unreachable")  # pragma: no cover

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        """Stream from the first model that does not fail before its first delta."""
        last = len(self.models) - 1
        for index, model in enumerate(self.models):
            emitted = False
            inner = model.stream(request)
            try:
                async for item in inner:
                    emitted = emitted or not isinstance(item, ModelResponse)
                    yield item
                return
            except self.fallback_on as error:
                if emitted or index == last:
                    raise
                request.notify(
                    ModelFallback(
                        from_model=model.name,
                        to_model=self.models[index + 1].name,
                        error=scrub_secrets(str(error)),
                    )
                )
            finally:
                await inner.aclose()  # type: ignore[attr-defined]


def _wrap_default(spec: Model | str) -> Model:
    if isinstance(spec, str):
        from .resolve import resolve_model

        return resolve_model(spec)
    return spec
