"""Spans derived from the event log: run -> turn -> model / tool / handoff / guardrail / subagent.

:class:`SpanBuilder` consumes events one at a time and reports which spans opened and closed, so
live exporters (OpenTelemetry, the console) follow a run as it goes; :func:`build_trace` folds a
whole recorded log (one or more runs of a trace) into a :class:`Trace` for the CLI and the
dashboard. Nothing here is recorded separately: every timing, usage figure and error comes from
the events.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..events import Event
from ..messages import message_to_dict, part_to_dict
from ..results import TERMINAL_STATES, RunState
from ._span import Span, SpanChange, SpanKind, add_usage, usage_dict

__all__ = ["Span", "SpanBuilder", "SpanChange", "Trace", "build_trace"]

_FAILED_STATES = frozenset({"failed", "cancelled", "interrupted"})
_WAITING_STATES = frozenset({"awaiting_approval", "awaiting_input", "awaiting_deferred"})


@dataclass(slots=True)
class _RunCursor:
    """What is open in one run while its events are fed."""

    span: Span
    turn: Span | None = None
    model: Span | None = None
    tools: dict[str, Span] = field(default_factory=dict)
    approvals: dict[str, Span] = field(default_factory=dict)
    handoffs: dict[str, Span] = field(default_factory=dict)
    subagents: dict[str, Span] = field(default_factory=dict)
    state: RunState | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    #: What each waiting subagent had spent when it stopped (counted already), by call id.
    waiting: dict[str, Any] = field(default_factory=dict)


class SpanBuilder:
    """Turns events (of one or several runs) into spans, reporting each start and end.

    ``fold_messages=True`` also keeps each run's messages so every model span carries the
    messages of its request (``attributes["input"]``): the dashboard and replay use it; live
    exporters leave it off.
    """

    def __init__(self, *, fold_messages: bool = False) -> None:
        self.fold_messages = fold_messages
        self.spans: dict[str, Span] = {}
        self.roots: list[Span] = []
        self.runs: dict[str, _RunCursor] = {}

    # -- bookkeeping ---------------------------------------------------------------------------

    def _new(
        self,
        changes: list[SpanChange],
        parent: Span | None,
        kind: SpanKind,
        name: str,
        ev: Event,
        start: float | None = None,
        **attributes: Any,
    ) -> Span:
        span_id = f"{ev.run_id}:{kind}:{ev.seq}"
        while span_id in self.spans:  # a crash can reuse the seq of an event never stored
            span_id += "'"
        span = Span(
            span_id,
            parent.span_id if parent else None,
            kind,
            name,
            ev.run_id,
            ev.at if start is None else start,
            attributes=attributes,
        )
        self.spans[span_id] = span
        if parent is not None:
            parent.children.append(span)
        else:
            self.roots.append(span)
        changes.append(("start", span))
        return span

    def forget(self, run_id: str) -> None:
        """Drop a finished run's spans (live exporters call it so memory stays bounded)."""
        cursor = self.runs.pop(run_id, None)
        if cursor is not None and cursor.span in self.roots:
            self.roots.remove(cursor.span)
        for span_id in [k for k, span in self.spans.items() if span.run_id == run_id]:
            del self.spans[span_id]

    def _reparent(self, span: Span, parent: Span) -> None:
        if span.parent_id == parent.span_id:
            return
        old = self.spans.get(span.parent_id) if span.parent_id else None
        siblings = old.children if old is not None else self.roots
        if span in siblings:
            siblings.remove(span)
        span.parent_id = parent.span_id
        parent.children.append(span)

    @staticmethod
    def _where(cursor: _RunCursor) -> Span:
        return cursor.turn if cursor.turn is not None and cursor.turn.end is None else cursor.span

    # -- the fold ------------------------------------------------------------------------------

    def feed(self, ev: Event) -> list[SpanChange]:
        """Take one event; returns the spans it started and ended, in order."""
        changes: list[SpanChange] = []
        kind = ev.type
        cursor = self.runs.get(ev.run_id)
        if cursor is None and kind != "run_started":
            if kind == "run_resumed":
                cursor = self._open_run(changes, ev, resumed=True)
            else:
                return changes  # a fragment of a run whose start we never saw
        if cursor is not None and cursor.state is not None:
            cursor.state.apply(ev)
        handler = getattr(self, f"_on_{kind}", None)
        if handler is not None:
            handler(changes, cursor, ev)
        return changes

    def _open_run(self, changes: list[SpanChange], ev: Any, resumed: bool) -> _RunCursor:
        parent: Span | None = None
        parent_run = getattr(ev, "parent_run_id", None)
        if parent_run is not None and parent_run in self.runs:
            pc = self.runs[parent_run]
            open_tools = [s for s in pc.tools.values() if s.end is None]
            parent = open_tools[0] if len(open_tools) == 1 else self._where(pc)
        agent = getattr(ev, "agent", "") or ""
        name = f"run {agent}" if agent else "run (resumed)"
        cursor = _RunCursor(span=self._new(changes, parent, "run", name, ev))
        if self.fold_messages:
            cursor.state = RunState(ev.run_id)
        self.runs[ev.run_id] = cursor
        if resumed:
            cursor.span.attributes["resumed"] = True
        return cursor

    def _on_run_started(
        self, changes: list[SpanChange], cursor: _RunCursor | None, ev: Any
    ) -> None:
        if cursor is None:
            cursor = self._open_run(changes, ev, resumed=False)
            if cursor.state is not None:
                cursor.state.apply(ev)
        cursor.span.attributes.update(
            agent=ev.agent,
            trace_id=ev.trace_id or ev.run_id,
            thread_id=ev.thread_id,
            parent_run_id=ev.parent_run_id,
            workflow_name=ev.workflow_name,
            group_id=ev.group_id,
            metadata=ev.metadata,
            max_turns=ev.max_turns,
            max_cost=ev.max_cost,
            input=[message_to_dict(m) for m in ev.input],
            history_messages=len(ev.history),
        )

    def _on_run_resumed(self, changes: list[SpanChange], cursor: _RunCursor, ev: Any) -> None:
        span = cursor.span
        if ev.from_checkpoint and span.end is not None:
            span.end = None  # a stopped run goes on: its span is open again
            span.status = "running"
            changes.append(("start", span))
            turn = cursor.turn
            if turn is not None and turn.end is not None:  # and so does the turn it stopped in
                turn.end = None  # (its calls that waited run in it)
                turn.status = "running"
                changes.append(("start", turn))
        span.attributes.setdefault("resumes", []).append(ev.at)

    def _on_turn_started(self, changes: list[SpanChange], cursor: _RunCursor, ev: Any) -> None:
        self._end_turn(changes, cursor, ev.at)
        cursor.turn = self._new(
            changes, cursor.span, "turn", f"turn {ev.turn}", ev, turn=ev.turn, agent=ev.agent
        )
        cursor.model = self._new(
            changes,
            cursor.turn,
            "model",
            f"model {ev.model}",
            ev,
            model=ev.model,
            agent=ev.agent,
            turn=ev.turn,
        )
        if cursor.state is not None:
            cursor.model.attributes["input"] = [message_to_dict(m) for m in cursor.state.messages]

    def _end_turn(self, changes: list[SpanChange], cursor: _RunCursor, at: float) -> None:
        turn = cursor.turn
        if turn is not None and turn.end is None:
            failed = any(c.status == "error" for c in turn.children if c.kind != "guardrail")
            turn.close(at, "error" if failed else "ok")
            changes.append(("end", turn))

    def _runtime_note(self, cursor: _RunCursor, ev: Event) -> None:
        target = cursor.model if cursor.model is not None else cursor.span
        note = ev.to_dict()
        for key in ("run_id", "seq"):
            note.pop(key, None)
        target.attributes.setdefault("events", []).append(note)

    def _on_history_summarized(
        self, changes: list[SpanChange], cursor: _RunCursor, ev: Any
    ) -> None:
        """A summary written outside the loop is a model call of the run: a model span."""
        usage = usage_dict(ev.usage)
        add_usage(cursor.usage, usage)
        span = self._new(
            changes,
            self._where(cursor),
            "model",
            f"summary {ev.model}".strip(),
            ev,
            model=ev.model,
            agent=ev.agent,
            usage=usage,
            summary=ev.summary,
            summarized_messages=ev.messages,
        )
        span.close(ev.at)
        changes.append(("end", span))

    def _on_model_retry(self, changes: list[SpanChange], cursor: _RunCursor, ev: Any) -> None:
        self._runtime_note(cursor, ev)

    _on_model_fallback = _on_model_retry
    _on_model_cache_hit = _on_model_retry

    def _on_model_response(self, changes: list[SpanChange], cursor: _RunCursor, ev: Any) -> None:
        span = cursor.model
        if span is None or span.end is not None:
            parent = self._where(cursor)
            span = self._new(
                changes,
                parent,
                "model",
                f"model {ev.model}",
                ev,
                start=ev.at - ev.latency_ms / 1000,
                model=ev.model,
                turn=ev.turn,
            )
        usage = usage_dict(ev.usage)
        add_usage(cursor.usage, usage)
        span.name = f"model {ev.model}"
        span.attributes.update(
            model=ev.model,
            agent=ev.agent,
            usage=usage,
            finish_reason=ev.finish_reason,
            response_id=ev.response_id,
            latency_ms=ev.latency_ms,
            output=[part_to_dict(p) for p in ev.parts],
            tool_calls=[p.name for p in ev.parts if p.kind == "tool_call"],
        )
        span.close(ev.at)
        changes.append(("end", span))
        cursor.model = None

    def _on_tool_call_started(self, changes: list[SpanChange], cursor: _RunCursor, ev: Any) -> None:
        if ev.call_id in cursor.handoffs:  # a handoff's call: its span is the handoff's
            return
        waited = cursor.tools.get(ev.call_id)
        if waited is not None:
            if waited.end is not None:  # the call the run stopped in goes on
                waited.end, waited.status = None, "running"
                changes.append(("start", waited))
            # else a subagent's call that waited in the run starts again: the same span
            return
        cursor.tools[ev.call_id] = self._new(
            changes,
            self._where(cursor),
            "tool",
            f"tool {ev.tool_name}",
            ev,
            tool_name=ev.tool_name,
            call_id=ev.call_id,
            args=ev.args,
            agent=ev.agent,
        )

    def _on_tool_call_finished(
        self, changes: list[SpanChange], cursor: _RunCursor, ev: Any
    ) -> None:
        handoff = cursor.handoffs.get(ev.call_id)
        if handoff is not None:
            handoff.attributes["result"] = ev.content
            return
        span = cursor.tools.pop(ev.call_id, None)
        if span is None:
            span = self._new(
                changes,
                self._where(cursor),
                "tool",
                f"tool {ev.tool_name}",
                ev,
                start=ev.at - ev.latency_ms / 1000,
                tool_name=ev.tool_name,
                call_id=ev.call_id,
                args=ev.args,
                agent=ev.agent,
            )
        sub = cursor.subagents.pop(ev.call_id, None)
        if sub is not None:
            span.kind = "subagent"
            span.name = f"subagent {sub.attributes['child_agent']}"
            span.attributes.update(sub.attributes)
        span.attributes.update(
            content=ev.content, output=ev.output, error_kind=ev.error_kind, latency_ms=ev.latency_ms
        )
        failed = ev.error is not None and ev.error_kind != "skipped"
        span.close(ev.at, "error" if failed else "ok", ev.error)
        changes.append(("end", span))

    def _on_subagent_suspended(
        self, changes: list[SpanChange], cursor: _RunCursor, ev: Any
    ) -> None:
        self._child_spent(cursor, ev)
        cursor.waiting[ev.call_id] = ev.usage

    def _child_spent(self, cursor: _RunCursor, ev: Any) -> dict[str, Any]:
        """Count what a subagent spent since it last stopped to wait (as RunState does)."""
        before = cursor.waiting.pop(ev.call_id, None)
        spent = ev.usage.minus(before) if ev.usage is not None and before is not None else ev.usage
        add_usage(cursor.usage, usage_dict(spent))
        return usage_dict(ev.usage)

    def _on_subagent_finished(self, changes: list[SpanChange], cursor: _RunCursor, ev: Any) -> None:
        usage = self._child_spent(cursor, ev)
        attrs = {
            "child_agent": ev.agent,
            "child_run_id": ev.child_run_id,
            "child_state": ev.state,
            "child_usage": usage,
        }
        span = cursor.tools.get(ev.call_id)
        if span is not None:
            span.attributes.update(attrs)
            cursor.subagents[ev.call_id] = span
            child = self.runs.get(ev.child_run_id)
            if child is not None:
                self._reparent(child.span, span)

    def _on_handoff(self, changes: list[SpanChange], cursor: _RunCursor, ev: Any) -> None:
        span = self._new(
            changes,
            self._where(cursor),
            "handoff",
            f"handoff {ev.from_agent} → {ev.to_agent}",
            ev,
            from_agent=ev.from_agent,
            to_agent=ev.to_agent,
            call_id=ev.call_id,
        )
        span.close(ev.at)
        changes.append(("end", span))
        if ev.call_id is not None:
            cursor.handoffs[ev.call_id] = span

    def _on_guardrail_passed(self, changes: list[SpanChange], cursor: _RunCursor, ev: Any) -> None:
        """A guardrail's check (passed, or tripped: the span is an error), ending at ``at``."""
        span = self._new(
            changes,
            self._where(cursor),
            "guardrail",
            f"guardrail {ev.guardrail}",
            ev,
            start=ev.at - ev.latency_ms / 1000,
            guardrail=ev.guardrail,
            guardrail_kind=ev.kind,
            info=ev.info,
            latency_ms=ev.latency_ms,
        )
        if ev.type == "guardrail_tripped":
            span.close(ev.at, "error", f"{ev.kind} guardrail {ev.guardrail!r} tripped")
        else:
            span.close(ev.at)
        changes.append(("end", span))

    _on_guardrail_tripped = _on_guardrail_passed

    def _on_approval_requested(
        self, changes: list[SpanChange], cursor: _RunCursor, ev: Any
    ) -> None:
        cursor.approvals[ev.call_id] = self._new(
            changes,
            self._where(cursor),
            "approval",
            f"approval {ev.tool_name}",
            ev,
            tool_name=ev.tool_name,
            call_id=ev.call_id,
            args=ev.args,
        )

    def _on_approval_decided(self, changes: list[SpanChange], cursor: _RunCursor, ev: Any) -> None:
        span = cursor.approvals.pop(ev.call_id, None)
        if span is not None:
            span.attributes.update(approved=ev.approved, reason=ev.reason)
            was_open = span.end is None
            span.close(ev.at)  # a run that stopped to wait: the wait lasts until the decision
            if was_open:
                changes.append(("end", span))

    def _on_output_retry(self, changes: list[SpanChange], cursor: _RunCursor, ev: Any) -> None:
        where = self._where(cursor)
        where.attributes.setdefault("output_retries", []).append(
            {"reason": ev.reason, "message": ev.message}
        )

    def _on_progress(self, changes: list[SpanChange], cursor: _RunCursor, ev: Any) -> None:
        cursor.span.attributes.update(progress_percent=ev.progress_percent, cost=ev.cost)

    def _on_run_finished(self, changes: list[SpanChange], cursor: _RunCursor, ev: Any) -> None:
        at = ev.at
        error = ev.error
        if cursor.model is not None and cursor.model.end is None:
            cursor.model.close(at, "error", error or "no response")
            changes.append(("end", cursor.model))
            cursor.model = None
        waiting = ev.state in _WAITING_STATES
        for span in (*cursor.tools.values(), *cursor.approvals.values()):
            if span.end is None:
                status = "ok" if waiting else "error"
                span.close(at, status, None if waiting else f"run ended {ev.state}")
                changes.append(("end", span))
        if not waiting:  # else kept: a resume decides them and goes on with the calls
            cursor.tools.clear()
            cursor.approvals.clear()
        self._end_turn(changes, cursor, at)
        span = cursor.span
        span.attributes.update(
            state=ev.state,
            final_text=ev.final_text,
            output=ev.output,
            error_type=ev.error_type,
            degraded_reasons=ev.degraded_reasons,
            interrupted_calls=ev.interrupted_calls,
            usage=dict(cursor.usage),
        )
        span.close(at, "error" if ev.state in _FAILED_STATES else "ok", error)
        changes.append(("end", span))


@dataclass(slots=True)
class Trace:
    """A trace: the spans of one or more runs (a run and its subagents) with totals."""

    trace_id: str
    roots: list[Span]
    run_ids: list[str]
    agent: str
    #: The root run's state: ``running`` while it has not finished.
    state: str
    started_at: float
    ended_at: float | None
    usage: dict[str, Any]
    errors: int
    tools: list[str]
    workflow_name: str | None = None
    group_id: str | None = None
    metadata: dict[str, Any] | None = None

    @property
    def duration_ms(self) -> float | None:
        """Wall time of the trace (None while running)."""
        return None if self.ended_at is None else (self.ended_at - self.started_at) * 1000

    @property
    def cost(self) -> float | None:
        """Total cost in USD of every model call in the trace (None when a price is unknown;
        the same figure as the Result's ``usage.cost``)."""
        if "cost" not in self.usage:
            return 0.0 if not self.usage.get("requests") else None
        cost = self.usage["cost"]
        return None if cost is None else float(cost)

    def walk(self) -> Iterator[tuple[int, Span]]:
        """Every span, depth first, with its depth."""
        for root in self.roots:
            yield from root.walk()

    def summary(self) -> dict[str, Any]:
        """The trace without its spans (for listings)."""
        return {
            "trace_id": self.trace_id,
            "agent": self.agent,
            "state": self.state,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration_ms": self.duration_ms,
            "usage": self.usage,
            "cost": self.cost,
            "errors": self.errors,
            "tools": self.tools,
            "runs": self.run_ids,
            "workflow_name": self.workflow_name,
            "group_id": self.group_id,
            "metadata": self.metadata,
        }

    def to_dict(self) -> dict[str, Any]:
        """The trace as a JSON-ready document, spans included."""
        return {**self.summary(), "spans": [r.to_dict() for r in self.roots]}


def _link_subagents(builder: SpanBuilder) -> None:
    """Nest each child run under the span of the parent that started it (by time)."""
    for cursor in builder.runs.values():
        span = cursor.span
        parent_run = span.attributes.get("parent_run_id")
        if parent_run is None or parent_run not in builder.runs:
            continue
        linked = next(
            (s for s in builder.spans.values() if s.attributes.get("child_run_id") == span.run_id),
            None,
        )
        if linked is None:
            parent = builder.runs[parent_run].span
            linked = parent
            for _depth, candidate in parent.walk():
                if (
                    candidate.kind == "turn"
                    and candidate.start <= span.start
                    and (candidate.end is None or candidate.end >= span.start)
                ):
                    linked = candidate
        builder._reparent(span, linked)


def build_trace(
    events: Iterable[Event], *, trace_id: str | None = None, fold_messages: bool = True
) -> Trace:
    """Fold the events of a trace (any order across runs) into a :class:`Trace`."""
    by_run: dict[str, list[Event]] = {}
    for event in events:
        by_run.setdefault(event.run_id, []).append(event)
    runs = sorted(by_run.values(), key=lambda evs: min(e.at for e in evs))
    builder = SpanBuilder(fold_messages=fold_messages)
    for run_events in runs:
        run_events.sort(key=lambda e: e.seq)
        for event in run_events:
            builder.feed(event)
    _link_subagents(builder)
    roots = builder.roots
    root = roots[0] if roots else None
    attrs = root.attributes if root is not None else {}
    usage: dict[str, Any] = {}
    tools: list[str] = []
    errors = 0
    for span in builder.spans.values():
        if span.kind == "model":
            add_usage(usage, span.attributes.get("usage", {}))
        elif span.kind in ("tool", "subagent"):
            name = span.attributes.get("tool_name")
            if name and name not in tools:
                tools.append(name)
        if span.status == "error":
            errors += 1
    state = str(attrs.get("state", "running")) if root is not None and root.end else "running"
    if state not in TERMINAL_STATES and state != "awaiting_approval":
        state = "running"
    ends = [r.end for r in roots]
    return Trace(
        trace_id=trace_id or str(attrs.get("trace_id") or (root.run_id if root else "")),
        roots=roots,
        run_ids=[r[0].run_id for r in runs],
        agent=str(attrs.get("agent", "")),
        state=state,
        started_at=min((r.start for r in roots), default=0.0),
        ended_at=None if not ends or None in ends else max(e for e in ends if e is not None),
        usage=usage,
        errors=errors,
        tools=tools,
        workflow_name=attrs.get("workflow_name"),
        group_id=attrs.get("group_id"),
        metadata=attrs.get("metadata"),
    )
