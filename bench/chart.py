"""Draw the side-by-side figures of a results table as an SVG bar chart (no plotting library).

    python bench/chart.py [bench/results/latest.md] [docs/assets/bench-chart.svg]

For each chosen scenario, one bar per framework, its length relative to the slowest framework of
that scenario (shorter is better), labelled with the measured figure. `bench/run.py` calls it after
a full run, so the chart in docs/benchmarks.md follows the table.
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# (section heading starts with, row label, title on the chart)
SCENARIOS = (
    ("In process", "run, median", "in-process run (median)"),
    ("HTTP, sequential", "run, median", "HTTP run, 0 ms model (median)"),
    ("HTTP, streamed", "streamed run, median", "HTTP streamed run (median)"),
    ("Burst", "client CPU per run", "1,000-run burst: CPU per run"),
    ("Burst", "memory per in-flight run", "memory per in-flight run"),
)
FRAMEWORKS = ("tether", "openai-agents", "pydantic-ai", "agno", "langgraph")
COLOURS = {
    "tether": "#3f51b5",
    "openai-agents": "#9e9e9e",
    "pydantic-ai": "#bdbdbd",
    "agno": "#757575",
    "langgraph": "#e0e0e0",
}
_UNITS = {"µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0, "KiB": 1.0, "MiB": 1024.0, "B": 1 / 1024}


def _value(cell: str) -> float | None:
    match = re.fullmatch(r"\s*([\d.,]+)\s*(µs|us|ms|s|KiB|MiB|B)\s*", cell)
    if match is None:
        return None
    return float(match.group(1).replace(",", "")) * _UNITS[match.group(2)]


def read_table(markdown: str) -> list[tuple[str, dict[str, str]]]:
    """(title, {framework: figure}) for each scenario found in a results table."""
    header: list[str] = []
    section = ""
    found: list[tuple[str, dict[str, str]]] = []
    for line in markdown.splitlines():
        if not line.startswith("|") or set(line) <= {"|", "-", " "}:
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] == "scenario":
            header = cells
            continue
        if cells[0].startswith("**"):
            section = cells[0].strip("*")
            continue
        for starts, label, title in SCENARIOS:
            if section.startswith(starts) and cells[0] == label and header:
                row = dict(zip(header, cells, strict=False))
                found.append((title, {f: row[f] for f in FRAMEWORKS if f in row}))
    return found


def render(rows: list[tuple[str, dict[str, str]]]) -> str:
    """The SVG document for the rows."""
    bar_h, gap, label_w, bar_w = 16, 30, 250, 420
    height = 40 + len(rows) * (len(FRAMEWORKS) * bar_h + gap)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 120}" '
        f'height="{height}" font-family="sans-serif" font-size="12">',
        '<text x="4" y="18" font-weight="bold">tether vs peers, same run, same machine '
        "(shorter is better)</text>",
    ]
    y = 36
    for title, figures in rows:
        values = {f: _value(v) for f, v in figures.items()}
        longest = max((v for v in values.values() if v), default=1.0)
        out.append(f'<text x="4" y="{y + 12}">{html.escape(title)}</text>')
        for framework in FRAMEWORKS:
            value = values.get(framework)
            width = 0 if not value else max(2, int(bar_w * value / longest))
            out.append(
                f'<rect x="{label_w}" y="{y}" width="{width}" height="{bar_h - 3}" '
                f'fill="{COLOURS[framework]}"><title>{framework}</title></rect>'
            )
            text = f"{framework}: {figures.get(framework, 'n/a')}"
            out.append(f'<text x="{label_w + width + 6}" y="{y + 11}">{html.escape(text)}</text>')
            y += bar_h
        y += gap
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    """Write the chart; returns the exit code."""
    source = Path(argv[0]) if argv else HERE / "results" / "latest.md"
    target = Path(argv[1]) if len(argv) > 1 else HERE.parent / "docs" / "assets" / "bench-chart.svg"
    rows = read_table(source.read_text())
    if not rows:
        print(f"chart: no known scenario in {source}", file=sys.stderr)
        return 1
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(rows))
    print(f"chart: {len(rows)} scenarios -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
