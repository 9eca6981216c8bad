"""How the CLI shows a run on the terminal: streamed text, tool calls, approvals, a usage line."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from ..events import Event
    from ..results import Result
    from ..usage import Usage

__all__ = [
    "EventPrinter",
    "compact",
    "print_waiting",
    "result_waiting_lines",
    "usage_line",
    "waiting_lines",
]


def compact(value: Any, limit: int = 120) -> str:
    """A one-line preview of a value (JSON for structures), cut at ``limit`` characters."""
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, default=repr)
        except (TypeError, ValueError):
            text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def usage_line(usage: Usage, turns: int | None = None) -> str:
    """``2 turns · 3 requests · 120 in / 30 out tokens · $0.0012``."""
    from ..tracing.render import format_cost

    pieces = []
    if turns is not None:
        pieces.append(f"{turns} turn{'s' if turns != 1 else ''}")
    pieces.append(f"{usage.requests} request{'s' if usage.requests != 1 else ''}")
    pieces.append(f"{usage.input_tokens} in / {usage.output_tokens} out tokens")
    pieces.append(format_cost(usage.cost))
    return " · ".join(pieces)


def waiting_lines(
    run_id: str,
    *,
    approvals: Iterable[tuple[str, str]] = (),
    inputs: Iterable[tuple[str, str, str]] = (),
    deferred: Mapping[str, str] | None = None,
    cut_short: Iterable[tuple[str, str | None]] = (),
    flags: str = "",
) -> list[str]:
    """What a run waiting for a person waits for (``approvals``: call id and tool, ``inputs``:
    call id, tool and question, ``deferred``: call id to ticket, ``cut_short``: call id and
    idempotency key of a call a crash cut short), each with the command that gives it: plain
    text, one command a line, ``flags`` (see ``command_flags``) added to each."""
    from shlex import quote

    rid = quote(run_id)
    lines: list[str] = []
    for call_id, tool in approvals:
        call = quote(call_id)
        lines += [
            f"run {run_id} waits for approval of {tool} (call {call_id}):",
            f"  tether runs approve {rid} {call}{flags}",
            f'  tether runs approve {rid} {call} --reject --reason "why"{flags}',
        ]
    for call_id, tool, prompt in inputs:
        lines += [
            f"run {run_id} waits for an answer to {tool}'s question {compact(prompt)!r} "
            f"(call {call_id}):",
            f'  tether runs answer {rid} {quote(call_id)} "the answer"{flags}',
        ]
    for call_id, ticket in (deferred or {}).items():
        lines += [
            f"run {run_id} waits for the result of call {call_id} (ticket {ticket}; "
            "as text, or add --json for a JSON result, --error when the call failed):",
            f'  tether runs deliver {rid} {quote(call_id)} "the result"{flags}',
        ]
    for call_id, key in cut_short:
        call = quote(call_id)
        by_key = f" (idempotency key {key})" if key else ""
        lines += [
            f"run {run_id} stopped with call {call_id} cut short{by_key}: check whether it took "
            "effect, then run it again, or tell the model what happened:",
            f"  tether runs approve {rid} {call}{flags}",
            f'  tether runs approve {rid} {call} --reject --reason "what happened"{flags}',
        ]
    return lines


def result_waiting_lines(result: Result[Any], flags: str = "") -> list[str]:
    """:func:`waiting_lines` for a run's Result."""
    return waiting_lines(
        result.run_id,
        approvals=[(p.call_id, p.tool_name) for p in result.pending_approvals],
        inputs=[(q.call_id, q.tool_name, q.prompt) for q in result.pending_inputs],
        deferred=result.deferred,
        cut_short=[(c, result.interrupted_keys.get(c)) for c in result.interrupted_calls],
        flags=flags,
    )


def print_waiting(console: Console, result: Result[Any], flags: str = "") -> None:
    """Print :func:`result_waiting_lines` (plain: a command is pasted as it is printed)."""
    for line in result_waiting_lines(result, flags):
        console.print(line, markup=False, highlight=False)


_STATE_STYLE = {
    "completed": "green",
    "degraded": "yellow",
    "awaiting_approval": "yellow",
    "awaiting_input": "yellow",
    "awaiting_deferred": "yellow",
}


class EventPrinter:
    """Prints a run's events as they come: the answer streamed, tools compact, approvals."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._streamed_turn: int | None = None
        self._at_line_start = True
        # (run id, call id) of calls whose subagent waits: the call starts again in the log when
        # it continues (docs/decisions.md, "Subagents that wait"), which is no new call to show;
        # keyed by run too, since call ids restart in every run (the next message of a chat)
        self._suspended: set[tuple[str, str]] = set()

    def _newline(self) -> None:
        if not self._at_line_start:
            self.console.file.write("\n")
            self.console.file.flush()
            self._at_line_start = True

    def _line(self, markup: str) -> None:
        self._newline()
        self.console.print(markup)

    def on(self, event: Event) -> None:
        """Show one event (events the terminal has no use for are ignored)."""
        from rich.markup import escape

        kind = event.type
        if kind == "text_delta":
            delta: str = getattr(event, "delta", "")
            if delta:
                self._streamed_turn = getattr(event, "turn", 0)
                self.console.file.write(delta)
                self.console.file.flush()
                self._at_line_start = delta.endswith("\n")
        elif kind == "model_response":
            turn = getattr(event, "turn", 0)
            if self._streamed_turn != turn:  # not streamed: show the text at once
                text = "".join(
                    getattr(p, "text", "")
                    for p in getattr(event, "parts", [])
                    if getattr(p, "kind", getattr(p, "type", "")) == "text"
                )
                if text:
                    self._newline()
                    self.console.file.write(text)
                    self.console.file.flush()
                    self._at_line_start = text.endswith("\n")
            self._newline()
        elif kind == "subagent_suspended":
            self._suspended.add((event.run_id, getattr(event, "call_id", "")))
        elif kind == "tool_call_started":
            call = (event.run_id, getattr(event, "call_id", ""))
            if call in self._suspended:
                self._suspended.discard(call)
                return
            name = escape(getattr(event, "tool_name", ""))
            args = escape(compact(getattr(event, "args", None)))
            self._line(f"[cyan]→ {name}[/]({args})")
        elif kind == "tool_call_finished":
            name = escape(getattr(event, "tool_name", ""))
            error = getattr(event, "error", None)
            if error:
                self._line(f"  [red]✗ {name}: {escape(compact(error))}[/]")
            else:
                output = getattr(event, "output", None)
                shown = output if output is not None else getattr(event, "content", "")
                self._line(f"  [dim]← {name}: {escape(compact(shown))}[/]")
        elif kind == "approval_requested":
            name = escape(getattr(event, "tool_name", ""))
            args = escape(compact(getattr(event, "args", None)))
            call_id = escape(getattr(event, "call_id", ""))
            self._line(f"[yellow]⏸ approval needed[/]: {name}({args}) [dim]call {call_id}[/]")
        elif kind == "approval_decided":
            verdict = "approved" if getattr(event, "approved", False) else "rejected"
            self._line(f"  [dim]{verdict} {escape(getattr(event, 'call_id', ''))}[/]")
        elif kind == "handoff":
            source = escape(getattr(event, "from_agent", ""))
            target = escape(getattr(event, "to_agent", ""))
            self._line(f"[magenta]↪ handoff {source} → {target}[/]")
        elif kind == "input_requested":
            name = escape(getattr(event, "tool_name", ""))
            prompt = escape(getattr(event, "prompt", ""))
            self._line(f"[yellow]? {name} asks[/]: {prompt}")
        elif kind == "tool_call_deferred":
            name = escape(getattr(event, "tool_name", ""))
            ticket = escape(str(getattr(event, "ticket", "")))
            self._line(f"[yellow]… {name} deferred[/] (ticket {ticket})")
        elif kind == "tool_args_edited":
            name = escape(getattr(event, "tool_name", ""))
            args = escape(compact(getattr(event, "args", None)))
            self._line(f"[magenta]✎ {name} arguments edited[/]: {args}")
        elif kind == "run_finished":
            self._newline()

    def finish(self, result: Result[Any]) -> None:
        """The closing line: the run's state, usage and cost (and why, when it went wrong)."""
        from rich.markup import escape

        self._newline()
        if result.output is not None and not isinstance(result.output, str):
            self.console.print(compact(result.output, 2000), markup=False)  # structured output
        style = _STATE_STYLE.get(result.state, "red")
        line = f"[{style}]{result.state}[/] · {usage_line(result.usage, result.turns)}"
        self.console.print(line, style="dim" if result.state == "completed" else None)
        if result.error:
            self.console.print(f"[red]error[/]: {escape(result.error)}")
        for reason in result.degraded_reasons:
            self.console.print(f"[yellow]degraded[/]: {escape(reason)}")
