"""Span trees as rich renderables (the console exporter and ``tether trace show``)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .redact import scrub_secrets
from .spans import Span, Trace

if TYPE_CHECKING:
    from rich.tree import Tree

__all__ = ["format_cost", "format_ms", "span_label", "span_tree", "trace_header"]

_ICONS = {
    "run": "▶",
    "turn": "↻",
    "model": "◆",
    "tool": "⚙",
    "subagent": "⇲",
    "handoff": "⇄",
    "guardrail": "⛨",
    "approval": "✋",
}
_STYLES = {"ok": "green", "error": "bold red", "running": "yellow"}


def format_ms(ms: float | None) -> str:
    """``12.3 ms`` / ``1.20 s`` (``…`` while running)."""
    if ms is None:
        return "…"
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.1f} ms"


def format_cost(cost: float | None) -> str:
    """A USD cost with enough digits for cheap calls."""
    if cost is None:
        return "$?"
    return f"${cost:.6f}" if cost < 0.01 else f"${cost:.4f}"


def _preview(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=repr)
    text = scrub_secrets(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def span_label(span: Span, now: float | None = None) -> str:
    """One line of rich markup: icon, name, duration, usage or error."""
    from rich.markup import escape

    attrs = span.attributes
    duration = span.duration_ms
    if duration is None and now is not None:
        duration = None if span.end is None and now < span.start else (now - span.start) * 1000
    style = _STYLES.get(span.status, "white")
    parts = [
        f"[{style}]{_ICONS.get(span.kind, '•')}[/] [bold]{escape(span.name)}[/]",
        f"[dim]{format_ms(duration)}[/]",
    ]
    usage = attrs.get("usage")
    if span.kind == "model" and usage:
        parts.append(
            f"[cyan]{usage.get('input_tokens', 0)}→{usage.get('output_tokens', 0)} tok[/]"
            f" [magenta]{format_cost(usage.get('cost'))}[/]"
        )
    if span.kind in ("tool", "subagent") and "args" in attrs and span.status != "error":
        parts.append(f"[dim]{escape(_preview(attrs.get('args')))}[/]")
    if span.kind == "run" and attrs.get("state"):
        parts.append(f"[{style}]{attrs['state']}[/]")
    if span.error:
        parts.append(f"[red]{escape(_preview(span.error, 100))}[/]")
    return " ".join(parts)


def span_tree(roots: Iterable[Span], label: str = "trace", now: float | None = None) -> Tree:
    """A rich Tree of the spans."""
    from rich.tree import Tree

    tree = Tree(label)

    def add(node: Tree, span: Span) -> None:
        branch = node.add(span_label(span, now))
        for child in span.children:
            add(branch, child)

    for root in roots:
        add(tree, root)
    return tree


def trace_header(trace: Trace) -> str:
    """The first line of a shown trace: id, agent, state, time, tokens, cost."""
    from rich.markup import escape

    usage = trace.usage
    style = _STYLES.get(
        "error"
        if trace.state in ("failed", "cancelled", "interrupted")
        else "running"
        if trace.state == "running"
        else "ok"
    )
    now = time.time() if trace.ended_at is None else None
    duration = trace.duration_ms if now is None else (now - trace.started_at) * 1000
    return (
        f"[bold]trace {escape(trace.trace_id)}[/] · {escape(trace.agent)} · "
        f"[{style}]{trace.state}[/] · {format_ms(duration)} · "
        f"{usage.get('input_tokens', 0)}→{usage.get('output_tokens', 0)} tokens · "
        f"{format_cost(trace.cost)} · {trace.errors} error(s)"
    )
