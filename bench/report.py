"""The figures of a benchmark run, the one table they make, and bench/results/*.md."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PEER_COLUMNS = ("openai-agents", "pydantic-ai", "agno", "langgraph")


@dataclass(frozen=True)
class Row:
    """One line of the table: what is measured, its unit, and tether's goal if it has one."""

    key: str
    label: str
    unit: str
    goal: str = ""
    #: (figures) -> True when tether meets the goal, None when it cannot be told.
    check: Callable[[Figures], bool | None] | None = None


@dataclass
class Figures:
    """Every measured value: ``values[row][column]``; errors kept beside them."""

    values: dict[str, dict[str, float | None]] = field(default_factory=dict)
    errors: dict[str, dict[str, str]] = field(default_factory=dict)
    extras: list[tuple[str, Any]] = field(default_factory=list)
    floor_first_byte: float | None = None
    server_share: list[float] = field(default_factory=list)
    bare_rate: dict[str, float] = field(default_factory=dict)
    capacity: float | None = None
    burst_n: int = 1000

    def set(self, row: str, column: str, value: float | None, error: str | None = None) -> None:
        """Record one value (or why there is none)."""
        self.values.setdefault(row, {})[column] = value
        if error is not None:
            self.errors.setdefault(row, {})[column] = error

    def get(self, row: str, column: str) -> float | None:
        """A value, or None."""
        return self.values.get(row, {}).get(column)

    def ratio_rows(self, new: str, top: str, bottom: str) -> None:
        """``new[col] = top[col] / bottom[col]`` for every column that has both."""
        for column, value in self.values.get(top, {}).items():
            below = self.get(bottom, column)
            if value is not None and below:
                self.set(new, column, value / below)

    def same_as_default(self, prefix: str, suffixes: list[str]) -> None:
        """Fill the ``_httpx`` rows of the peers and the bare client from their default rows
        (their default transport is httpx); only tether is measured again there."""
        for suffix in suffixes:
            for column in (*PEER_COLUMNS, "bare"):
                value = self.get(f"{prefix}{suffix}", column)
                if value is not None:
                    self.set(f"{prefix}_httpx{suffix}", column, value)

    def extra(self, label: str, value: Any) -> None:
        """A tether-only figure from another benchmark module."""
        self.extras.append((label, value))

    def best_peer(self, row: str) -> float | None:
        """The lowest peer value of a row."""
        found = [v for c in PEER_COLUMNS if (v := self.get(row, c)) is not None]
        return min(found) if found else None


def _le(row: str, factor: float, against: str) -> Callable[[Figures], bool | None]:
    def check(f: Figures) -> bool | None:
        mine = f.get(row, "tether")
        other = f.best_peer(row) if against == "peer" else f.get(row, "bare")
        if mine is None or other is None:
            return None
        return mine <= factor * other

    return check


def _below(row: str, limit: float) -> Callable[[Figures], bool | None]:
    def check(f: Figures) -> bool | None:
        mine = f.get(row, "tether")
        return None if mine is None else mine <= limit

    return check


def _burst_cpu(row: str) -> Callable[[Figures], bool | None]:
    def check(f: Figures) -> bool | None:
        mine, bare = f.get(row, "tether"), f.get("burst_aio_cpu", "bare")
        return None if mine is None or bare is None else mine <= bare

    return check


def _mem(f: Figures) -> bool | None:
    mine = f.get("burst_mem", "tether")
    peers = [v for c in PEER_COLUMNS if (v := f.get("burst_mem", c)) is not None]
    return None if mine is None or not peers else mine < min(peers)


def _le_column(row: str, factor: float, column: str) -> Callable[[Figures], bool | None]:
    def check(f: Figures) -> bool | None:
        mine, other = f.get(row, "tether"), f.get(row, column)
        return None if mine is None or other is None else mine <= factor * other

    return check


ROWS: list[Row | str] = [
    "In process (each framework's test model; bare column: a plain asyncio loop, the floor)",
    Row("inproc_med", "run, median", "µs", "≤ 5x bare", _le("inproc_med", 5, "bare")),
    Row("inproc_mean", "run, mean", "µs"),
    Row("inproc_stream_med", "streamed run, median", "µs"),
    Row(
        "inproc_stream_ratio",
        "streamed / plain",
        "x",
        "≤ 1.10",
        _below("inproc_stream_ratio", 1.10),
    ),
    "Agent construction with one tool (Agno's own method: mean of timed calls, tracemalloc peak"
    " above an empty call)",
    Row(
        "construct_mean",
        "construction, mean",
        "µs",
        "≤ Agno",
        _le_column("construct_mean", 1, "agno"),
    ),
    Row("construct_med", "construction, median", "µs"),
    Row(
        "construct_mem", "memory per agent", "KiB", "≤ Agno", _le_column("construct_mem", 1, "agno")
    ),
    "HTTP, sequential, 0 ms model (bare column: the `openai` client by hand); each on its default"
    " transport (tether: aiohttp when installed; the others: httpx)",
    Row("http_mean", "run, mean", "ms"),
    Row("http_med", "run, median", "ms", "≤ 1.15x bare", _le("http_med", 1.15, "bare")),
    Row("http_cpu", "client CPU per run", "ms"),
    Row(
        "http_floor_med",
        "run, median (bare column: raw aiohttp, the floor)",
        "ms",
        "≤ 1.4x bare",
        _le("http_floor_med", 1.4, "bare"),
    ),
    Row(
        "http_aio_med",
        "run, median, all on aiohttp",
        "ms",
        "≤ 1.15x bare",
        _le("http_aio_med", 1.15, "bare"),
    ),
    Row("http_aio_cpu", "client CPU per run, all on aiohttp", "ms"),
    Row(
        "http_httpx_med",
        "run, median, all on httpx",
        "ms",
        "≤ 1.15x bare",
        _le("http_httpx_med", 1.15, "bare"),
    ),
    Row("http_httpx_cpu", "client CPU per run, all on httpx", "ms"),
    "HTTP, streamed, 0 ms model",
    Row("stream_med", "streamed run, median", "ms"),
    Row("stream_ratio", "streamed / plain", "x", "≤ 1.10", _below("stream_ratio", 1.10)),
    Row("ttft_med", "first text delta in user code", "ms"),
    Row("ttft_over_floor", "first delta / server first byte", "x"),
    "Burst: 1,000 runs at once, 50 ms model",
    Row("burst_wall", "wall time", "s"),
    Row("burst_cpu", "client CPU per run", "ms", "≤ 0.8 ms", _below("burst_cpu", 0.8)),
    Row("burst_aio_wall", "wall time, all on aiohttp", "s"),
    Row(
        "burst_aio_cpu",
        "client CPU per run, all on aiohttp",
        "ms",
        "≤ bare on aiohttp",
        _burst_cpu("burst_aio_cpu"),
    ),
    Row("burst_httpx_wall", "wall time, all on httpx", "s"),
    Row(
        "burst_httpx_cpu",
        "client CPU per run, all on httpx",
        "ms",
        "≤ bare on aiohttp",
        _burst_cpu("burst_httpx_cpu"),
    ),
    Row("burst_mem", "memory per in-flight run", "KiB", "< every peer", _mem),
    "Cold start (fresh processes)",
    Row("import_pkg", "`import` of the package", "ms", "< 100 ms", _below("import_pkg", 100)),
    Row(
        "import_agent",
        "`from tether import Agent` (bare column: `import pydantic`)",
        "ms",
        "≤ 1.2x bare",
        _le("import_agent", 1.2, "bare"),
    ),
    Row("import_basemodel", "`from pydantic import BaseModel` (bare column)", "ms"),
    Row(
        "import_model",
        "a pydantic model of one `Field`, deferred like Agent (bare column: the floor)",
        "ms",
    ),
    Row("first_answer", "spawn to first answer", "ms"),
]


def fmt(value: float | None, unit: str) -> str:
    """A value with its unit, rounded for reading."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "s":
        return f"{value:.2f} s"
    digits = 0 if value >= 100 else 1 if value >= 10 else 2
    return f"{value:.{digits}f} {unit}"


def table(f: Figures, peers: list[str]) -> str:
    """The one table: scenario, tether, each peer, bare client, ratios, goal."""
    head = [
        "scenario",
        "tether",
        *peers,
        "bare client",
        "tether / best peer",
        "tether / bare",
        "goal",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in ROWS:
        if isinstance(row, str):
            title = row.replace("1,000", f"{f.burst_n:,}")
            lines.append(f"| **{title}** |" + " |" * (len(head) - 1))
            continue
        if row.key not in f.values:
            continue
        cells = [row.label]
        for column in ("tether", *peers, "bare"):
            value = f.get(row.key, column)
            error = f.errors.get(row.key, {}).get(column)
            cells.append("error" if value is None and error else fmt(value, row.unit))
        mine, best, bare = f.get(row.key, "tether"), f.best_peer(row.key), f.get(row.key, "bare")
        ratio_ok = row.unit != "x"
        cells.append(fmt(mine / best, "x") if ratio_ok and mine is not None and best else "-")
        cells.append(fmt(mine / bare, "x") if ratio_ok and mine is not None and bare else "-")
        verdict = row.check(f) if row.check is not None else None
        mark = "" if verdict is None else (" met" if verdict else " **missed**")
        cells.append(f"{row.goal}{mark}" if row.goal else "")
        lines.append("| " + " | ".join(cells) + " |")
    for label, value in f.extras:
        shown = fmt(value, "x") if isinstance(value, int | float) else str(value)
        lines.append(f"| {label} | {shown} |" + " |" * (len(head) - 2))
    return "\n".join(lines)


def server_evidence(f: Figures) -> str:
    """Why the server was not the bottleneck, in numbers."""
    parts = []
    if f.capacity:
        parts.append(
            f"server capacity (raw client, 64 connections, same 2 cores): "
            f"{f.capacity:,.0f} requests/s"
        )
    for transport, rate in sorted(f.bare_rate.items()):
        transport = "httpx" if transport == "default" else transport
        share = f" ({rate / f.capacity:.1%} of it)" if f.capacity else ""
        parts.append(
            f"bare `openai` client in the burst ({transport}): {rate:,.0f} requests/s{share}"
        )
    if f.server_share:
        parts.append(f"server CPU during bursts: at most {max(f.server_share):.1%} of one core")
    if f.floor_first_byte is not None:
        parts.append(
            f"server first-byte floor of a streamed run (raw socket, both requests): "
            f"{f.floor_first_byte:.2f} ms"
        )
    return "\n".join(f"- {p}" for p in parts)


def markdown(
    table_text: str,
    evidence: str,
    notes: list[str],
    quoted: list[str],
    info: dict[str, str],
    versions: dict[str, str],
    mode: str,
    params: dict[str, Any],
    elapsed: float,
) -> str:
    """bench/results/latest.md."""
    shown = ", ".join(f"{k} {v}" for k, v in versions.items())
    out = [
        "# Benchmark results",
        "",
        f"- date: {info['date']} (commit {info['commit']}, mode `{mode}`, {elapsed:.0f} s)",
        f"- machine: {info['machine']}; {info['os']}; Python {info['python']}",
        f"- versions: {shown}",
        f"- counts: `{json.dumps(params)}`",
        "",
        "Reproduce with `make bench` (or `python bench/run.py --quick`). Lower is better",
        "everywhere; ratios are tether's figure over the other's. One run = prompt -> the model",
        "asks for `add(1, 2)` -> the tool runs -> the model answers.",
        "",
        table_text,
        "",
        "## The server was not the bottleneck",
        "",
        evidence,
    ]
    if notes:
        out += ["", "## Notes", "", *(f"- {n}" for n in notes)]
    if quoted:
        out += ["", "## tether only", "", *quoted]
    return "\n".join(out) + "\n"
