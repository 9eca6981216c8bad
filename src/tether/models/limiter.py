"""Rate limiting of model calls: token buckets for requests and tokens per minute.

Part of the model runtime (see resilience.py, which composes it with the other pieces).
"""

from __future__ import annotations

import asyncio
import time
import weakref

from ..errors import UserError
from ..messages import Message, estimate_tokens
from .base import ModelRequest

__all__ = ["RateLimiter", "request_tokens"]


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


def request_tokens(request: ModelRequest) -> int:
    """A rough input token count of ``request`` for the rate limiter: its instructions and
    messages by :func:`tether.messages.estimate_tokens`."""
    tokens = sum(estimate_tokens(m) for m in request.messages)
    if request.instructions:
        tokens += estimate_tokens(Message.system(request.instructions))
    return tokens
