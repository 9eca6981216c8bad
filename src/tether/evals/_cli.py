"""``tether eval``: evaluate an agent on a dataset, compare with a baseline, gate CI.

::

    tether eval MODULE:ATTR DATA.jsonl [--metric NAME ...] [--save report.json]
                [--baseline base.json] [--html report.html] [--concurrency N]
                [--judge RUBRIC --judge-model MODEL] [--engine ray --store URL]
    tether eval MODULE:ATTR --from-traces DIR|--from-store URL [--agent NAME]
    tether eval --from-traces DIR|--from-store URL --agent NAME --write-cases cases.jsonl

Prints a table, writes the report, and exits 1 when ``--baseline`` is given and any case
regressed (the CI gate), 0 otherwise; 2 for bad input. Kept light at import time: everything
heavy is imported inside the handler.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UserError
from ._target import load_target

if TYPE_CHECKING:
    from rich.console import Console

    from ._dataset import Dataset
    from ._report import Comparison, Report

__all__ = ["load_target", "register"]


def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 160)


def _console_err() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


_BUILTIN_HEADS = frozenset(
    {"exact", "contains", "regex", "json", "numeric", "tool", "tools", "max_cost", "max_latency"}
)


def _metric(spec: str) -> Any:
    """A built-in metric's name as is; ``MODULE:ATTR`` loads a metric (or a Judge) of your own."""
    head, sep, _ = spec.partition(":")
    if not sep or head in _BUILTIN_HEADS:
        return spec
    try:
        metric = load_target(spec, "the metric")
    except UserError as exc:
        raise UserError(
            f"unknown metric {spec!r}: not a built-in name, and as MODULE:ATTR of a metric of "
            f"your own: {exc}"
        ) from None
    if not callable(metric):
        raise UserError(f"--metric {spec}: {type(metric).__name__} is not a metric (not callable)")
    return metric


def _cases(args: argparse.Namespace, target: Any) -> Dataset:
    from ._dataset import Dataset

    if args.from_traces is not None or args.from_store is not None:
        if args.data is not None:
            raise UserError("give either DATA or --from-traces/--from-store, not both")
        agent = args.agent or getattr(target, "name", None)
        if args.from_traces is not None:
            from ._sources import cases_from_traces

            return cases_from_traces(args.from_traces, agent, limit=args.limit)
        import asyncio

        from ._sources import cases_from_store

        return asyncio.run(cases_from_store(args.from_store, agent, limit=args.limit))
    if args.data is None:
        raise UserError("give a dataset: tether eval MODULE:ATTR DATA.jsonl")
    return Dataset.load(args.data)


def _table(report: Report, comparison: Comparison | None) -> Any:
    from rich.markup import escape
    from rich.table import Table

    from ..tracing.render import format_cost

    table = Table(box=None, header_style="bold")
    for column in ("case", "status", *report.metrics, "cost", "latency", "run"):
        table.add_column(column)
    moved = {(c.case, c.metric): c for c in comparison.regressions} if comparison else {}
    for case in report.cases:
        cells = []
        for metric in report.metrics:
            score = case.scores.get(metric)
            text = "–" if score is None else f"{score:.3g}"
            if (case.name, metric) in moved:
                text = f"[red]{text} (was {moved[case.name, metric].baseline:.3g})[/]"
            cells.append(text)
        status = "[green]pass[/]" if case.passed else "[red]fail[/]"
        if case.error:
            status = f"[red]error: {escape(case.error[:60])}[/]"
        label = case.name if report.repeat == 1 else f"{case.name} #{case.attempt + 1}"
        table.add_row(
            escape(label),
            status,
            *cells,
            format_cost(case.cost),
            f"{case.latency_ms:.0f} ms",
            escape(case.run_id or "–"),
        )
    return table


def _summary(report: Report) -> str:
    from ..tracing.render import format_cost

    agg = report.aggregates
    means = ", ".join(f"{m} {'–' if v is None else f'{v:.3g}'}" for m, v in agg["mean"].items())
    p50, p95 = agg["latency_ms"]["p50"], agg["latency_ms"]["p95"]
    judges = agg["cost"]["judges"]
    judged = f" (judges {format_cost(judges)})" if judges is None or judges > 0 else ""
    latency = "–" if p50 is None else f"p50 {p50:.0f} ms, p95 {p95:.0f} ms"
    return (
        f"[bold]{len(report.cases)} case run(s)[/], pass rate {agg['pass_rate'] * 100:.0f}%, "
        f"errors {agg['errors']}; mean: {means or 'no metrics'}; "
        f"cost {format_cost(agg['cost']['total'])}{judged}; latency {latency}"
    )


def _print_comparison(console: Console, comparison: Comparison, baseline: Path) -> None:
    from rich.markup import escape

    if comparison.ok:
        console.print(f"[green]no regression against {escape(str(baseline))}[/]")
    else:
        console.print(
            f"[bold red]{len(comparison.regressions)} regression(s) against "
            f"{escape(str(baseline))}[/] (tolerance {comparison.tolerance:g}):"
        )
    for change in comparison.regressions:
        console.print(
            f"  [red]▼ {escape(change.case)} {escape(change.metric)}: "
            f"{change.baseline:.3g} → {change.current:.3g}[/]"
        )
    for change in comparison.improvements:
        console.print(
            f"  [green]▲ {escape(change.case)} {escape(change.metric)}: "
            f"{change.baseline:.3g} → {change.current:.3g}[/]"
        )
    if comparison.missing:
        console.print(f"  [yellow]not run now: {escape(', '.join(comparison.missing))}[/]")


def _cmd_eval(args: argparse.Namespace) -> int:
    from ._evaluate import evaluate_sync
    from ._report import Report

    if args.concurrency < 1:
        raise UserError(f"--concurrency must be >= 1, got {args.concurrency}")
    target = load_target(args.target) if args.target is not None else None
    dataset = _cases(args, target)
    console = _console()
    if args.write_cases is not None:
        dataset.save(args.write_cases)
        console.print(f"wrote {len(dataset)} case(s) to {args.write_cases}")
    if target is None:
        if args.write_cases is None:
            if args.from_traces is None and args.from_store is None:
                raise UserError(
                    "give the agent to evaluate (MODULE:ATTR), or --write-cases PATH to save "
                    "the cases"
                )
            # No agent to evaluate: the recorded cases themselves, as JSONL on stdout
            # (`> cases.jsonl` keeps them; the count goes to stderr).
            sys.stdout.write(dataset.to_jsonl())
            sys.stdout.flush()
            _console_err().print(f"{len(dataset)} case(s) from the recorded runs")
        return 0
    if not len(dataset):
        raise UserError("the dataset has no cases")
    metrics = [_metric(m) for m in args.metric or ()]
    if args.judge:
        if args.judge_model is None:
            raise UserError("--judge needs --judge-model, e.g. --judge-model openai:gpt-4o-mini")
        from ._judge import Judge

        for index, rubric in enumerate(args.judge):
            name = "judge" if len(args.judge) == 1 else f"judge_{index + 1}"
            metrics.append(Judge(rubric, model=args.judge_model, name=name))
    baseline = Report.load(args.baseline) if args.baseline is not None else None
    report = evaluate_sync(
        args.target if args.engine == "ray" else target,  # Ray workers import it themselves
        dataset,
        metrics,
        concurrency=args.concurrency,
        repeat=args.repeat,
        engine=args.engine,
        timeout=args.timeout,
        trace_dir=args.dir,
        store=args.store,
    )
    comparison = (
        report.compare(baseline, tolerance=args.tolerance) if baseline is not None else None
    )
    console.print(_table(report, comparison))
    console.print(_summary(report))
    if args.save is not None:
        report.save(args.save)
        console.print(f"report written to {args.save}")
    if args.html is not None:
        report.to_html(
            args.html, baseline=baseline, tolerance=args.tolerance, trace_url=args.trace_url
        )
        console.print(f"HTML report written to {args.html}")
    if comparison is not None and args.baseline is not None:
        _print_comparison(console, comparison, args.baseline)
        return 0 if comparison.ok else 1
    return 0


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``eval`` to the ``tether`` command's subparsers."""
    parser = commands.add_parser(
        "eval",
        help="evaluate an agent on a dataset; exit 1 on a regression against --baseline",
        parents=[common],
        description="Run an agent on every case of a dataset, score the runs, write a report "
        "and compare it with a baseline (exit 1 when a case regressed). Runs are traced to "
        "--dir.",
    )
    parser.add_argument("target", nargs="?", help="the agent (or task function), MODULE:ATTR")
    parser.add_argument("data", nargs="?", type=Path, help="the dataset (.jsonl, .yaml, .json)")
    parser.add_argument(
        "--metric",
        action="append",
        metavar="NAME",
        help="exact, contains, regex:<pattern>, json, numeric[:<tol>], tool:<name>, tools, "
        "max_cost:<usd>, max_latency:<s>, or MODULE:ATTR of a metric or Judge of your own "
        "(repeatable; default: exact when cases have expected)",
    )
    parser.add_argument(
        "--judge",
        action="append",
        metavar="RUBRIC",
        help="an LLM judge with this rubric (repeatable; metrics judge, or judge_1, judge_2...)",
    )
    parser.add_argument("--judge-model", metavar="MODEL", help="the judges' model")
    parser.add_argument("--save", type=Path, metavar="REPORT.json", help="write the report")
    parser.add_argument("--baseline", type=Path, metavar="BASE.json", help="compare with it")
    parser.add_argument("--tolerance", type=float, default=0.0, help="score drop allowed")
    parser.add_argument("--html", type=Path, metavar="REPORT.html", help="write an HTML report")
    parser.add_argument(
        "--trace-url",
        metavar="TEMPLATE",
        help="trace link of the HTML report, e.g. 'http://127.0.0.1:8321/#/trace/{trace_id}'",
    )
    parser.add_argument("--concurrency", type=int, default=8, help="cases run at once")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each case")
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds one case may take (default 300)"
    )
    parser.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="run the cases in this process (local, the default) or on a Ray cluster (ray)",
    )
    parser.add_argument(
        "--store",
        metavar="URL",
        help="checkpoint the runs to this store (--engine ray needs one its workers share)",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--from-traces", type=Path, metavar="DIR", help="cases from traces")
    source.add_argument("--from-store", metavar="URL", help="cases from a store's runs")
    parser.add_argument("--agent", metavar="NAME", help="recorded agent name (with --from-*)")
    parser.add_argument("--limit", type=int, default=100, help="at most this many recorded runs")
    parser.add_argument("--write-cases", type=Path, metavar="PATH", help="save the cases")
    parser.set_defaults(handler=_cmd_eval)
