"""A span (one timed step of a run) and the usage arithmetic spans share with the Result."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Span", "SpanChange", "SpanKind", "add_usage", "usage_dict"]

SpanKind = Literal["run", "turn", "model", "tool", "subagent", "handoff", "guardrail", "approval"]
SpanChange = tuple[Literal["start", "end"], "Span"]


@dataclass(slots=True, eq=False)
class Span:
    """One timed step of a run. ``end`` is None while it is still open."""

    span_id: str
    parent_id: str | None
    kind: SpanKind
    name: str
    run_id: str
    start: float
    end: float | None = None
    #: ``running``, ``ok`` or ``error``.
    status: str = "running"
    error: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    children: list[Span] = field(default_factory=list)

    @property
    def duration_ms(self) -> float | None:
        """Milliseconds from start to end (None while open)."""
        return None if self.end is None else max(0.0, (self.end - self.start) * 1000)

    def close(self, at: float, status: str = "ok", error: str | None = None) -> None:
        """End the span at ``at`` (a UNIX time)."""
        self.end = max(at, self.start)
        self.status = status
        if error is not None:
            self.error = error

    def walk(self, depth: int = 0) -> Iterator[tuple[int, Span]]:
        """This span and its descendants, depth first, with their depth."""
        yield depth, self
        for child in self.children:
            yield from child.walk(depth + 1)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, children included."""
        return {
            "span_id": self.span_id,
            "parent_id": self.parent_id,
            "kind": self.kind,
            "name": self.name,
            "run_id": self.run_id,
            "start": self.start,
            "end": self.end,
            "duration_ms": self.duration_ms,
            "status": self.status,
            "error": self.error,
            "attributes": self.attributes,
            "children": [c.to_dict() for c in self.children],
        }


def usage_dict(usage: Any) -> dict[str, Any]:
    """A Usage as a dict (empty for None)."""
    return usage.to_dict() if usage is not None else {}


def add_usage(total: dict[str, Any], usage: dict[str, Any]) -> None:
    """Add ``usage`` into ``total`` as :meth:`tether.usage.Usage.add` does: an unknown cost
    (None) on either side makes the total unknown, as the run's Result reports it."""
    for key, value in usage.items():
        if key == "cost":
            if "cost" not in total:
                total["cost"] = value
            elif total["cost"] is None or value is None:
                total["cost"] = None
            else:
                total["cost"] += value
        elif isinstance(value, int):
            total[key] = total.get(key, 0) + value
