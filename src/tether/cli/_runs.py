"""``tether runs ...``: the store's runs, from any process.

::

    tether runs ls [--state S] [--agent A] [--limit N] [--json]
    tether runs show RUN_ID [--json]
    tether runs approve RUN_ID CALL_ID [--reject --reason R] [--args JSON] [--args-digest D]
        [--expires-in S | --expires-at T] [--agent MODULE:ATTR] [--no-resume]
    tether runs resume RUN_ID [--agent MODULE:ATTR]
    tether runs answer RUN_ID CALL_ID TEXT [--agent MODULE:ATTR]
    tether runs deliver RUN_ID CALL_ID RESULT [--json | --error] [--agent MODULE:ATTR]
    tether runs cancel RUN_ID [--reason R]

Every command takes ``--store URL`` (default ``$TETHER_STORE`` or ``sqlite:///.tether/tether.db``).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import TYPE_CHECKING, Any

from ..errors import UserError
from ._common import add_store_option

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

    from ..results import Result

__all__ = ["register"]


def _run_async(
    make: Callable[[Any], Coroutine[Any, Any, Any]],
    args: argparse.Namespace,
    doing: str | None = None,
) -> Any:
    """Run ``make(runner)`` on a fresh loop with a Runner on ``--store``; close it after.
    ``doing`` is shown with a spinner on a terminal while it takes."""
    import asyncio

    from ._common import console, make_runner

    err = console(stderr=True)
    if doing is not None and err.is_terminal:
        with err.status(doing):
            return _run_async(make, args)

    async def go() -> Any:
        runner = make_runner(args, existing=True)  # never makes an empty store at a typo
        try:
            return await make(runner)
        finally:
            await runner.aclose()

    return asyncio.run(go())


def _with_new_events(
    run_id: str, act: Callable[[Any], Coroutine[Any, Any, Any]]
) -> Callable[[Any], Coroutine[Any, Any, tuple[Any, list[Any]]]]:
    """``act(runner)``, and the events it added to the run's log."""

    async def go(runner: Any) -> tuple[Any, list[Any]]:
        before = await runner.store.load(run_id)
        last = before[-1].seq if before else 0
        outcome = await act(runner)
        after = await runner.store.load(run_id)
        return outcome, [e for e in after if e.seq > last and e.type != "approval_decided"]

    return go


def _when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))


def _cmd_ls(args: argparse.Namespace) -> int:
    from rich.markup import escape
    from rich.progress import Progress
    from rich.table import Table

    from ..tracing.render import format_cost
    from ._common import console
    from ._ops import list_rows

    err = console(stderr=True)
    with Progress(console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("reading runs", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        async def go(runner: Any) -> Any:
            return await list_rows(
                runner.store,
                state=args.state,
                agent=args.agent,
                limit=args.limit,
                progress=progress,
            )

        rows = _run_async(go, args)
    if args.json:
        print(json.dumps([r.to_dict() for r in rows], ensure_ascii=False))
        return 0
    out = console()
    if not rows:
        filtered = args.state is not None or args.agent is not None
        out.print("no runs match" if filtered else "no runs in the store")
        return 0
    table = Table(box=None, header_style="bold")
    for column in ("run", "agent", "state", "started", "turns", "tokens", "cost", "pending"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            escape(r.run_id),
            escape(r.agent),
            escape(r.state),
            _when(r.started_at),
            str(r.turns),
            str(r.tokens),
            format_cost(r.cost),
            escape(", ".join(r.pending)),
        )
    out.print(table)
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from ..durable._setting import decide_through
    from ..tracing.render import span_tree, trace_header
    from ..tracing.spans import build_trace
    from ._common import command_flags, console
    from ._ops import agent_spec_of, load_run, pending_of, waiting_parent
    from ._render import compact, usage_line, waiting_lines
    from ._traces import error_count

    async def go(runner: Any) -> Any:
        events, state = await load_run(runner.store, args.run_id)
        return events, state, await waiting_parent(runner.store, state)

    events, state, top = _run_async(go, args)
    pending = pending_of(state)
    if args.json:  # secrets scrubbed, as the dashboard does: the log keeps tools' own values
        from ..tracing.redact import scrub_secrets

        print(
            scrub_secrets(
                json.dumps(
                    {
                        "run_id": state.run_id,
                        "agent": state.agent_name,
                        "state": state.status,
                        "thread_id": state.thread_id,
                        "final_text": state.final_text,
                        "output": state.output_data,
                        "error": state.error,
                        "usage": state.usage.to_dict(),
                        "pending_approvals": pending,
                        "pending_inputs": [
                            {"call_id": c, "tool_name": q.tool_name, "prompt": q.prompt}
                            for c, q in state.pending_inputs.items()
                        ],
                        "deferred": {c: d.ticket for c, d in state.deferred.items()},
                        "events": [e.to_dict() for e in events],
                    },
                    ensure_ascii=False,
                    default=repr,
                )
            )
        )
        return 0
    out = console()
    trace = build_trace(events, trace_id=state.trace_id or state.run_id)
    trace.errors = error_count(trace)
    out.print(span_tree(trace.roots, trace_header(trace)))
    out.print(f"[bold]state[/] {escape(state.status)} · {usage_line(state.usage, state.turn)}")
    if state.final_text:
        out.print(f"[bold]answer[/] {escape(state.final_text)}")
    if state.error:
        out.print(f"[red]error[/] {escape(state.error)}")
    # --agent when the run does not say where its agent lives (not started by `tether run`)
    flags = command_flags(
        agent=None if agent_spec_of(state) else "package.module:variable", store=args.store
    )
    # an engine's run is decided through its workflow, a subagent's waited-on run at the top
    engine = decide_through(state) or (
        f"a subagent's run that run {top} waits on: act on it there: "
        f"tether runs show {top}{command_flags(store=args.store)}"
        if top is not None
        else None
    )
    for p in pending:
        out.print(
            f"[yellow]pending approval[/] {escape(p['call_id'])}: "
            f"{escape(p['tool_name'])}({escape(compact(p['args']))}), args digest "
            f"{p['args_digest']} (--args-digest: approve only these arguments)",
            highlight=False,
        )
        if engine is not None:
            out.print(f"  {engine}", markup=False, highlight=False)
            continue
        for line in waiting_lines(
            state.run_id, approvals=[(p["call_id"], p["tool_name"])], flags=flags
        )[1:]:  # the commands (what it waits for is the line above)
            out.print(line, markup=False, highlight=False)
    if engine is None:
        waiting = waiting_lines(
            state.run_id,
            inputs=[(c, q.tool_name, q.prompt) for c, q in state.pending_inputs.items()],
            deferred={c: d.ticket for c, d in state.deferred.items()},
            cut_short=[(c, None) for c in state.interrupted_calls],
            flags=flags,
        )
        for line in waiting:
            out.print(line, markup=False, highlight=False)
    elif state.pending_inputs or state.deferred:
        out.print(engine, markup=False, highlight=False)
    return 0


def _report(result: Result[Any], events: list[Any], args: argparse.Namespace) -> int:
    """The continued run as it went (its new events, compact), then its outcome; what it still
    waits for is shown with the command that gives it (with this command's --agent, --store)."""
    from ._common import command_flags, console
    from ._drive import exit_code
    from ._render import EventPrinter, print_waiting

    printer = EventPrinter(console())
    for event in events:
        printer.on(event)
    printer.finish(result)
    print_waiting(console(), result, command_flags(agent=args.agent, store=args.store))
    return exit_code(result)


def _cmd_approve(args: argparse.Namespace) -> int:
    from ._common import command_flags, console
    from ._ops import apply_decision

    if args.reason is not None and not args.reject:
        console(stderr=True).print("note: --reason is only used with --reject", markup=False)
    edited = _json_object(args.args, "--args") if args.args is not None else None

    async def go(runner: Any) -> Any:
        return await apply_decision(
            runner,
            args.run_id,
            args.call_id,
            approved=not args.reject,
            reason=args.reason,
            agent_spec=args.agent,
            resume=not args.no_resume,
            args=edited,
            expires_at=_expiry(args.expires_at),
            expires_in=args.expires_in,
            args_digest=args.args_digest,
        )

    decision, events = _run_async(
        _with_new_events(args.run_id, go), args, f"deciding and continuing run {args.run_id}"
    )
    verdict = "approved" if decision.approved else "rejected"
    if decision.result is None:
        # --agent only when the run does not say where its agent lives (or it was given here)
        agent = args.agent or (None if decision.agent_spec else "package.module:variable")
        console().print(
            f"{verdict} {decision.call_id} of run {decision.run_id} (recorded); continue it "
            f"with: tether runs resume {decision.run_id}"
            + command_flags(agent=agent, store=args.store),
            markup=False,
        )
        return 0
    console().print(f"{verdict} {decision.call_id}; run {decision.run_id} resumed", markup=False)
    return _report(decision.result, events, args)


def _json_object(text: str, flag: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise UserError(f"{flag} must be a JSON object ({exc})") from None
    if not isinstance(value, dict):
        raise UserError(f"{flag} must be a JSON object, got {type(value).__name__}")
    return value


def _expiry(text: str | None) -> float | None:
    """``--expires-at``: a Unix time, or an ISO 8601 time with its timezone."""
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    from datetime import datetime

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(
            f"--expires-at takes a Unix time or an ISO 8601 time, got {text!r}"
        ) from None
    if moment.tzinfo is None:
        raise UserError(f"--expires-at {text!r} needs a timezone (e.g. 2026-12-02T10:00:00+00:00)")
    return moment.timestamp()


def _continue(
    args: argparse.Namespace, doing: str, act: Callable[[Any], Coroutine[Any, Any, Any]]
) -> int:
    """``act(runner)`` continues the run (a Result): show what it did, exit with its code."""
    result, events = _run_async(_with_new_events(args.run_id, act), args, doing)
    return _report(result, events, args)


def _cmd_resume(args: argparse.Namespace) -> int:
    from ._ops import resume_run

    return _continue(
        args,
        f"continuing run {args.run_id}",
        lambda runner: resume_run(runner, args.run_id, args.agent),
    )


def _text_argument(text: str) -> str:
    """A command's text argument; ``-`` reads it from standard input."""
    import sys

    return sys.stdin.read() if text == "-" else text


def _cmd_answer(args: argparse.Namespace) -> int:
    from ._ops import answer_input

    answer = _text_argument(args.text)
    return _continue(
        args,
        f"answering and continuing run {args.run_id}",
        lambda runner: answer_input(runner, args.run_id, args.call_id, answer, args.agent),
    )


def _cmd_deliver(args: argparse.Namespace) -> int:
    from ._ops import deliver_result

    text = _text_argument(args.result)
    output: Any = text
    if args.error:
        output = RuntimeError(text)
    elif args.json:
        try:
            output = json.loads(text)
        except ValueError as exc:
            raise UserError(f"--json: the result is not JSON ({exc})") from None
    return _continue(
        args,
        f"delivering to run {args.run_id}",
        lambda runner: deliver_result(runner, args.run_id, args.call_id, output, args.agent),
    )


def _cmd_cancel(args: argparse.Namespace) -> int:
    from ._common import console
    from ._ops import cancel_run

    async def go(runner: Any) -> Any:
        return await cancel_run(runner.store, args.run_id, args.reason, timeout=args.wait)

    state = _run_async(go, args)
    console().print(f"run {state.run_id} cancelled", markup=False)
    return 0


_EXAMPLES = {
    "ls": "example:\n  tether runs ls --state awaiting_approval --limit 20",
    "show": "example:\n  tether runs show 7a1d0f70711341f2",
    "approve": "examples:\n  tether runs approve RUN_ID call_1_0\n"
    '  tether runs approve RUN_ID call_1_0 --reject --reason "not on Fridays"',
    "resume": "example:\n  tether runs resume RUN_ID --agent app:agent",
    "answer": 'example:\n  tether runs answer RUN_ID call_1_0 "Ada Lovelace"',
    "deliver": "examples:\n  tether runs deliver RUN_ID call_1_0 'https://example.com/report.pdf'\n"
    "  tether runs deliver RUN_ID call_1_0 '{\"pages\": 3}' --json\n"
    '  tether runs deliver RUN_ID call_1_0 "the renderer crashed" --error',
    "cancel": "example:\n  tether runs cancel RUN_ID --reason 'superseded'",
}


def _sub(sub: Any, name: str, help_text: str, common: argparse.ArgumentParser) -> Any:
    parser = sub.add_parser(
        name,
        help=help_text,
        description=help_text[0].upper() + help_text[1:] + ".",
        epilog=_EXAMPLES[name],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    add_store_option(parser)
    return parser


def _agent_option(parser: Any) -> None:
    parser.add_argument(
        "--agent",
        metavar="MODULE:ATTR",
        help="the run's agent (default: the one `tether run` recorded for it)",
    )


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``runs`` (ls, show, approve, resume, answer, deliver, cancel) to ``tether``."""
    runs = commands.add_parser(
        "runs",
        help="list, inspect, approve, answer, resume and cancel stored runs",
        description="The runs in the store, from any process.",
        epilog="example:\n  tether runs ls --state awaiting_approval",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = runs.add_subparsers(dest="runs_command", required=True, metavar="COMMAND")

    ls = _sub(sub, "ls", "list runs, most recently updated first", common)
    ls.add_argument("--state", metavar="S", help="only runs in this state (e.g. completed)")
    ls.add_argument("--agent", metavar="A", help="only runs of this agent")
    ls.add_argument("--limit", metavar="N", type=int, default=50, help="at most N runs (50)")
    ls.add_argument("--json", action="store_true", help="print the runs as JSON")
    ls.set_defaults(handler=_cmd_ls)

    show = _sub(sub, "show", "one run: its log as a tree, its result, pending approvals", common)
    show.add_argument("run_id", metavar="RUN_ID", help="the run's id")
    show.add_argument("--json", action="store_true", help="print the run and its events as JSON")
    show.set_defaults(handler=_cmd_show)

    approve = _sub(sub, "approve", "approve (or reject) a pending tool call and resume", common)
    approve.add_argument("run_id", metavar="RUN_ID", help="the run's id")
    approve.add_argument("call_id", metavar="CALL_ID", help="the pending call's id")
    approve.add_argument("--reject", action="store_true", help="reject the call instead")
    approve.add_argument("--reason", metavar="R", help="why it is rejected (told to the model)")
    approve.add_argument(
        "--args", metavar="JSON", help="approve with these edited arguments (a JSON object)"
    )
    approve.add_argument(
        "--args-digest",
        metavar="D",
        help="approve only if the call still has the arguments of this digest (runs show lists it)",
    )
    approve.add_argument(
        "--expires-in", metavar="S", type=float, help="the approval lapses after S seconds"
    )
    approve.add_argument(
        "--expires-at", metavar="T", help="the approval lapses at T (Unix time or ISO 8601)"
    )
    _agent_option(approve)
    approve.add_argument(
        "--no-resume", action="store_true", help="only record the decision; do not continue"
    )
    approve.set_defaults(handler=_cmd_approve)

    resume = _sub(sub, "resume", "continue a stored run from its last checkpoint", common)
    resume.add_argument("run_id", metavar="RUN_ID", help="the run's id")
    _agent_option(resume)
    resume.set_defaults(handler=_cmd_resume)

    for name, help_text, value, handler in (
        ("answer", "answer a tool's question to the run and continue it", "TEXT", _cmd_answer),
        ("deliver", "deliver a deferred tool call's result and continue", "RESULT", _cmd_deliver),
    ):
        given = _sub(sub, name, help_text, common)
        given.add_argument("run_id", metavar="RUN_ID", help="the run's id")
        given.add_argument("call_id", metavar="CALL_ID", help="the waiting call's id")
        given.add_argument(
            value.lower(), metavar=value, help=f"the {value.lower()} ('-' reads standard input)"
        )
        _agent_option(given)
        given.set_defaults(handler=handler)
        if name == "deliver":
            how = given.add_mutually_exclusive_group()
            how.add_argument("--json", action="store_true", help="RESULT is JSON (else text)")
            how.add_argument("--error", action="store_true", help="RESULT is why the call failed")

    cancel = _sub(sub, "cancel", "end a run that has not finished as cancelled", common)
    cancel.add_argument("run_id", metavar="RUN_ID", help="the run's id")
    cancel.add_argument("--reason", metavar="R", help="why (recorded in the run's log)")
    cancel.add_argument(
        "--wait",
        type=float,
        metavar="S",
        default=None,
        help="seconds to wait for a process executing the run to stop it (35)",
    )
    cancel.set_defaults(handler=_cmd_cancel)
