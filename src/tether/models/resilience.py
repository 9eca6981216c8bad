"""The model runtime: retries, a circuit breaker per endpoint, a rate limiter, a response cache
(cache.py), and fallback between models. Each is a small piece; :class:`ResilientModel` composes
them around any Model, and every step it takes is reported into the run's events
(``model_retry``, ``model_circuit_changed``, ``model_throttled``, ``model_cache_hit``,
``model_fallback``).

Model strings resolve to a ResilientModel with :data:`DEFAULT_RUNTIME` (3 attempts, the shared
breaker of the endpoint). Configure it per agent by passing a ResilientModel (or
``resolve_model(spec, runtime=...)``) as the agent's model, or per Runner with
``RunnerConfig(model_runtime=ModelRuntime(...))``. See docs/models.md.
"""

from __future__ import annotations

import asyncio
import random
import time
import weakref
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import CircuitOpen, ModelProviderError, UserError
from ..events import (
    ModelCacheHit,
    ModelCircuitChanged,
    ModelFallback,
    ModelRetry,
    ModelThrottled,
)
from ..usage import Usage
from ._wrapper import ModelWrapper
from .base import Model, ModelRequest, ModelResponse, ModelStreamEvent
from .cache import (
    MemoryResponseCache,
    ResponseCache,
    SQLiteResponseCache,
    request_key,
)
from .testing import stream_response

__all__ = [
    "DEFAULT_RUNTIME",
    "CircuitBreaker",
    "FallbackModel",
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


# -- retries -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter for retryable provider errors (429, 5xx, 408/409,
    timeouts, dropped connections). 400/401/403/404 and other client errors are never retried.

    ``max_attempts`` counts the first call. A ``Retry-After`` from the provider replaces the
    computed delay; one longer than ``max_retry_after`` ends the retries at once.
    """

    max_attempts: int = 3
    initial_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 20.0
    #: Fraction of the delay added or removed at random, so clients do not retry in lockstep.
    jitter: float = 0.2
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise UserError(f"RetryPolicy.max_attempts must be at least 1, got {self.max_attempts}")
        if self.initial_delay < 0 or self.max_delay < 0:
            raise UserError("RetryPolicy delays must not be negative")

    def delay(self, attempt: int, error: ModelProviderError) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None to stop retrying."""
        if not error.retryable or attempt >= self.max_attempts:
            return None
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= self.max_retry_after else None
        base = min(self.max_delay, self.initial_delay * self.multiplier ** (attempt - 1))
        spread = base * self.jitter
        return max(0.0, base + random.uniform(-spread, spread))


# -- circuit breaker ---------------------------------------------------------------------------


class CircuitBreaker:
    """Opens after ``failure_threshold`` consecutive failures of an endpoint (5xx, timeouts,
    dropped connections); while open, calls fail fast with CircuitOpen. After ``cooldown``
    seconds one trial call goes through (half-open): success closes it, failure reopens it."""

    def __init__(
        self, endpoint: str = "", *, failure_threshold: int = 5, cooldown: float = 30.0
    ) -> None:
        if failure_threshold < 1 or cooldown < 0:
            raise UserError("CircuitBreaker needs failure_threshold >= 1 and cooldown >= 0")
        self.endpoint = endpoint
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self.state: Literal["closed", "open", "half_open"] = "closed"
        self.failures = 0
        self._opened_at = 0.0
        self._trial_running = False

    def before(self) -> str | None:
        """Raise CircuitOpen while open; returns the new state when it changed."""
        if self.state == "closed":
            return None
        if self.state == "open":
            left = self._opened_at + self.cooldown - time.monotonic()
            if left > 0:
                raise CircuitOpen(self.endpoint, left)
            self.state = "half_open"
            self._trial_running = True
            return "half_open"
        if self._trial_running:
            raise CircuitOpen(self.endpoint, 0.0)
        self._trial_running = True
        return None

    def abandon(self) -> None:
        """A call ended without an outcome (cancelled, or a bug): let the next one try."""
        self._trial_running = False

    def success(self) -> str | None:
        """Record a success; returns ``"closed"`` when that closed the circuit."""
        self.failures = 0
        self._trial_running = False
        if self.state != "closed":
            self.state = "closed"
            return "closed"
        return None

    def failure(self, error: BaseException) -> str | None:
        """Record a failure; returns ``"open"`` when that opened the circuit."""
        self._trial_running = False
        if (
            isinstance(error, ModelProviderError)
            and error.status is not None
            and (error.status < 500)
        ):
            return None  # the endpoint works; the request (or our quota) was the problem
        self.failures += 1
        if self.state == "half_open" or (
            self.state == "closed" and self.failures >= self.failure_threshold
        ):
            self.state = "open"
            self._opened_at = time.monotonic()
            return "open"
        return None


_breakers: dict[str, CircuitBreaker] = {}


def circuit_breaker_for(endpoint: str) -> CircuitBreaker:
    """The process-wide breaker of ``endpoint`` (default thresholds), shared by its models."""
    breaker = _breakers.get(endpoint)
    if breaker is None:
        breaker = _breakers[endpoint] = CircuitBreaker(endpoint)
    return breaker


# -- rate limiter ------------------------------------------------------------------------------


class RateLimiter:
    """Token buckets for requests and tokens per minute, shared by every model given it.

    A call takes one request and an estimate of its input tokens before it starts; when the
    answer comes, the estimate is corrected by the tokens actually used. Unused allowance
    accumulates for ``burst_seconds`` (default a minute: a full minute's quota at once).
    """

    def __init__(
        self,
        *,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        burst_seconds: float = 60.0,
    ) -> None:
        if requests_per_minute is None and tokens_per_minute is None:
            raise UserError("RateLimiter needs requests_per_minute and/or tokens_per_minute")
        for value in (requests_per_minute, tokens_per_minute, burst_seconds):
            if value is not None and value <= 0:
                raise UserError("RateLimiter rates and burst_seconds must be positive")
        self.rpm = requests_per_minute
        self.tpm = tokens_per_minute
        self._request_cap = max(1.0, (requests_per_minute or 0) * burst_seconds / 60)
        self._token_cap = (tokens_per_minute or 0) * burst_seconds / 60
        self._requests = self._request_cap
        self._tokens = self._token_cap
        self._stamp = time.monotonic()
        # One lock per event loop: a limiter may serve runs of several loops (run_sync).
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def _refill(self) -> None:
        now = time.monotonic()
        elapsed = now - self._stamp
        self._stamp = now
        if self.rpm is not None:
            self._requests = min(self._request_cap, self._requests + elapsed * self.rpm / 60)
        if self.tpm is not None:
            self._tokens = min(self._token_cap, self._tokens + elapsed * self.tpm / 60)

    def _wait_time(self, tokens: float) -> float:
        wait = 0.0
        if self.rpm is not None and self._requests < 1:
            wait = (1 - self._requests) * 60 / self.rpm
        if self.tpm is not None and self._tokens < tokens:
            wait = max(wait, (tokens - self._tokens) * 60 / self.tpm)
        return wait

    async def acquire(self, tokens: int = 0) -> float:
        """Wait until a call of about ``tokens`` input tokens may start; returns seconds waited."""
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        need = min(float(tokens), self._token_cap) if self.tpm is not None else 0.0
        waited = 0.0
        async with lock:  # first come, first served
            while True:
                self._refill()
                wait = self._wait_time(need)
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
                waited += wait
            if self.rpm is not None:
                self._requests -= 1
            if self.tpm is not None:
                self._tokens -= need
        return waited

    def settle(self, estimated: int, used: int) -> None:
        """Correct the token bucket once the real usage of a call is known."""
        if self.tpm is not None:
            self._tokens -= used - min(float(estimated), self._token_cap)


def estimate_tokens(request: ModelRequest) -> int:
    """A rough input token count (4 characters a token) for the rate limiter."""
    chars = len(request.instructions or "")
    for message in request.messages:
        for part in message.parts:
            chars += len(
                getattr(part, "text", "")
                or getattr(part, "content", "")
                or getattr(part, "arguments", "")
                or ""
            )
    return chars // 4 + 1


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
    if isinstance(spec, str):
        from .resolve import resolve_model

        return resolve_model(spec, runtime=None)
    return spec


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
            estimate = estimate_tokens(request)
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
                error=str(error),
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
                        error=str(error),
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
                        error=str(error),
                    )
                )
            finally:
                await inner.aclose()  # type: ignore[attr-defined]


def _wrap_default(spec: Model | str) -> Model:
    if isinstance(spec, str):
        from .resolve import resolve_model

        return resolve_model(spec)
    return spec
