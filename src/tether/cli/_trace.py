"""``tether trace ...`` and ``tether ui``: look at traces, search and replay them, open the UI.

::

    tether trace ls [--agent A] [--state S] [--errors] [--limit N]
    tether trace show TRACE_ID [--json]
    tether trace search TEXT
    tether trace replay TRACE_ID [--agent module:attribute] [--tools live|recorded] [--store URL]
    tether ui [--host 127.0.0.1] [--port 8321]

Every command takes ``--dir`` (default ``$TETHER_TRACE_DIR`` or ``.tether/traces``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ReplayDivergence, TetherError, UserError
from ..tracing.files import (
    check_trace_id,
    list_trace_files,
    load_trace,
    read_events,
    trace_path,
)
from ..tracing.spans import Trace, build_trace
from ._common import add_store_option, port_number

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["register"]


def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 160)


def _traces(directory: Path, limit: int | None = None) -> list[Trace]:
    """The traces of ``directory`` (files that are not tether traces are skipped), with a
    progress bar on a terminal when there are many to read."""
    from rich.progress import Progress

    from ._common import console

    files = list_trace_files(directory)
    err = console(stderr=True)
    shown = err.is_terminal and len(files) > 50
    traces: list[Trace] = []
    with Progress(console=err, transient=True, disable=not shown) as bar:
        task = bar.add_task("reading traces", total=len(files))
        for found in files:
            bar.advance(task)
            try:
                events = read_events(found.path)
                traces.append(build_trace(events, trace_id=found.trace_id, fold_messages=False))
            except (OSError, ValueError, TypeError, KeyError, TetherError):
                continue  # not a tether trace (or torn beyond use): skip it
            if limit is not None and len(traces) >= limit:
                break
    return traces


def _cmd_ls(args: argparse.Namespace) -> int:
    from rich.markup import escape
    from rich.progress import Progress
    from rich.table import Table

    from ..tracing.render import format_cost, format_ms
    from ._common import console as make_console
    from ._trace_list import TraceSummary, list_summaries

    def keep(t: TraceSummary) -> bool:
        return (
            (args.agent is None or args.agent in t.agents)
            and (args.state is None or t.state == args.state)
            and (not args.errors or t.errors > 0)
        )

    err = make_console(stderr=True)
    with Progress(console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("reading traces", total=None)
        traces, count = list_summaries(
            args.dir, keep=keep, limit=args.limit, on_file=lambda: bar.advance(task)
        )
    console = _console()
    if not count:
        console.print(f"no traces in {escape(str(args.dir))}")
        return 0
    if not traces:
        console.print(f"no trace matches (of {count} in {escape(str(args.dir))})")
        return 0
    table = Table(box=None, header_style="bold")
    for column in ("trace", "agent", "state", "started", "duration", "tokens", "cost", "errors"):
        table.add_column(column)
    for t in traces:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t.started_at))
        table.add_row(
            escape(t.trace_id),
            escape(", ".join(t.agents) or t.agent),
            t.state,
            started,
            format_ms(t.duration_ms),
            str(t.tokens),
            format_cost(t.cost),
            str(t.errors),
        )
    console.print(table)
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from ..tracing.render import span_tree, trace_header
    from ._traces import error_count, resolve_trace_id

    trace = load_trace(args.dir, resolve_trace_id(args.dir, args.trace_id))
    trace.errors = error_count(trace)  # each failure once (a failed tool, not also its turn)
    if args.json:
        print(json.dumps(trace.to_dict(), indent=1, default=repr))
        return 0
    _console().print(span_tree(trace.roots, trace_header(trace)))
    return 0


def _snippet(text: str, needle: str, width: int = 70) -> str:
    at = text.lower().find(needle)
    start = max(0, at - width // 2)
    piece = " ".join(text[start : start + width].split())
    return ("…" if start else "") + piece + ("…" if start + width < len(text) else "")


def _cmd_search(args: argparse.Namespace) -> int:
    from rich.markup import escape

    needle = args.text.lower()
    console = _console()
    hits = 0
    for trace in _traces(args.dir):
        for _depth, span in trace.walk():
            own = {k: v for k, v in span.attributes.items() if k != "input"}
            text = " ".join((span.name, span.error or "", json.dumps(own, default=repr)))
            if needle in text.lower():
                hits += 1
                console.print(
                    f"[bold]{escape(trace.trace_id)}[/] {escape(trace.agent)} "
                    f"[dim]{span.kind}[/] {escape(span.name)}: "
                    f"{escape(_snippet(text, needle))}"
                )
    if not hits:
        console.print(f"nothing matches {args.text!r} in {args.dir}")
        return 1
    return 0


def _recorded_spec(events: list[Any]) -> str | None:
    """The ``module:attribute`` that ``tether run`` (or ``chat``) recorded in the metadata of
    the first root run of ``events``, the one a replay replays; None when there is none."""
    from ..events import RunStarted
    from ._common import AGENT_SPEC_KEY

    for event in events:
        if isinstance(event, RunStarted) and event.parent_run_id is None:
            spec = (event.metadata or {}).get(AGENT_SPEC_KEY)
            return spec if isinstance(spec, str) else None
    return None


async def _stored_events(url: str, run_id: str) -> list[Any]:
    """The stored log of ``run_id`` in the store at ``url`` (empty when it holds no such run)."""
    from ..store import open_store

    store = open_store(url)
    try:
        return await store.load(run_id)
    finally:
        await store.close()


def _cmd_replay(args: argparse.Namespace) -> int:
    from ..run.runner import Runner
    from ._common import load_agent, require_store
    from ._traces import resolve_trace_id

    store, events = args.store, []
    if store:  # the run's log from the store (whole, even when its traces were redacted)
        require_store(store)
        events = asyncio.run(_stored_events(store, args.trace_id))
    if events:
        source = args.trace_id
    else:
        store = None
        path = trace_path(args.dir, resolve_trace_id(args.dir, args.trace_id))
        source, events = str(path), read_events(path)
    spec = args.agent or _recorded_spec(events)  # a run `tether run` made names its agent
    if spec is None:
        raise UserError("replay needs the agent: --agent package.module:agent_variable")
    agent = load_agent(spec)
    runner = Runner(store=store, telemetry=None, agents=[agent])

    async def go() -> Any:
        try:
            return await runner.replay(source, agent=agent, tools=args.tools)
        finally:
            await runner.aclose()

    console = _console()
    try:
        result = asyncio.run(go())
    except ReplayDivergence as exc:
        console.print(f"[bold red]replay diverged at turn {exc.turn}[/]")
        print(exc.diff)
        return 1
    console.print(
        f"[green]replay matched the recording[/]: {result.state}, "
        f"{result.turns} turn(s); output: {result.final_text!r}"
    )
    return 0


def _cmd_ui(args: argparse.Namespace) -> int:
    try:
        from ..ui.app import serve
    except ImportError as exc:
        raise UserError('tether ui needs the ui extra: pip install "tether[ui]"') from exc
    from ._common import check_free, default_store, require_store

    if args.store:  # one named on the command line must be there (a typo would make a new one)
        require_store(args.store)
    check_free(args.host, args.port)
    serve(args.dir, store=args.store or default_store(), host=args.host, port=args.port)
    return 0


def _parser(sub: Any, name: str, help_text: str, example: str, common: Any) -> Any:
    return sub.add_parser(
        name,
        help=help_text,
        description=help_text[0].upper() + help_text[1:] + ".",
        epilog="example:\n  " + example,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``trace`` and ``ui`` to the ``tether`` command's subparsers."""
    trace = commands.add_parser(
        "trace",
        help="list, show, search and replay traces",
        description="The JSONL traces in --dir (default $TETHER_TRACE_DIR or .tether/traces).",
        epilog="example:\n  tether trace ls --errors",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = trace.add_subparsers(dest="trace_command", required=True, metavar="COMMAND")
    ls = _parser(
        sub, "ls", "list traces, newest run first", "tether trace ls --agent triage", common
    )
    ls.add_argument("--agent", help="only traces in which this agent acted (handoffs included)")
    ls.add_argument("--state", help="only traces whose run ended in this state (e.g. failed)")
    ls.add_argument("--errors", action="store_true", help="only traces with errors")
    ls.add_argument("--limit", type=int, default=50, help="at most this many traces (50)")
    ls.set_defaults(handler=_cmd_ls)
    show = _parser(
        sub, "show", "one trace as a tree with timings and cost", "tether trace show 3f2a", common
    )
    show.add_argument("trace_id", type=_trace_id, help="the trace id, or a unique prefix of it")
    show.add_argument("--json", action="store_true", help="print the trace document as JSON")
    show.set_defaults(handler=_cmd_show)
    search = _parser(
        sub,
        "search",
        "find tool names, errors and content across traces",
        'tether trace search "timeout"',
        common,
    )
    search.add_argument("text", help="the text to look for (case-insensitive)")
    search.set_defaults(handler=_cmd_search)
    replay = _parser(
        sub,
        "replay",
        "re-run a trace against its recorded model answers",
        "tether trace replay 3f2a --agent app:agent --tools recorded",
        common,
    )
    replay.add_argument("trace_id", type=_trace_id, help="the trace id, or a unique prefix of it")
    replay.add_argument("--agent", help="the agent to replay, as package.module:variable")
    replay.add_argument(
        "--tools",
        choices=("live", "recorded"),
        default="live",
        help="run the tools again (live, the default) or serve their recorded results",
    )
    replay.add_argument(
        "--store",
        metavar="URL",
        help="replay the run of this id stored here (sqlite:///path, postgresql://...), "
        "else its trace in --dir; the replay is stored there too",
    )
    replay.set_defaults(handler=_cmd_replay)
    ui = commands.add_parser(
        "ui",
        help="open the dashboard: traces and stored runs (needs tether[ui])",
        description="The dashboard: traces from --dir and runs from --store, with approvals.",
        epilog="example:\n  tether ui --port 8321 --store sqlite:///.tether/tether.db",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    ui.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    ui.add_argument("--port", type=port_number, default=8321, help="port to listen on (8321)")
    add_store_option(ui)
    ui.set_defaults(handler=_cmd_ui)


def _trace_id(value: str) -> str:
    try:
        return check_trace_id(value)
    except UserError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
