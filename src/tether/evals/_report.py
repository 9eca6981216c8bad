"""Report: what an evaluation found, per case and in aggregate; saved and loaded as JSON.

Aggregates: the mean score of each metric (over the cases it applied to), the pass rate (the
share of case runs that had no error and passed every metric), and cost and latency p50/p95
(linear interpolation between the nearest ranks). :meth:`Report.compare` diffs a report with a
baseline case by case and metric by metric.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..tracing.redact import scrub_secrets
from ._cases import CaseResult, Change, Comparison, mean

__all__ = ["CaseResult", "Change", "Comparison", "Report", "percentile"]

REPORT_VERSION = 1


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) of ``values``, interpolating linearly; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class Report:
    """The outcome of :func:`~tether.evals.evaluate`: per-case results and aggregates."""

    def __init__(
        self,
        cases: Iterable[CaseResult],
        *,
        metrics: Sequence[str] = (),
        name: str | None = None,
        agent: str | None = None,
        dataset: str | None = None,
        repeat: int = 1,
        trace_dir: str | None = None,
        created_at: float | None = None,
    ) -> None:
        self.cases = list(cases)
        self.metrics = list(metrics) or sorted({m for c in self.cases for m in c.scores})
        self.name = name
        self.agent = agent
        self.dataset = dataset
        self.repeat = repeat
        self.trace_dir = trace_dir
        self.created_at = time.time() if created_at is None else created_at

    def __repr__(self) -> str:
        return (
            f"Report(cases={len(self.cases)}, pass_rate={self.pass_rate:.2f}, "
            f"metrics={self.metrics})"
        )

    # -- aggregates ----------------------------------------------------------------------------

    def mean(self, metric: str) -> float | None:
        """The mean score of ``metric`` over the case runs it applied to."""
        if metric not in self.metrics:
            raise UserError(f"no metric {metric!r} in this report (metrics: {self.metrics})")
        return mean([s for c in self.cases if (s := c.scores.get(metric)) is not None])

    @property
    def pass_rate(self) -> float:
        """The share of case runs that passed (0.0 for an empty report)."""
        return sum(c.passed for c in self.cases) / len(self.cases) if self.cases else 0.0

    @property
    def errors(self) -> int:
        """How many case runs raised."""
        return sum(c.error is not None for c in self.cases)

    @property
    def total_cost(self) -> float | None:
        """What the agent's runs cost in USD (None when any cost is unknown)."""
        costs = [c.cost for c in self.cases]
        return None if any(c is None for c in costs) else sum(c for c in costs if c is not None)

    @property
    def aggregates(self) -> dict[str, Any]:
        """Mean score per metric, pass rate, errors, cost and latency p50/p95."""
        costs = [c.cost for c in self.cases if c.cost is not None]
        latencies = [c.latency_ms for c in self.cases]
        judge = [c.judge_cost for c in self.cases]
        return {
            "cases": len(self.cases),
            "mean": {m: self.mean(m) for m in self.metrics},
            "pass_rate": self.pass_rate,
            "errors": self.errors,
            "cost": {
                "total": self.total_cost,
                "p50": percentile(costs, 50),
                "p95": percentile(costs, 95),
                "judges": None
                if any(j is None for j in judge)
                else sum(j for j in judge if j is not None),
            },
            "latency_ms": {"p50": percentile(latencies, 50), "p95": percentile(latencies, 95)},
        }

    def case_scores(self) -> dict[str, dict[str, float | None]]:
        """Each case's score per metric, averaged over its repeats."""
        merged: dict[str, dict[str, list[float]]] = {}
        applies: dict[str, dict[str, bool]] = {}
        for case in self.cases:
            slot = merged.setdefault(case.name, {})
            seen = applies.setdefault(case.name, {})
            for metric, score in case.scores.items():
                slot.setdefault(metric, [])
                seen.setdefault(metric, False)
                if score is not None:
                    slot[metric].append(score)
                    seen[metric] = True
        return {
            name: {m: (mean(v) if applies[name][m] else None) for m, v in metrics.items()}
            for name, metrics in merged.items()
        }

    # -- baselines -----------------------------------------------------------------------------

    def compare(self, baseline: Report | str | Path, *, tolerance: float = 0.0) -> Comparison:
        """Diff against ``baseline`` (a Report or a saved report's path): a metric of a case
        regressed when its score is lower than the baseline's by more than ``tolerance``, and
        improved when it is higher by more than ``tolerance``."""
        if not math.isfinite(tolerance) or tolerance < 0:
            raise UserError(f"tolerance must be a finite number >= 0, got {tolerance!r}")
        base = baseline if isinstance(baseline, Report) else Report.load(baseline)
        mine, theirs = self.case_scores(), base.case_scores()
        regressions: list[Change] = []
        improvements: list[Change] = []
        for name, scores in mine.items():
            before = theirs.get(name)
            if before is None:
                continue
            for metric, now in scores.items():
                was = before.get(metric)
                if now is None or was is None:
                    continue
                if now < was - tolerance:
                    regressions.append(Change(name, metric, was, now))
                elif now > was + tolerance:
                    improvements.append(Change(name, metric, was, now))
        return Comparison(
            regressions=regressions,
            improvements=improvements,
            missing=[n for n in theirs if n not in mine],
            added=[n for n in mine if n not in theirs],
            tolerance=tolerance,
        )

    # -- files ---------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The whole report as JSON data."""
        return {
            "version": REPORT_VERSION,
            "name": self.name,
            "agent": self.agent,
            "dataset": self.dataset,
            "created_at": self.created_at,
            "repeat": self.repeat,
            "trace_dir": self.trace_dir,
            "metrics": list(self.metrics),
            "aggregates": self.aggregates,
            "cases": [c.to_dict() for c in self.cases],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        """A report from :meth:`to_dict` data."""
        if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
            raise UserError("not a tether evals report: expected an object with 'cases'")
        version = data.get("version", REPORT_VERSION)
        if not isinstance(version, int) or version > REPORT_VERSION:
            raise UserError(
                f"report format version {version!r} is newer than this tether reads "
                f"({REPORT_VERSION}): upgrade tether"
            )
        try:
            cases = [CaseResult.from_dict(c) for c in data["cases"]]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise UserError(f"malformed case in report: {exc!r}") from None
        return cls(
            cases,
            metrics=data.get("metrics") or (),
            name=data.get("name"),
            agent=data.get("agent"),
            dataset=data.get("dataset"),
            repeat=int(data.get("repeat") or 1),
            trace_dir=data.get("trace_dir"),
            created_at=data.get("created_at"),
        )

    def save(self, path: str | Path) -> Path:
        """Write the report as JSON (secret-shaped strings scrubbed, as in traces)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_dict(), indent=1, ensure_ascii=False)
        path.write_text(scrub_secrets(text), "utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Report:
        """A report saved by :meth:`save`."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UserError(f"no report file {str(path)!r}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UserError(f"cannot read report {str(path)!r}: {exc}") from None
        try:
            return cls.from_dict(data)
        except UserError as exc:
            raise UserError(f"{path}: {exc}") from None

    def to_html(
        self,
        path: str | Path | None = None,
        *,
        baseline: Report | str | Path | None = None,
        tolerance: float = 0.0,
        trace_url: str | None = None,
    ) -> str:
        """The report as one self-contained HTML page (written to ``path`` when given).

        ``trace_url`` is a template for each case's trace link, e.g.
        ``"http://127.0.0.1:8321/#/trace/{trace_id}"`` for ``tether ui``; by default a case
        links to its JSONL trace file in the report's trace directory.
        """
        from ._html import render_html

        base = None
        if baseline is not None:
            base = baseline if isinstance(baseline, Report) else Report.load(baseline)
        comparison = self.compare(base, tolerance=tolerance) if base is not None else None
        page = scrub_secrets(render_html(self, base, comparison, trace_url=trace_url))
        if path is not None:
            target = Path(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(page, encoding="utf-8")
        return page
