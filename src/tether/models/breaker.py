"""The circuit breaker of a model endpoint: fail fast while an endpoint keeps failing.

Part of the model runtime (see resilience.py, which composes it with the other pieces).
"""

from __future__ import annotations

import time
from typing import Literal

from ..errors import CircuitOpen, ModelProviderError, UserError

__all__ = ["CircuitBreaker", "circuit_breaker_for"]


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
