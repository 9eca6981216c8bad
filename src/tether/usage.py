"""Token and cost accounting for a model response or a whole run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Usage"]


@dataclass(slots=True)
class Usage:
    """Counts of requests and tokens, and the cost in USD (``None`` when a price is unknown)."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cost: float | None = 0.0

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def add(self, other: Usage) -> None:
        """Add ``other`` into this usage in place. A cost that is unknown (``None``) on either
        side makes the total unknown: a partial sum would understate what was spent."""
        self.requests += other.requests
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cached_tokens += other.cached_tokens
        self.reasoning_tokens += other.reasoning_tokens
        if other.cost is None or self.cost is None:
            self.cost = None
        else:
            self.cost += other.cost

    def minus(self, other: Usage) -> Usage:
        """What this usage has beyond ``other`` (an earlier reading of the same counter)."""
        cost = None if self.cost is None or other.cost is None else self.cost - other.cost
        return Usage(
            self.requests - other.requests,
            self.input_tokens - other.input_tokens,
            self.output_tokens - other.output_tokens,
            self.cached_tokens - other.cached_tokens,
            self.reasoning_tokens - other.reasoning_tokens,
            cost,
        )

    def copy(self) -> Usage:
        """An independent copy."""
        return Usage(
            self.requests,
            self.input_tokens,
            self.output_tokens,
            self.cached_tokens,
            self.reasoning_tokens,
            self.cost,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "requests": self.requests,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_tokens": self.cached_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "cost": self.cost,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Usage:
        """Rebuild from :meth:`to_dict` output."""
        return cls(**data)
