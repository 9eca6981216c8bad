"""``GET /metrics``: Prometheus text exposition of the server's runs, tokens and cost."""

from __future__ import annotations

from ._manager import RunManager

__all__ = ["render_metrics"]


def render_metrics(manager: RunManager) -> str:
    """The metrics as Prometheus text (format 0.0.4)."""
    c = manager.counters
    lines = [
        "# HELP tether_runs_started_total Runs started by this process.",
        "# TYPE tether_runs_started_total counter",
        f"tether_runs_started_total {c.started}",
        "# HELP tether_runs_finished_total Runs that stopped in this process, by state.",
        "# TYPE tether_runs_finished_total counter",
    ]
    for state, count in sorted(c.finished.items()):
        lines.append(f'tether_runs_finished_total{{state="{state}"}} {count}')
    lines += [
        "# HELP tether_runs_in_flight Runs executing in this process now.",
        "# TYPE tether_runs_in_flight gauge",
        f"tether_runs_in_flight {manager.in_flight}",
        "# HELP tether_runs_taken_over_total Runs resumed here after their lease expired.",
        "# TYPE tether_runs_taken_over_total counter",
        f"tether_runs_taken_over_total {c.resumed_from_expired}",
        "# HELP tether_tokens_total Model tokens used by runs that stopped here.",
        "# TYPE tether_tokens_total counter",
        f'tether_tokens_total{{kind="input"}} {c.input_tokens}',
        f'tether_tokens_total{{kind="output"}} {c.output_tokens}',
        "# HELP tether_cost_usd_total Cost (USD) of runs that stopped here.",
        "# TYPE tether_cost_usd_total counter",
        f"tether_cost_usd_total {c.cost:.6f}",
    ]
    return "\n".join(lines) + "\n"
