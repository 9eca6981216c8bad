"""Reports: aggregates by hand, JSON round trip, and baselines compared case by case."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tether import UserError
from tether.evals import CaseResult, Report
from tether.evals._report import percentile


def result(name: str, scores: dict[str, float | None], **fields: Any) -> CaseResult:
    passed = all(s is None or s >= 1 for s in scores.values()) and not fields.get("error")
    return CaseResult(name, "in", None, "out", scores, passed, **fields)


def test_percentiles_by_hand() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 95) == 7.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0], 95) == pytest.approx(3.85)  # 3 + 0.85 * (4 - 3)
    assert percentile([10.0, 20.0, 30.0, 40.0, 50.0], 0) == 10.0


def test_aggregates_by_hand() -> None:
    report = Report(
        [
            result("a", {"exact": 1.0, "judge": 0.5}, cost=0.01, latency_ms=100),
            result("b", {"exact": 0.0, "judge": None}, cost=0.03, latency_ms=300),
            result("c", {"exact": 1.0, "judge": 1.0}, cost=0.02, latency_ms=200),
        ],
        metrics=["exact", "judge"],
    )
    agg = report.aggregates
    assert agg["mean"] == {"exact": pytest.approx(2 / 3), "judge": 0.75}  # None left out
    assert agg["pass_rate"] == pytest.approx(1 / 3)
    assert agg["cost"]["total"] == pytest.approx(0.06)
    assert agg["cost"]["p50"] == pytest.approx(0.02)
    assert agg["cost"]["p95"] == pytest.approx(0.029)  # 0.02 + 0.9 * 0.01
    assert agg["latency_ms"] == {"p50": 200, "p95": pytest.approx(290)}
    unknown = Report([result("a", {}, cost=None), result("b", {}, cost=0.5)])
    assert unknown.total_cost is None  # one unknown price makes the total unknown
    assert Report([]).pass_rate == 0.0


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    report = Report(
        [result("a", {"exact": 1.0}, run_id="r1", trace_id="r1", reasons={"exact": "ok"})],
        metrics=["exact"],
        name="nightly",
        agent="capitals",
        dataset="capitals",
    )
    path = report.save(tmp_path / "out" / "report.json")
    data = json.loads(path.read_text())
    assert data["version"] == 1 and data["aggregates"]["mean"] == {"exact": 1.0}
    assert data["cases"][0]["run_id"] == "r1"
    loaded = Report.load(path)
    assert loaded.to_dict() == report.to_dict()


def test_bad_report_files(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no report file"):
        Report.load(tmp_path / "nope.json")
    (tmp_path / "torn.json").write_text('{"cases": [')
    with pytest.raises(UserError, match="cannot read report"):
        Report.load(tmp_path / "torn.json")
    (tmp_path / "other.json").write_text('{"hello": 1}')
    with pytest.raises(UserError, match="not a tether evals report"):
        Report.load(tmp_path / "other.json")
    (tmp_path / "future.json").write_text('{"version": 99, "cases": []}')
    with pytest.raises(UserError, match="newer than this tether reads"):
        Report.load(tmp_path / "future.json")
    (tmp_path / "bad.json").write_text('{"cases": [{"name": "a"}]}')
    with pytest.raises(UserError, match="malformed case"):
        Report.load(tmp_path / "bad.json")


def test_compare_lists_regressions_and_improvements() -> None:
    base = Report(
        [
            result("a", {"exact": 1.0, "judge": 0.8}),
            result("b", {"exact": 0.0, "judge": 0.5}),
            result("c", {"exact": 1.0, "judge": 0.9}),
            result("gone", {"exact": 1.0}),
        ]
    )
    now = Report(
        [
            result("a", {"exact": 0.0, "judge": 0.75}),  # exact regressed; judge within 0.1
            result("b", {"exact": 1.0, "judge": 0.5}),  # exact improved
            result("c", {"exact": 1.0, "judge": None}),  # judge did not apply: not compared
            result("new", {"exact": 1.0}),
        ]
    )
    diff = now.compare(base, tolerance=0.1)
    assert [(c.case, c.metric, c.baseline, c.current) for c in diff.regressions] == [
        ("a", "exact", 1.0, 0.0)
    ]
    assert [(c.case, c.metric, c.delta) for c in diff.improvements] == [("b", "exact", 1.0)]
    assert diff.missing == ["gone"] and diff.added == ["new"]
    assert not diff.ok
    assert [c.metric for c in diff.for_case("a")] == ["exact"]
    # with no tolerance the judge's small drop counts too
    strict = now.compare(base)
    assert [(c.case, c.metric) for c in strict.regressions] == [("a", "exact"), ("a", "judge")]
    assert now.compare(now).ok
    assert diff.to_dict()["regressions"][0] == {
        "case": "a",
        "metric": "exact",
        "baseline": 1.0,
        "current": 0.0,
        "delta": -1.0,
    }
    with pytest.raises(UserError, match="tolerance"):
        now.compare(base, tolerance=-0.1)


def test_compare_averages_repeats_and_reads_a_saved_baseline(tmp_path: Path) -> None:
    base = Report([result("a", {"s": 1.0}, attempt=0), result("a", {"s": 1.0}, attempt=1)])
    now = Report([result("a", {"s": 1.0}, attempt=0), result("a", {"s": 0.0}, attempt=1)])
    path = base.save(tmp_path / "base.json")
    diff = now.compare(path)
    assert [(c.baseline, c.current) for c in diff.regressions] == [(1.0, 0.5)]
    assert now.compare(path, tolerance=0.5).ok
