"""The HTML report: one self-contained file (inline CSS and SVG, nothing fetched).

It shows the aggregates, a bar chart of each case's score (with the baseline's score marked),
the diff against the baseline (regressions, improvements, cases that came and went) and every
case run with its scores, cost, latency, error and a link to its trace (and its judges').
"""

from __future__ import annotations

import time
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..tracing.files import file_name_for
from ..tracing.redact import scrub_secrets

if TYPE_CHECKING:
    from ._cases import CaseResult, Comparison

__all__ = ["ReportView", "render_html"]


class ReportView(Protocol):
    """What the page reads of a ``tether.evals.Report`` (which implements it)."""

    cases: list[CaseResult]
    metrics: list[str]
    name: str | None
    agent: str | None
    dataset: str | None
    repeat: int
    trace_dir: str | None
    created_at: float

    @property
    def aggregates(self) -> dict[str, Any]:
        """Mean score per metric, pass rate, errors, cost and latency p50/p95."""

    def case_scores(self) -> dict[str, dict[str, float | None]]:
        """Each case's score per metric, averaged over its repeats."""


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;color:#1d232a}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.muted{color:#69727d}.cards{display:flex;gap:12px;flex-wrap:wrap;margin:14px 0}
.card{border:1px solid #d9dee3;border-radius:6px;padding:8px 12px;min-width:110px}
.card b{display:block;font-size:18px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;
border-bottom:1px solid #eceff2;vertical-align:top}th{background:#f5f7f9}
.pass{color:#1a7f37}.fail{color:#cf222e}.regression td{background:#ffebe9}
.improvement td{background:#dafbe1}.delta-down{color:#cf222e}.delta-up{color:#1a7f37}
svg text{font-size:12px;fill:#1d232a}.bar.pass{fill:#2da44e}.bar.fail{fill:#cf222e}
.base{stroke:#0b0e11;stroke-width:2}.err{color:#cf222e;font-family:monospace;font-size:12px}
"""


def _fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}g}"


def _cost(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.6f}".rstrip("0").rstrip(".")


def _link(trace_id: str | None, report: ReportView, trace_url: str | None) -> str | None:
    if not trace_id:
        return None
    if trace_url is not None:
        return trace_url.replace("{trace_id}", trace_id).replace("{run_id}", trace_id)
    if report.trace_dir is None:
        return None
    return (Path(report.trace_dir) / f"{file_name_for(trace_id)}.jsonl").resolve().as_uri()


def _case_means(report: ReportView) -> dict[str, float | None]:
    means: dict[str, float | None] = {}
    for name, scores in report.case_scores().items():
        values = [s for s in scores.values() if s is not None]
        means[name] = sum(values) / len(values) if values else None
    return means


def _chart(report: ReportView, baseline: ReportView | None) -> str:
    means = _case_means(report)
    before = _case_means(baseline) if baseline is not None else {}
    passed = {c.name: True for c in report.cases}
    for case in report.cases:
        passed[case.name] = passed[case.name] and case.passed
    row, label, width = 22, 180, 420
    height = row * len(means) + 24
    parts = [
        f'<svg id="chart" role="img" aria-label="score per case" width="{label + width + 60}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg">'
    ]
    top = max((v for v in means.values() if v is not None), default=1.0)
    scale = max(1.0, top)
    for i, (name, mean) in enumerate(means.items()):
        y = i * row + 4
        size = 0.0 if mean is None else max(0.0, mean) / scale * width
        kind = "pass" if passed.get(name) else "fail"
        short = name if len(name) <= 26 else name[:25] + "…"
        parts.append(f'<text x="0" y="{y + 14}">{escape(short)}</text>')
        parts.append(
            f'<rect class="bar {kind}" data-case="{escape(name)}" data-score="{_fmt(mean)}" '
            f'x="{label}" y="{y}" width="{size:.1f}" height="{row - 6}">'
            f"<title>{escape(name)}: {_fmt(mean)}</title></rect>"
        )
        parts.append(f'<text x="{label + size + 6:.1f}" y="{y + 14}">{_fmt(mean)}</text>')
        was = before.get(name)
        if was is not None:
            x = label + max(0.0, was) / scale * width
            parts.append(
                f'<line class="base" data-case="{escape(name)}" x1="{x:.1f}" x2="{x:.1f}" '
                f'y1="{y - 2}" y2="{y + row - 4}"><title>baseline {_fmt(was)}</title></line>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _diff(comparison: Comparison) -> str:
    if comparison.ok and not comparison.improvements:
        rows = '<p id="diff-summary" class="pass">No change beyond the tolerance.</p>'
    else:
        rows = (
            f'<p id="diff-summary" class="{"pass" if comparison.ok else "fail"}">'
            f"{len(comparison.regressions)} regression(s), "
            f"{len(comparison.improvements)} improvement(s) "
            f"(tolerance {comparison.tolerance:g})</p>"
        )
    body = []
    for kind, changes in (
        ("regression", comparison.regressions),
        ("improvement", comparison.improvements),
    ):
        for change in changes:
            body.append(
                f'<tr class="{kind}"><td>{kind}</td><td>{escape(change.case)}</td>'
                f"<td>{escape(change.metric)}</td><td>{_fmt(change.baseline)}</td>"
                f"<td>{_fmt(change.current)}</td><td>{change.delta:+.3g}</td></tr>"
            )
    table = ""
    if body:
        table = (
            '<table id="diff"><tr><th>change</th><th>case</th><th>metric</th><th>baseline</th>'
            "<th>now</th><th>delta</th></tr>" + "".join(body) + "</table>"
        )
    extra = ""
    if comparison.missing:
        extra += f'<p id="missing">Not run now: {escape(", ".join(comparison.missing))}</p>'
    if comparison.added:
        extra += f'<p id="added">New cases: {escape(", ".join(comparison.added))}</p>'
    return rows + table + extra


def _score_cell(
    case: CaseResult, metric: str, base: dict[str, dict[str, float | None]] | None
) -> str:
    score = case.scores.get(metric)
    reason = case.reasons.get(metric)
    cell = _fmt(score)
    if base is not None:
        was = base.get(case.name, {}).get(metric)
        if was is not None and score is not None and abs(score - was) > 1e-12:
            kind = "delta-down" if score < was else "delta-up"
            cell += f' <span class="{kind}">({score - was:+.3g} vs {_fmt(was)})</span>'
    if reason:
        cell += f'<div class="muted">{escape(reason)}</div>'
    return f"<td>{cell}</td>"


def _cases(report: ReportView, baseline: ReportView | None, trace_url: str | None) -> str:
    base = baseline.case_scores() if baseline is not None else None
    head = "".join(f"<th>{escape(m)}</th>" for m in report.metrics)
    rows = []
    for case in report.cases:
        link = _link(case.trace_id, report, trace_url)
        trace = (
            f'<a class="trace" href="{escape(link)}">{escape(case.trace_id or "")}</a>'
            if link
            else escape(case.run_id or "–")
        )
        for metric, run_id in case.judge_runs.items():
            judged = _link(run_id, report, trace_url)
            if judged:
                trace += (
                    f'<div><a class="judge" href="{escape(judged)}">judge {escape(metric)}</a>'
                    "</div>"
                )
        error = f'<div class="err">{escape(case.error)}</div>' if case.error else ""
        status = (
            '<span class="pass">pass</span>' if case.passed else '<span class="fail">fail</span>'
        )
        output = escape(scrub_secrets(str(case.output if case.output is not None else ""))[:400])
        rows.append(
            f'<tr class="case" data-case="{escape(case.name)}"><td>{escape(case.name)}'
            f"{'' if report.repeat == 1 else f' #{case.attempt + 1}'}</td><td>{status}</td>"
            + "".join(_score_cell(case, m, base) for m in report.metrics)
            + f"<td>{output}{error}</td><td>{_cost(case.cost)}</td>"
            f"<td>{case.latency_ms:.0f} ms</td><td>{trace}</td></tr>"
        )
    return (
        f'<table id="cases"><tr><th>case</th><th>status</th>{head}<th>output</th><th>cost</th>'
        f"<th>latency</th><th>trace</th></tr>{''.join(rows)}</table>"
    )


def render_html(
    report: ReportView,
    baseline: ReportView | None,
    comparison: Comparison | None,
    *,
    trace_url: str | None = None,
) -> str:
    """The report as an HTML page."""
    agg = report.aggregates
    cards = [
        ("pass rate", f"{agg['pass_rate'] * 100:.0f}%"),
        ("cases", str(agg["cases"])),
        ("errors", str(agg["errors"])),
        *((f"mean {m}", _fmt(v)) for m, v in agg["mean"].items()),
        ("cost", _cost(agg["cost"]["total"])),
        ("latency p50", f"{_fmt(agg['latency_ms']['p50'], 4)} ms"),
        ("latency p95", f"{_fmt(agg['latency_ms']['p95'], 4)} ms"),
    ]
    title = report.name or report.dataset or "evaluation"
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(report.created_at))
    diff = ""
    if comparison is not None:
        diff = (
            f'<h2>Against the baseline</h2><section id="comparison">{_diff(comparison)}</section>'
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>tether eval: {escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>tether eval: {escape(title)}</h1>"
        f'<div class="muted">agent {escape(report.agent or "?")} · {when} · '
        f"repeat {report.repeat}</div>"
        '<div class="cards" id="aggregates">'
        + "".join(
            f'<div class="card"><span class="muted">{escape(k)}</span><b>{escape(v)}</b></div>'
            for k, v in cards
        )
        + "</div><h2>Score per case</h2>"
        + _chart(report, baseline)
        + diff
        + "<h2>Cases</h2>"
        + _cases(report, baseline, trace_url)
        + "</body></html>"
    )
