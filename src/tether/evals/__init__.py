"""tether.evals: datasets, metrics, LLM judges, reports, baselines and a CI gate.

::

    from tether.evals import Case, Dataset, ExactMatch, Judge, evaluate_sync

    report = evaluate_sync(agent, Dataset.load("cases.jsonl"), [ExactMatch()])
    report.save("report.json")
    assert report.compare("baseline.json").ok

Names load on first use, so ``tether eval --help`` (and ``import tether.evals``) stay light.
See docs/evals.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._dataset import Case, Dataset
    from ._evaluate import evaluate, evaluate_sync
    from ._judge import Judge, Verdict
    from ._metrics import (
        CaseRun,
        Contains,
        ExactMatch,
        ExpectedToolCalls,
        JsonValid,
        MaxCost,
        MaxLatency,
        Metric,
        NumericTolerance,
        Regex,
        Score,
        ToolCalled,
        metric_from_name,
    )
    from ._report import CaseResult, Change, Comparison, Report
    from ._sources import cases_from_store, cases_from_traces

_LAZY: dict[str, str] = {
    "Case": "._dataset",
    "Dataset": "._dataset",
    "evaluate": "._evaluate",
    "evaluate_sync": "._evaluate",
    "Judge": "._judge",
    "Verdict": "._judge",
    "CaseRun": "._metrics",
    "Contains": "._metrics",
    "ExactMatch": "._metrics",
    "ExpectedToolCalls": "._metrics",
    "JsonValid": "._metrics",
    "MaxCost": "._metrics",
    "MaxLatency": "._metrics",
    "Metric": "._metrics",
    "NumericTolerance": "._metrics",
    "Regex": "._metrics",
    "Score": "._metrics",
    "ToolCalled": "._metrics",
    "metric_from_name": "._metrics",
    "CaseResult": "._report",
    "Change": "._report",
    "Comparison": "._report",
    "Report": "._report",
    "cases_from_store": "._sources",
    "cases_from_traces": "._sources",
}

__all__ = [
    "Case",
    "CaseResult",
    "CaseRun",
    "Change",
    "Comparison",
    "Contains",
    "Dataset",
    "ExactMatch",
    "ExpectedToolCalls",
    "JsonValid",
    "Judge",
    "MaxCost",
    "MaxLatency",
    "Metric",
    "NumericTolerance",
    "Regex",
    "Report",
    "Score",
    "ToolCalled",
    "Verdict",
    "cases_from_store",
    "cases_from_traces",
    "evaluate",
    "evaluate_sync",
    "metric_from_name",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tether.evals' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
