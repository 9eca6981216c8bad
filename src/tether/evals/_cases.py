"""The records of an evaluation: one run of one case (:class:`CaseResult`), and a report
against its baseline (:class:`Comparison` of :class:`Change` s). Report (in _report.py) holds
them; the HTML page (in _html.py) shows them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic_core import to_jsonable_python

__all__ = ["CaseResult", "Change", "Comparison", "mean"]


def mean(values: Sequence[float]) -> float | None:
    """The mean of ``values``; None when empty."""
    return sum(values) / len(values) if values else None


@dataclass(slots=True)
class CaseResult:
    """One run of one case: its output, each metric's score, cost, latency and trace ids."""

    name: str
    input: Any
    expected: Any
    output: Any
    #: Score of each metric by name; None where the metric did not apply.
    scores: dict[str, float | None]
    passed: bool
    attempt: int = 0
    #: Why a metric scored what it did (and a metric's own error), by metric name.
    reasons: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    error_type: str | None = None
    cost: float | None = 0.0
    latency_ms: float = 0.0
    run_id: str | None = None
    trace_id: str | None = None
    #: Runs of LLM judges for this case, by metric name, and what they cost in total.
    judge_runs: dict[str, str] = field(default_factory=dict)
    judge_cost: float | None = 0.0
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def score(self) -> float | None:
        """The mean of this case's scores (None when no metric applied)."""
        return mean([s for s in self.scores.values() if s is not None])

    def to_dict(self) -> dict[str, Any]:
        """The case result as JSON data."""
        return {
            "name": self.name,
            "attempt": self.attempt,
            "input": to_jsonable_python(self.input, fallback=repr),
            "expected": to_jsonable_python(self.expected, fallback=repr),
            "output": to_jsonable_python(self.output, fallback=repr),
            "scores": dict(self.scores),
            "passed": self.passed,
            "reasons": dict(self.reasons),
            "error": self.error,
            "error_type": self.error_type,
            "cost": self.cost,
            "latency_ms": self.latency_ms,
            "run_id": self.run_id,
            "trace_id": self.trace_id,
            "judge_runs": dict(self.judge_runs),
            "judge_cost": self.judge_cost,
            "metadata": to_jsonable_python(self.metadata, fallback=repr),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CaseResult:
        """A case result from :meth:`to_dict` data."""
        return cls(
            name=data["name"],
            input=data.get("input"),
            expected=data.get("expected"),
            output=data.get("output"),
            scores={str(k): (None if v is None else float(v)) for k, v in data["scores"].items()},
            passed=bool(data.get("passed", False)),
            attempt=int(data.get("attempt", 0)),
            reasons=dict(data.get("reasons") or {}),
            error=data.get("error"),
            error_type=data.get("error_type"),
            cost=data.get("cost"),
            latency_ms=float(data.get("latency_ms") or 0.0),
            run_id=data.get("run_id"),
            trace_id=data.get("trace_id"),
            judge_runs=dict(data.get("judge_runs") or {}),
            judge_cost=data.get("judge_cost"),
            metadata=dict(data.get("metadata") or {}),
        )


@dataclass(frozen=True, slots=True)
class Change:
    """A metric of a case that moved against the baseline (scores averaged over repeats)."""

    case: str
    metric: str
    baseline: float
    current: float

    @property
    def delta(self) -> float:
        """``current - baseline``."""
        return self.current - self.baseline

    def to_dict(self) -> dict[str, Any]:
        """The change as JSON data."""
        return {
            "case": self.case,
            "metric": self.metric,
            "baseline": self.baseline,
            "current": self.current,
            "delta": self.delta,
        }


@dataclass(slots=True)
class Comparison:
    """A report against its baseline: what regressed, what improved, what came and went."""

    regressions: list[Change]
    improvements: list[Change]
    #: Cases of the baseline the report does not have, and new cases it has.
    missing: list[str]
    added: list[str]
    tolerance: float

    @property
    def ok(self) -> bool:
        """True when nothing regressed (the CI gate)."""
        return not self.regressions

    def for_case(self, name: str) -> list[Change]:
        """The regressions and improvements of one case."""
        return [c for c in (*self.regressions, *self.improvements) if c.case == name]

    def to_dict(self) -> dict[str, Any]:
        """The comparison as JSON data."""
        return {
            "ok": self.ok,
            "tolerance": self.tolerance,
            "regressions": [c.to_dict() for c in self.regressions],
            "improvements": [c.to_dict() for c in self.improvements],
            "missing": self.missing,
            "added": self.added,
        }
