"""Retries of model calls: exponential backoff with jitter, honouring ``Retry-After``.

Part of the model runtime (see resilience.py, which composes it with the other pieces).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..errors import ModelProviderError, UserError

__all__ = ["RetryPolicy"]


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
