"""evaluate: run every case of a dataset (in parallel, bounded) and score it with the metrics.

``await evaluate(agent, dataset, metrics)`` returns a :class:`~tether.evals.Report`;
``evaluate_sync`` is its blocking twin. The task is a tether Agent (each case is a run on the
evaluation's Runner, traced as JSONL by default) or any function of the case input, sync or
async (a sync function runs in a worker thread, so it cannot stall the other cases). A case
whose task raises is scored 0 on every metric with its error; a metric that raises scores 0
for that case with the error as its reason. Neither stops the evaluation.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import os
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..errors import TetherError, UserError
from ..tracing.redact import scrub_secrets
from ._dataset import Case, Dataset, as_dataset
from ._judge import current_runner
from ._metrics import CaseRun, ExactMatch, Score, metric_from_name, metric_name, metric_threshold
from ._report import CaseResult, Report

if TYPE_CHECKING:
    from ..agent import Agent
    from ..config import RunConfig
    from ..results import Result
    from ..run.runner import Runner

__all__ = ["evaluate", "evaluate_sync"]

Engine = Literal["local", "ray"]


def _resolve_metrics(metrics: Sequence[Any], dataset: Dataset) -> list[Any]:
    if isinstance(metrics, str) or callable(metrics):
        metrics = [metrics]
    resolved: list[Any] = []
    for metric in metrics:
        if isinstance(metric, str):
            resolved.append(metric_from_name(metric))
        elif callable(metric):
            resolved.append(metric)
        else:
            raise UserError(
                f"a metric is a name (e.g. 'exact') or a function (case, run) -> score, "
                f"got {type(metric).__name__}"
            )
    if not resolved and any(c.expected is not None for c in dataset):
        resolved.append(ExactMatch())
    names = [metric_name(m) for m in resolved]
    doubled = sorted({n for n in names if names.count(n) > 1})
    if doubled:
        raise UserError(f"two metrics are named {doubled[0]!r}: give one a name= of its own")
    return resolved


def _check(concurrency: int, repeat: int, engine: str, timeout: float | None) -> None:
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise UserError(f"concurrency must be an integer >= 1, got {concurrency!r}")
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise UserError(f"repeat must be an integer >= 1, got {repeat!r}")
    if engine not in ("local", "ray"):
        raise UserError(f"engine must be 'local' or 'ray', got {engine!r}")
    if timeout is not None and not (timeout > 0 and math.isfinite(timeout)):
        raise UserError(f"timeout must be a number of seconds > 0, got {timeout!r}")


def _run_from_result(result: Result[Any], latency_ms: float) -> CaseRun:
    return CaseRun(
        output=result.output,
        final_text=result.final_text,
        cost=result.usage.cost,
        latency_ms=latency_ms,
        tool_calls=list(result.tool_executions),
        run_id=result.run_id,
        trace_id=result.trace_id or result.run_id,
        state=result.state,
        result=result,
    )


def _run_from_error(exc: BaseException, latency_ms: float, run_id: str | None = None) -> CaseRun:
    partial = getattr(exc, "result", None)
    run_id = getattr(exc, "run_id", None) or run_id
    usage = getattr(partial, "usage", None)
    message = str(exc) or type(exc).__name__
    if isinstance(exc, TimeoutError) and not str(exc):
        message = "the case timed out"
    return CaseRun(
        output=None,
        final_text="",
        error=message,
        error_type=type(exc).__name__,
        cost=getattr(usage, "cost", 0.0) if usage is not None else 0.0,
        latency_ms=latency_ms,
        tool_calls=list(getattr(partial, "tool_executions", None) or []),
        run_id=run_id,
        trace_id=getattr(partial, "trace_id", None) or run_id,
        state="failed",
        result=None,
    )


def _run_from_value(value: Any, latency_ms: float) -> CaseRun:
    from ..results import Result

    if isinstance(value, Result):
        return _run_from_result(value, latency_ms)
    text = value if isinstance(value, str) else "" if value is None else str(value)
    return CaseRun(output=value, final_text=text, latency_ms=latency_ms)


def _is_async(task: Any) -> bool:
    return inspect.iscoroutinefunction(task) or inspect.iscoroutinefunction(
        getattr(task, "__call__", None)  # noqa: B004 - an object with an async __call__
    )


async def _call_task(
    task: Any,
    case: Case,
    runner: Runner,
    timeout: float | None,
    options: dict[str, Any],
) -> CaseRun:
    from ..agent import Agent

    run_id = uuid.uuid4().hex if isinstance(task, Agent) else None
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            if run_id is not None:
                result = await runner.run(task, case.input, run_id=run_id, **options)
                return _run_from_result(result, (time.perf_counter() - started) * 1000)
            if _is_async(task):
                value = await task(case.input)
            else:  # a blocking function runs in a thread, off the event loop
                value = await asyncio.to_thread(task, case.input)
                if inspect.isawaitable(value):
                    value = await value
    except Exception as exc:
        return _run_from_error(exc, (time.perf_counter() - started) * 1000, run_id)
    return _run_from_value(value, (time.perf_counter() - started) * 1000)


def _number(value: Any) -> float | str | None:
    """A metric's return value as a score, or the text of why it is not one."""
    if isinstance(value, Score):
        value = value.value
    if value is None:
        return None
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else f"the metric returned {value!r}"
    return f"the metric returned {type(value).__name__}, not a number or bool"


def _add_cost(total: float | None, cost: float | None) -> float | None:
    return None if total is None or cost is None else total + cost


async def _score(
    case: Case,
    attempt: int,
    run: CaseRun,
    metrics: Sequence[Any],
    timeout: float | None = None,
) -> CaseResult:
    scored = CaseResult(
        name=case.name,
        input=case.input,
        expected=case.expected,
        output=run.output,
        scores={},
        passed=run.error is None,
        attempt=attempt,
        error=None if run.error is None else scrub_secrets(run.error),
        error_type=run.error_type,
        cost=run.cost,
        latency_ms=round(run.latency_ms, 3),
        run_id=run.run_id,
        trace_id=run.trace_id,
        metadata=case.metadata,
    )
    for metric in metrics:
        name = metric_name(metric)
        if run.error is not None:
            scored.scores[name] = 0.0
            scored.reasons[name] = f"the run failed: {scored.error}"
            continue
        try:
            value = metric(case, run)
            if inspect.isawaitable(value):
                async with asyncio.timeout(timeout):  # a judge that hangs fails like the task
                    value = await value
        except Exception as exc:
            scored.scores[name] = 0.0
            text = f"{exc}" if str(exc) else "timed out" if isinstance(exc, TimeoutError) else ""
            scored.reasons[name] = scrub_secrets(
                f"the metric raised {type(exc).__name__}: {text}".rstrip(": ")
            )
            scored.passed = False
            judged = getattr(exc, "run_id", None)
            if judged is not None:
                scored.judge_runs[name] = judged
            continue
        if isinstance(value, Score):
            if value.reason:
                scored.reasons[name] = scrub_secrets(value.reason)
            if value.run_id is not None:
                scored.judge_runs[name] = value.run_id
                scored.judge_cost = _add_cost(scored.judge_cost, value.cost)
        number = _number(value)
        if isinstance(number, str):
            scored.scores[name] = 0.0
            scored.reasons[name] = number
            scored.passed = False
            continue
        scored.scores[name] = number
        if number is not None and number < metric_threshold(metric):
            scored.passed = False
    return scored


async def _local(
    task: Any,
    work: list[tuple[Case, int]],
    metrics: Sequence[Any],
    runner: Runner,
    concurrency: int,
    timeout: float | None,
    options: dict[str, Any],
) -> list[CaseResult]:
    gate = asyncio.Semaphore(concurrency)

    async def one(case: Case, attempt: int) -> CaseResult:
        async with gate:
            run = await _call_task(task, case, runner, timeout, options)
            return await _score(case, attempt, run, metrics, timeout)

    return list(await asyncio.gather(*(one(c, a) for c, a in work)))


def _run_from_batch(item: Any, latency_ms: float, run_id: str) -> CaseRun:
    """A run_many item: a Result (state ``failed`` for a failed run) or an exception."""
    from ..results import Result

    if isinstance(item, BaseException):
        return _run_from_error(item, latency_ms, run_id)
    if isinstance(item, Result) and item.state == "failed":
        run = _run_from_result(item, latency_ms)
        run.output = None
        run.error = item.error or "the run failed"
        run.error_type = item.error_type or "RunFailed"
        return run
    return _run_from_value(item, latency_ms)


async def _ray(
    ref: Any,
    work: list[tuple[Case, int]],
    metrics: Sequence[Any],
    concurrency: int,
    timeout: float | None,
    options: dict[str, Any],
) -> list[CaseResult]:
    from ..agent import Agent

    if not isinstance(ref, Agent | str):
        raise UserError(
            "engine='ray' runs tether Agents (an Agent, or its import path "
            "'package.module:agent'); use engine='local' for functions"
        )
    try:
        from tether.distributed import run_many  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:
        raise UserError(
            "engine='ray' needs tether.distributed and Ray: pip install \"tether[ray]\" "
            f"(or use engine='local'): {exc}"
        ) from exc
    run_ids = [uuid.uuid4().hex for _ in work]
    started = time.perf_counter()
    finished: dict[int, float] = {}

    def progress(index: int, result: Any, done: int) -> None:
        finished[index] = time.perf_counter()

    try:
        outcome: Any = run_many(
            ref,
            [case.input for case, _ in work],
            engine="ray",
            concurrency=concurrency,
            run_ids=run_ids,
            progress=progress,
            return_exceptions=True,  # a case whose agent raises scores 0, as on the local engine
            **options,
        )
        if inspect.isawaitable(outcome):
            outcome = await outcome
    except TetherError:
        raise
    except Exception as exc:  # the cluster itself (start-up, a lost worker beyond retries)
        raise TetherError(f"the Ray engine failed: {type(exc).__name__}: {exc}") from exc
    results: list[CaseResult] = []
    for index, ((case, attempt), item) in enumerate(zip(work, list(outcome), strict=True)):
        # On Ray a run's latency is counted from the batch's start (queueing included).
        latency = (finished.get(index, time.perf_counter()) - started) * 1000
        run = _run_from_batch(item, latency, run_ids[index])
        results.append(await _score(case, attempt, run, metrics, timeout))
    return results


def _worker_telemetry(trace_dir: str | Path | None) -> Any:
    """JSONL traces into the same directory from every Ray worker (an absolute path)."""
    if trace_dir is None:
        return None
    from ..tracing.jsonl import JsonlExporter

    return JsonlExporter(os.path.abspath(trace_dir))


def _task_name(task: Any) -> str:
    return str(
        getattr(task, "name", None) or getattr(task, "__name__", None) or type(task).__name__
    )


async def evaluate(
    agent: Agent | Callable[[Any], Any] | str,
    dataset: Dataset | Sequence[Case] | str | Path,
    metrics: Sequence[Any] = (),
    *,
    concurrency: int = 8,
    repeat: int = 1,
    engine: Engine = "local",
    runner: Runner | None = None,
    timeout: float | None = None,
    trace_dir: str | Path | None = None,
    name: str | None = None,
    deps: Any = None,
    run_config: RunConfig | None = None,
    store: str | None = None,
) -> Report:
    """Run ``agent`` on every case of ``dataset`` ``repeat`` times, at most ``concurrency`` at
    once, and score each run with ``metrics``; returns the :class:`Report`.

    - ``agent``: a tether Agent, a function (sync or async) of the case input, or the import
      path of either (``"package.module:agent"``; Ray workers import it themselves).
    - ``metrics``: metric objects, plain functions ``(case, run) -> float | bool``, or CLI
      names (``"exact"``, ``"regex:<pattern>"``, ...). None given: ``exact`` when any case
      has an expected value.
    - ``engine``: ``"local"`` (asyncio, this process) or ``"ray"`` (through
      ``tether.distributed``, which needs ``tether[ray]``).
    - ``runner``: the Runner agent runs (and judges) go through; by default one on ``store``
      whose JSONL traces go to ``trace_dir`` (default ``$TETHER_TRACE_DIR`` or
      ``.tether/traces``), so every case's ``run_id`` opens its trace.
    - ``timeout``: seconds one case may take (and, apart, each of its async metrics such as a
      judge); past it the case (or the metric) fails with a timeout error.
    - ``deps`` / ``run_config``: passed to every agent run (e.g. ``RunConfig(model=...)`` to
      evaluate the same agent on another model).
    - ``store``: a store URL the runs are checkpointed to (by the default Runner); the Ray
      engine needs one its workers share (PostgreSQL, or SQLite on one machine).
    """
    _check(concurrency, repeat, engine, timeout)
    if runner is not None and store is not None and engine == "local":
        raise UserError("store= is for evaluate's own Runner: give the store to your runner")
    ref = agent
    if isinstance(agent, str):  # an import path: loaded here, handed to Ray workers as is
        from ._target import load_target

        agent = await asyncio.to_thread(load_target, agent)
    # a dataset file is read off the event loop
    data = await asyncio.to_thread(as_dataset, dataset)
    resolved = _resolve_metrics(metrics, data)
    own = runner is None
    if runner is None:
        from ..run.runner import Runner
        from ..tracing.files import default_trace_dir
        from ..tracing.jsonl import JsonlExporter

        directory = Path(trace_dir) if trace_dir is not None else default_trace_dir()
        runner = Runner(store=store, telemetry=JsonlExporter(directory))
        trace_dir = directory
    work = [(case, attempt) for case in data for attempt in range(repeat)]
    token = current_runner.set(runner)
    try:
        options: dict[str, Any] = {"deps": deps, "run_config": run_config}
        if engine == "ray":
            options.update(store=store, telemetry=_worker_telemetry(trace_dir))
            cases = await _ray(ref, work, resolved, concurrency, timeout, options)
        else:
            cases = await _local(agent, work, resolved, runner, concurrency, timeout, options)
    finally:
        current_runner.reset(token)
        if own:
            await runner.aclose()
        else:
            for exporter in runner.exporters:
                drain = getattr(exporter, "drain", None)
                if drain is not None:
                    await drain()
    return Report(
        cases,
        metrics=[metric_name(m) for m in resolved],
        name=name or data.name,
        agent=_task_name(agent),
        dataset=data.name,
        repeat=repeat,
        trace_dir=None if trace_dir is None else str(trace_dir),
    )


def evaluate_sync(
    agent: Agent | Callable[[Any], Any] | str,
    dataset: Dataset | Sequence[Case] | str | Path,
    metrics: Sequence[Any] = (),
    **options: Any,
) -> Report:
    """Blocking twin of :func:`evaluate` (same arguments); raises UserError inside a running
    event loop, where ``await evaluate(...)`` is the way."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise UserError("evaluate_sync() cannot run inside an event loop: use await evaluate()")
    return asyncio.run(evaluate(agent, dataset, metrics, **options))
