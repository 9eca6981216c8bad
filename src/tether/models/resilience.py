"""The model runtime: retries (retry.py), a circuit breaker per endpoint (breaker.py), a rate
limiter (limiter.py), a response cache (cache.py), and fallback between models (fallback.py).
Each is a small module; :class:`ResilientModel` composes them around any Model, and every step
it takes is reported into the run's events (``model_retry``, ``model_circuit_changed``,
``model_throttled``, ``model_cache_hit``, ``model_fallback``). The pieces are re-exported here
(FallbackModel from tether.models: it wraps its models in this runtime).

Model strings resolve to a ResilientModel with :data:`DEFAULT_RUNTIME` (3 attempts, the shared
breaker of the endpoint). Configure it per agent by passing a ResilientModel (or
``resolve_model(spec, runtime=...)``) as the agent's model, or per Runner with
``RunnerConfig(model_runtime=ModelRuntime(...))``. See docs/models.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import CircuitOpen, ModelProviderError
from ..events import ModelCacheHit, ModelCircuitChanged, ModelRetry, ModelThrottled
from ..tracing.redact import scrub_secrets
from ..usage import Usage
from ._strings import build_model
from ._wrapper import ModelWrapper
from .base import Model, ModelRequest, ModelResponse, ModelStreamEvent, stream_response
from .breaker import CircuitBreaker, circuit_breaker_for
from .cache import (
    MemoryResponseCache,
    ResponseCache,
    SQLiteResponseCache,
    request_key,
)
from .limiter import RateLimiter, request_tokens
from .retry import RetryPolicy

__all__ = [
    "DEFAULT_RUNTIME",
    "CircuitBreaker",
    "MemoryResponseCache",
    "ModelRuntime",
    "RateLimiter",
    "ResilientModel",
    "ResponseCache",
    "RetryPolicy",
    "SQLiteResponseCache",
    "circuit_breaker_for",
    "request_key",
]


# -- composition -------------------------------------------------------------------------------


_SHARED: Any = "shared"


@dataclass(frozen=True, eq=False)
class ModelRuntime:
    """How model calls are run: ``retry`` (None: one attempt), ``breaker`` (``"shared"``: the
    endpoint's process-wide breaker; a CircuitBreaker; None: none), ``limiter`` and ``cache``
    (None: off)."""

    retry: RetryPolicy | None = field(default_factory=RetryPolicy)
    breaker: CircuitBreaker | Literal["shared"] | None = "shared"
    limiter: RateLimiter | None = None
    cache: ResponseCache | None = None

    def wrap(self, model: Model) -> ResilientModel:
        """``model`` run under this runtime."""
        return ResilientModel(
            model, retry=self.retry, breaker=self.breaker, limiter=self.limiter, cache=self.cache
        )


#: What model strings resolve with unless told otherwise.
DEFAULT_RUNTIME = ModelRuntime()


def _resolve(spec: Model | str) -> Model:
    return build_model(spec) if isinstance(spec, str) else spec


class ResilientModel(ModelWrapper):
    """``model`` with retries, a circuit breaker, a rate limiter and a response cache.

    ``model`` may be a Model or a model string (resolved without the default runtime).
    """

    def __init__(
        self,
        model: Model | str,
        *,
        retry: RetryPolicy | None = DEFAULT_RUNTIME.retry,
        breaker: CircuitBreaker | Literal["shared"] | None = "shared",
        limiter: RateLimiter | None = None,
        cache: ResponseCache | None = None,
    ) -> None:
        super().__init__(_resolve(model))
        self.retry = retry or RetryPolicy(max_attempts=1)
        if breaker == "shared":
            endpoint = getattr(self.model, "endpoint", None)
            breaker = circuit_breaker_for(endpoint) if isinstance(endpoint, str) else None
        self.breaker: CircuitBreaker | None = (
            breaker if isinstance(breaker, CircuitBreaker) else None
        )
        self.limiter = limiter
        self.cache = cache

    #: Each attempt is bounded by ``settings.timeout`` here, so a timeout can be retried.
    handles_timeout = True

    async def _admit(self, request: ModelRequest) -> int:
        estimate = 0
        if self.limiter is not None:
            estimate = request_tokens(request)
            waited = await self.limiter.acquire(estimate)
            if waited > 0:
                request.notify(ModelThrottled(model=self.name, waited=round(waited, 4)))
        breaker = self.breaker
        if breaker is not None:
            changed = breaker.before()
            if changed is not None:
                request.notify(
                    ModelCircuitChanged(
                        endpoint=breaker.endpoint, state=changed, failures=breaker.failures
                    )
                )
        return estimate

    def _succeeded(self, request: ModelRequest, response: ModelResponse, estimate: int) -> None:
        if self.breaker is not None:
            changed = self.breaker.success()
            if changed is not None:
                request.notify(
                    ModelCircuitChanged(endpoint=self.breaker.endpoint, state=changed, failures=0)
                )
        if self.limiter is not None:
            self.limiter.settle(estimate, response.usage.total_tokens)

    def _failed(self, request: ModelRequest, error: ModelProviderError, attempt: int) -> float:
        """Record the failure; returns the delay before the next attempt or raises ``error``."""
        breaker = self.breaker
        if breaker is not None and not isinstance(error, CircuitOpen):
            changed = breaker.failure(error)
            if changed is not None:
                request.notify(
                    ModelCircuitChanged(
                        endpoint=breaker.endpoint, state=changed, failures=breaker.failures
                    )
                )
        delay = self.retry.delay(attempt, error)
        if delay is None:
            raise error
        request.notify(
            ModelRetry(
                model=self.name,
                attempt=attempt,
                error=scrub_secrets(str(error)),  # logged: never a key it quotes
                delay=round(delay, 4),
                status=error.status,
            )
        )
        return delay

    async def _cached(self, request: ModelRequest) -> tuple[str | None, ModelResponse | None]:
        if self.cache is None:
            return None, None
        key = request_key(self.name, request)
        hit = await self.cache.get(key)
        if hit is not None:
            request.notify(ModelCacheHit(model=self.name, key=key))
            hit.usage = Usage(requests=0, cost=0.0)  # served locally: nothing was spent
        return key, hit

    async def _attempt(self, request: ModelRequest) -> ModelResponse:
        timeout = request.settings.timeout
        if timeout is None or getattr(self.model, "handles_timeout", False):
            return await self.model.request(request)
        try:
            return await asyncio.wait_for(self.model.request(request), timeout)
        except TimeoutError:
            raise ModelProviderError(
                f"{self.name}: timed out after {timeout:g}s", retryable=True
            ) from None

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Answer, retrying what may be retried."""
        key, hit = await self._cached(request)
        if hit is not None:
            return hit
        attempt = 0
        while True:
            attempt += 1
            estimate = await self._admit(request)
            try:
                response = await self._attempt(request)
            except ModelProviderError as error:
                await asyncio.sleep(self._failed(request, error, attempt))
                continue
            except BaseException:
                if self.breaker is not None:
                    self.breaker.abandon()
                raise
            self._succeeded(request, response, estimate)
            if key is not None and self.cache is not None:
                await self.cache.set(key, response)
            return response

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        """Stream, retrying from the start only while nothing of the stream was passed on."""
        key, hit = await self._cached(request)
        if hit is not None:
            async for item in stream_response(hit):
                yield item
            return
        attempt = 0
        while True:
            attempt += 1
            estimate = await self._admit(request)
            emitted = False
            inner = self.model.stream(request)
            try:
                async for item in inner:
                    if isinstance(item, ModelResponse):
                        self._succeeded(request, item, estimate)
                        if key is not None and self.cache is not None:
                            await self.cache.set(key, item)
                    else:
                        emitted = True
                    yield item
                return
            except ModelProviderError as error:
                if emitted:
                    breaker = self.breaker
                    if breaker is not None and breaker.failure(error) is not None:
                        request.notify(
                            ModelCircuitChanged(
                                endpoint=breaker.endpoint, state="open", failures=breaker.failures
                            )
                        )
                    raise ModelProviderError(
                        f"{error} -- the stream broke after part of the answer was sent; it is "
                        "not retried, so no text is duplicated",
                        status=error.status,
                        body=error.body,
                        retryable=False,
                    ) from error
                delay = self._failed(request, error, attempt)
            except BaseException:
                if self.breaker is not None:
                    self.breaker.abandon()
                raise
            finally:
                await inner.aclose()  # type: ignore[attr-defined]
            await asyncio.sleep(delay)
