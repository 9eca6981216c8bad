"""Metrics: how a case's run is scored.

A metric is any callable ``(case, run) -> float | bool | Score | None`` (or a coroutine of one):
``case`` is the :class:`~tether.evals.Case`, ``run`` the :class:`~tether.evals.CaseRun` (output,
final text, tool calls, cost, latency, error). ``True``/``False`` count as 1 and 0; ``None``
means "does not apply to this case" and leaves the case out of that metric's mean. A score
passes when it reaches the metric's ``threshold`` (1.0 unless the metric says otherwise).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

from pydantic_core import to_jsonable_python

from ..errors import UserError

if TYPE_CHECKING:
    from ..results import Result, ToolExecutionRecord
    from ._dataset import Case

__all__ = [
    "CaseRun",
    "Contains",
    "ExactMatch",
    "ExpectedToolCalls",
    "JsonValid",
    "MaxCost",
    "MaxLatency",
    "Metric",
    "MetricFn",
    "NumericTolerance",
    "Regex",
    "Score",
    "ToolCalled",
    "metric_from_name",
    "metric_name",
    "metric_threshold",
]


@dataclass(slots=True)
class CaseRun:
    """What one run of a case produced; the ``run`` argument of every metric."""

    output: Any
    final_text: str
    error: str | None = None
    error_type: str | None = None
    #: Cost in USD of the agent's run (None when a price is unknown).
    cost: float | None = 0.0
    latency_ms: float = 0.0
    tool_calls: list[ToolExecutionRecord] = field(default_factory=list)
    run_id: str | None = None
    trace_id: str | None = None
    state: str = "completed"
    #: The full tether Result, when the task was an agent run that returned one.
    result: Result[Any] | None = None

    @property
    def failed(self) -> bool:
        """True when the task raised (no output to score)."""
        return self.error is not None


@dataclass(slots=True)
class Score:
    """A metric's verdict with an explanation; judges also say which run produced it."""

    value: float | bool | None
    reason: str | None = None
    #: The run that computed the score (an LLM judge's own run), to open its trace.
    run_id: str | None = None
    cost: float | None = None


MetricFn: TypeAlias = Callable[
    ["Case", CaseRun], "float | bool | Score | Awaitable[float | bool | Score | None] | None"
]


class Metric:
    """A named metric with a pass ``threshold``; subclasses implement :meth:`score`.

    Plain functions work as metrics too; wrap one in ``Metric(fn, name=..., threshold=...)`` to
    give it a name or a threshold other than its ``__name__`` and 1.0.
    """

    name: str = "metric"
    threshold: float = 1.0

    def __init__(
        self,
        fn: MetricFn | None = None,
        *,
        name: str | None = None,
        threshold: float | None = None,
    ) -> None:
        self._fn = fn
        if name is not None:
            self.name = name
        elif fn is not None:
            self.name = getattr(fn, "__name__", self.name)
        if threshold is not None:
            self.threshold = threshold

    def score(self, case: Case, run: CaseRun) -> Any:
        """Score one run (the wrapped function, for a plain ``Metric(fn)``)."""
        if self._fn is None:
            raise NotImplementedError
        return self._fn(case, run)

    def __call__(self, case: Case, run: CaseRun) -> Any:
        return self.score(case, run)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def metric_name(metric: Any) -> str:
    """The name a metric is reported under."""
    name = getattr(metric, "name", None) or getattr(metric, "__name__", None)
    return str(name) if name else type(metric).__name__


def metric_threshold(metric: Any) -> float:
    """The score at or above which a metric passes (1.0 by default)."""
    value = getattr(metric, "threshold", 1.0)
    return float(value) if isinstance(value, int | float) else 1.0


def output_text(run: CaseRun) -> str:
    """The output as text: a string as is, structured output as JSON."""
    if isinstance(run.output, str):
        return run.output
    if run.output is None:
        return run.final_text
    return json.dumps(to_jsonable_python(run.output, fallback=repr), ensure_ascii=False)


def _plain(value: Any) -> Any:
    return to_jsonable_python(value, fallback=repr)


class ExactMatch(Metric):
    """1 when the output equals ``expected`` (strings compared stripped; structured output as
    JSON data, so a pydantic model matches the dict of its fields). No expected: not scored."""

    name = "exact"

    def __init__(self, *, case_sensitive: bool = True, strip: bool = True) -> None:
        self.case_sensitive = case_sensitive
        self.strip = strip

    def score(self, case: Case, run: CaseRun) -> bool | None:
        """Compare the output with the case's expected value."""
        if case.expected is None:
            return None
        if isinstance(case.expected, str):
            got, want = output_text(run), case.expected
            if self.strip:
                got, want = got.strip(), want.strip()
            if not self.case_sensitive:
                got, want = got.casefold(), want.casefold()
            return got == want
        return bool(_plain(run.output) == _plain(case.expected))


class Contains(Metric):
    """1 when the output text contains ``value`` (default: the case's expected; a list of
    strings must all be there). No value and no expected: not scored."""

    name = "contains"

    def __init__(self, value: str | list[str] | None = None, *, case_sensitive: bool = True):
        self.value = value
        self.case_sensitive = case_sensitive

    def score(self, case: Case, run: CaseRun) -> bool | None:
        """Look for the value (or every value) in the output text."""
        wanted = self.value if self.value is not None else case.expected
        if wanted is None:
            return None
        needles = [str(w) for w in wanted] if isinstance(wanted, list) else [str(wanted)]
        text = output_text(run)
        if not self.case_sensitive:
            text = text.casefold()
            needles = [n.casefold() for n in needles]
        return all(n in text for n in needles)


class Regex(Metric):
    """1 when ``pattern`` matches somewhere in the output text (``re.search``)."""

    name = "regex"

    def __init__(self, pattern: str, *, flags: int = 0) -> None:
        try:
            self.pattern = re.compile(pattern, flags)
        except re.error as exc:
            raise UserError(f"invalid regex {pattern!r} for the regex metric: {exc}") from None
        self.name = f"regex:{pattern}"

    def score(self, case: Case, run: CaseRun) -> bool:
        """Search the output text."""
        return self.pattern.search(output_text(run)) is not None


class JsonValid(Metric):
    """1 when the output is JSON (text that parses, or structured output) and, with a
    ``schema`` (or the case's ``metadata["schema"]``), valid against that JSON Schema."""

    name = "json"

    def __init__(self, schema: Mapping[str, Any] | None = None) -> None:
        self.schema = dict(schema) if schema is not None else None
        if self.schema is not None:
            _check_schema(self.schema)

    def score(self, case: Case, run: CaseRun) -> Score:
        """Parse the output and validate it."""
        if isinstance(run.output, str):
            try:
                data = json.loads(run.output)
            except json.JSONDecodeError as exc:
                return Score(False, f"not JSON: {exc.msg}")
        else:
            data = _plain(run.output)
        schema = self.schema if self.schema is not None else case.metadata.get("schema")
        if schema is None:
            return Score(True)
        jsonschema = _jsonschema()
        try:
            jsonschema.validate(data, schema)
        except jsonschema.ValidationError as exc:
            return Score(False, f"schema: {exc.message}")
        except jsonschema.SchemaError as exc:
            raise UserError(f"case {case.name!r}: invalid JSON schema: {exc.message}") from None
        return Score(True)


def _check_schema(schema: dict[str, Any]) -> None:
    jsonschema = _jsonschema()
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise UserError(f"invalid JSON schema for the json metric: {exc.message}") from None


def _jsonschema() -> Any:
    try:
        import jsonschema  # type: ignore[import-untyped,unused-ignore]
    except ImportError as exc:  # pragma: no cover - jsonschema ships with the evals extra
        raise UserError(
            'the json metric needs the evals extra: pip install "tether[evals]"'
        ) from exc
    return jsonschema


_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        found = _NUMBER.search(value.replace(",", ""))
        return float(found.group()) if found else None
    return None


class NumericTolerance(Metric):
    """1 when the number in the output is within ``tolerance`` of ``expected`` (absolute, or a
    fraction of expected with ``relative=True``). The first number in text output is used."""

    name = "numeric"

    def __init__(self, tolerance: float = 1e-6, *, relative: bool = False) -> None:
        if not math.isfinite(tolerance) or tolerance < 0:
            raise UserError(f"tolerance must be a finite number >= 0, got {tolerance!r}")
        self.tolerance = tolerance
        self.relative = relative

    def score(self, case: Case, run: CaseRun) -> Score | None:
        """Compare the numbers."""
        want = _number(case.expected)
        if want is None:
            return None
        got = _number(run.output if run.output is not None else run.final_text)
        if got is None:
            return Score(False, "no number in the output")
        limit = self.tolerance * abs(want) if self.relative else self.tolerance
        ok = abs(got - want) <= limit
        return Score(ok, None if ok else f"{got:g} is {abs(got - want):g} from {want:g}")


class ToolCalled(Metric):
    """1 when the run called tool ``tool`` (at least once), optionally with arguments: ``args``
    values must be equal, ``contains`` values must appear in the argument's text. E.g.
    ``ToolCalled("search", contains={"q": "Oslo"})``: called ``search`` with ``q`` containing
    ``Oslo``."""

    def __init__(
        self,
        tool: str,
        *,
        args: Mapping[str, Any] | None = None,
        contains: Mapping[str, str] | None = None,
    ) -> None:
        if not tool:
            raise UserError("ToolCalled needs a tool name")
        self.tool = tool
        self.args = dict(args or {})
        self.contains = dict(contains or {})
        self.name = f"tool:{tool}"

    def _matches(self, arguments: Any) -> bool:
        if not isinstance(arguments, dict):
            return not self.args and not self.contains
        for key, value in self.args.items():
            if key not in arguments or _plain(arguments[key]) != _plain(value):
                return False
        for key, needle in self.contains.items():
            if key not in arguments:
                return False
            got = arguments[key]
            text = got if isinstance(got, str) else json.dumps(_plain(got))
            if str(needle) not in text:
                return False
        return True

    def score(self, case: Case, run: CaseRun) -> Score:
        """Look through the run's tool calls."""
        calls = [c for c in run.tool_calls if c.tool_name == self.tool]
        if not calls:
            called = sorted({c.tool_name for c in run.tool_calls})
            return Score(False, f"{self.tool!r} was not called (called: {called or 'none'})")
        if any(self._matches(c.args) for c in calls):
            return Score(True)
        return Score(False, f"{self.tool!r} was called, never with the expected arguments")


class ExpectedToolCalls(Metric):
    """The tool calls a case expects, from the dataset: ``metadata["tools"]`` is a list of
    ``{"name": ..., "args": {...}, "contains": {...}}`` (args and contains optional), each of
    which must match a call of the run (as :class:`ToolCalled` matches). The score is the share
    matched; a case without ``metadata["tools"]`` is not scored. CLI name: ``tools``."""

    name = "tools"

    def score(self, case: Case, run: CaseRun) -> Score | None:
        """Match every expected call."""
        expected = case.metadata.get("tools")
        if expected is None:
            return None
        if not isinstance(expected, list) or not all(
            isinstance(e, dict) and isinstance(e.get("name"), str) for e in expected
        ):
            raise UserError(
                f"case {case.name!r}: metadata['tools'] must be a list of objects with a 'name' "
                "(and optional 'args' and 'contains')"
            )
        if not expected:
            return Score(1.0)
        missing: list[str] = []
        for item in expected:
            check = ToolCalled(item["name"], args=item.get("args"), contains=item.get("contains"))
            verdict = check.score(case, run)
            if not verdict.value:
                missing.append(verdict.reason or item["name"])
        found = len(expected) - len(missing)
        return Score(found / len(expected), "; ".join(missing) or None)


class MaxCost(Metric):
    """1 when the run cost at most ``usd`` (an unknown cost fails: it cannot be checked)."""

    def __init__(self, usd: float) -> None:
        if not math.isfinite(usd) or usd < 0:
            raise UserError(f"max_cost must be a finite number of USD >= 0, got {usd!r}")
        self.usd = usd
        self.name = f"max_cost:{usd:g}"

    def score(self, case: Case, run: CaseRun) -> Score:
        """Compare the run's cost with the limit."""
        if run.cost is None:
            return Score(False, "the run's cost is unknown (no price for its model)")
        ok = run.cost <= self.usd
        return Score(ok, None if ok else f"cost ${run.cost:.6f} > ${self.usd:g}")


class MaxLatency(Metric):
    """1 when the run took at most ``seconds`` of wall time."""

    def __init__(self, seconds: float) -> None:
        if not math.isfinite(seconds) or seconds <= 0:
            raise UserError(f"max_latency must be a number of seconds > 0, got {seconds!r}")
        self.seconds = seconds
        self.name = f"max_latency:{seconds:g}"

    def score(self, case: Case, run: CaseRun) -> Score:
        """Compare the run's latency with the limit."""
        ok = run.latency_ms <= self.seconds * 1000
        return Score(ok, None if ok else f"took {run.latency_ms / 1000:.3f}s > {self.seconds:g}s")


_CLI_NAMES = (
    "exact",
    "contains",
    "regex:<pattern>",
    "json",
    "numeric[:<tolerance>]",
    "tool:<name>",
    "tools",
    "max_cost:<usd>",
    "max_latency:<seconds>",
)


def _float_arg(name: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise UserError(f"metric {name!r} needs a number after ':', got {text!r}") from None


def _named(metric: Metric, spec: str) -> Metric:
    """A metric made from a CLI name is reported under that name as it was written
    (``max_cost:0.00001``, not ``max_cost:1e-05``), so ``report.mean(name)`` finds it."""
    metric.name = spec
    return metric


def metric_from_name(spec: str) -> Metric:
    """The metric a CLI name stands for: ``exact``, ``contains``, ``regex:<pattern>``, ``json``,
    ``numeric[:<tolerance>]``, ``tool:<name>``, ``tools``, ``max_cost:<usd>``,
    ``max_latency:<seconds>``."""
    head, sep, arg = spec.partition(":")
    if head == "exact" and not sep:
        return ExactMatch()
    if head == "contains" and not sep:
        return Contains()
    if head == "json" and not sep:
        return JsonValid()
    if head == "numeric":
        return _named(NumericTolerance(_float_arg(spec, arg)), spec) if sep else NumericTolerance()
    if head == "regex" and sep:
        return Regex(arg)
    if head == "tool" and arg:
        return ToolCalled(arg)
    if head == "tools" and not sep:
        return ExpectedToolCalls()
    if head == "max_cost" and sep:
        return _named(MaxCost(_float_arg(spec, arg)), spec)
    if head == "max_latency" and sep:
        return _named(MaxLatency(_float_arg(spec, arg)), spec)
    raise UserError(f"unknown metric {spec!r}: use one of {', '.join(_CLI_NAMES)}")
