"""What ``tether trace ...`` and the dashboard say about a trace beyond its spans.

- :func:`error_count`: how many things went wrong, counted once each: a failed tool is one
  error (not also its turn), a failed run with no failed step is one error.
- :func:`trace_agents`: every agent that acted in the trace (handoffs and subagents included).
- :func:`display_status`: a span's status as shown; a degraded run is not "ok".
- :func:`resolve_trace_id`: a unique prefix of a trace id stands for the whole id.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UserError

if TYPE_CHECKING:
    from ..tracing.spans import Span, Trace

__all__ = ["display_status", "error_count", "resolve_trace_id", "trace_agents"]

#: Spans that only group others: their error repeats a child's.
_CONTAINERS = ("turn",)


def _has_failed_child(span: Span) -> bool:
    return any(c.status == "error" or _has_failed_child(c) for c in span.children)


def error_count(trace: Trace) -> int:
    """Errors in the trace, each counted once (see the module docstring)."""
    count = 0
    for _depth, span in trace.walk():
        if span.status != "error" or span.kind in _CONTAINERS:
            continue
        if span.kind == "run" and _has_failed_child(span):
            continue  # the run failed because of that step: one error, already counted
        count += 1
    return count


def trace_agents(trace: Trace) -> list[str]:
    """The agents of the trace, the starting one first."""
    agents: list[str] = [trace.agent] if trace.agent else []
    for _depth, span in trace.walk():
        for key in ("agent", "to_agent", "from_agent"):
            name = span.attributes.get(key)
            if isinstance(name, str) and name and name not in agents:
                agents.append(name)
    return agents


def display_status(span: Span) -> str:
    """``ok``, ``error``, ``running``, or ``degraded`` for a run that ended degraded."""
    if span.kind == "run" and span.attributes.get("state") == "degraded":
        return "degraded"
    return span.status


def resolve_trace_id(directory: Path, trace_id: str) -> str:
    """The full id of the trace that ``trace_id`` names exactly or as a unique prefix."""
    from ..tracing.files import list_trace_files, trace_path

    if trace_path(directory, trace_id).is_file():
        return trace_id
    matches = sorted(
        f.trace_id for f in list_trace_files(directory) if f.trace_id.startswith(trace_id)
    )
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UserError(f"no trace {trace_id!r} in {directory} (list them with `tether trace ls`)")
    shown = ", ".join(matches[:5]) + (", …" if len(matches) > 5 else "")
    raise UserError(
        f"trace id {trace_id!r} is ambiguous: it starts {len(matches)} traces ({shown})"
    )
