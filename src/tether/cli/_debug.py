"""``tether debug``: run an agent under breakpoints and step through it at the terminal.

::

    tether debug app:agent "prompt" --break tool:deploy --break event:handoff --break turn:2
    tether debug app:agent --resume RUN_ID --break tool:deploy   # a stored run, under them

At each pause the run is really stopped (its log so far is checkpointed in the store); the
prompt takes ``step``, ``continue``, ``args`` (show, or ``args {"json": ...}`` to edit),
``skip``, ``messages``, ``quit``.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from ._common import add_store_option

if TYPE_CHECKING:
    from rich.console import Console

    from ..events import Event
    from ..run.handle import RunHandle
    from ._terminal import Terminal

__all__ = ["register"]

_COMMANDS = (
    "step (s) next event · continue (c) to the next breakpoint · args [JSON] show or edit the "
    "call's arguments · skip the call · messages (m) · quit (q) cancels the run"
)

_EXAMPLE = """\
example:
  tether debug app:agent "Deploy the fix" --break tool:deploy --break turn:2
  tether debug app:agent --resume RUN_ID --break tool:deploy

at a pause: step, continue, args, args {"env": "staging"}, skip, messages, quit
"""


def _show_snapshot(out: Console, snapshot: dict[str, Any], hit: Any) -> None:
    from rich.markup import escape

    from ._render import compact

    usage = snapshot.get("usage", {})
    where = f"[bold magenta]⏸ breakpoint {escape(hit.breakpoint)}[/]"
    if hit.tool_name:
        where += f" before {escape(hit.tool_name)}({escape(compact(hit.args))})"
    else:
        where += f" after {escape(hit.trigger)}"
    parent = snapshot.get("parent_run_id")
    if parent:  # paused inside a subagent's own run
        agent = escape(str(snapshot.get("agent", "")))
        where += f" in subagent {agent} (run of {escape(str(parent))})"
    out.print(where)
    messages = snapshot.get("messages", [])
    out.print(
        f"  run {escape(str(snapshot.get('run_id', '')))} · "
        f"turn {snapshot.get('turn', 0)} · {len(messages)} message(s) · "
        f"{usage.get('requests', 0)} request(s) · {usage.get('input_tokens', 0)} in / "
        f"{usage.get('output_tokens', 0)} out tokens · cost {usage.get('cost')}"
    )
    for call in snapshot.get("open_calls", []):
        out.print(
            f"  open call {escape(call['call_id'])}: "
            f"{escape(call['tool_name'])}({escape(compact(call['args']))})"
        )


def _show_messages(out: Console, snapshot: dict[str, Any]) -> None:
    from rich.markup import escape

    from ._render import compact

    for message in snapshot.get("messages", []):
        parts = message.get("parts", [])
        text = " ".join(
            p.get("text") or p.get("content") or f"{p.get('name', '')}({p.get('arguments', '')})"
            for p in parts
        )
        out.print(f"  [bold]{escape(message.get('role', ''))}[/]: {escape(compact(text, 160))}")


async def _at_pause(out: Console, terminal: Terminal, handle: RunHandle, hit: Any) -> None:
    from rich.markup import escape

    from ..errors import UserError

    debugger = handle.debugger
    assert debugger is not None
    _show_snapshot(out, debugger.snapshot(), hit)
    while True:
        answer = await terminal.ask("(debug) ")
        if answer is None:
            await debugger.quit()
            return
        command, _, rest = answer.strip().partition(" ")
        try:
            if command in ("s", "step", "n", "next"):
                await debugger.step()
                return
            if command in ("c", "continue", "cont"):
                await debugger.resume()
                return
            if command == "skip":
                await debugger.skip()
                return
            if command in ("q", "quit", "exit"):
                await debugger.quit()
                return
            if command in ("m", "messages"):
                _show_messages(out, debugger.snapshot())
            elif command == "args":
                if rest.strip():
                    try:
                        edited = json.loads(rest)
                    except ValueError as exc:
                        raise UserError(f"the arguments must be a JSON object: {exc}") from None
                    await debugger.edit_args(edited)
                    out.print(
                        f"  arguments now {escape(json.dumps(edited))} (recorded in the log; "
                        "the call is checked and approved again for them before it runs)"
                    )
                elif hit.call_id is None:
                    out.print("  not at a tool call: no arguments here")
                else:
                    out.print(f"  {escape(json.dumps(hit.args, default=repr))}")
            elif command in ("", "h", "help", "?"):
                out.print(f"  {_COMMANDS}")
            else:
                out.print(f"  unknown command {escape(command)!r}: {_COMMANDS}")
        except UserError as exc:
            out.print(f"  [red]{escape(str(exc))}[/]")


def _reachable_tools(agent: Any) -> set[str] | None:
    """The tools of ``agent``, of the agents it can hand off to and of its subagents (agents
    used as tools: the breakpoints pause their runs too), and so on down; None when they
    cannot be known before the run (MCP servers' tools, handoffs named by string, an agent
    of another kind)."""
    from ..agent import Agent

    names: set[str] = set()
    seen: set[int] = set()
    todo = [agent]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if not isinstance(current, Agent) or current.mcp_servers:
            return None
        if any(isinstance(h, str) for h in current.handoffs):
            return None
        names.update(current.tools_map)
        todo.extend(h.agent for h in current.handoff_list())
        todo.extend(t.subagent for t in current.tools_map.values() if t.subagent is not None)
    return names


def _check_tool_breakpoints(agent: Any, breakpoints: list[str]) -> None:
    """A ``tool:NAME`` breakpoint the run can never reach is refused by name (it would
    silently never pause)."""
    from ..errors import UserError

    known = _reachable_tools(agent)
    if known is None:
        return
    for where in breakpoints:
        kind, _, name = where.partition(":")
        if kind == "tool" and name not in known:
            tools = ", ".join(sorted(known)) or "none"
            raise UserError(
                f"breakpoint {where!r}: agent {agent.name!r} has no tool {name!r} "
                f"(its tools, its handoffs' and its subagents': {tools})"
            )


def _cmd_debug(args: argparse.Namespace) -> int:
    from ..debug import Breakpoint
    from ..errors import UserError
    from ._common import command_flags, console, load_agent, make_runner
    from ._drive import drive, exit_code
    from ._render import EventPrinter, print_waiting
    from ._terminal import Terminal

    if (args.prompt is None) == (args.resume is None):
        raise UserError("give a prompt to start a run, or --resume RUN_ID to continue one")
    breakpoints = [str(Breakpoint.parse(b)) for b in args.breakpoints]  # fail early, by name
    agent = load_agent(args.agent)
    _check_tool_breakpoints(agent, breakpoints)
    out = console()
    printer = EventPrinter(out)
    terminal = Terminal()
    runner = make_runner(args)

    async def on_event(event: Event, handle: RunHandle) -> None:
        if event.type == "breakpoint_hit":
            await _at_pause(out, terminal, handle, event)

    try:
        try:
            result = terminal.run(
                drive(
                    runner,
                    agent,
                    args.prompt,
                    spec=args.agent,
                    store=args.store,
                    thread_id=args.thread,
                    printer=printer,
                    ask=None if args.approve_all else terminal.ask,
                    approve_all=args.approve_all,
                    on_event=on_event,
                    breakpoints=breakpoints,
                    resume=args.resume,
                )
            )
        except KeyboardInterrupt:
            console(stderr=True).print("[red]cancelled[/] (Ctrl-C)")
            return 130
        printer.finish(result)
        out.print(f"run {result.run_id}: tether runs show {result.run_id}", markup=False)
        print_waiting(out, result, command_flags(store=args.store))
        return exit_code(result)
    finally:
        terminal.run(runner.aclose())
        terminal.close()


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``debug`` to the ``tether`` command's subparsers."""
    debug = commands.add_parser(
        "debug",
        help="run an agent under breakpoints and step through it",
        description="Run an agent and pause at breakpoints: look at the state, step, edit a "
        "tool call's arguments, skip it, continue or quit.",
        epilog=_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    debug.add_argument("agent", metavar="MODULE:ATTR", help="the agent, e.g. app:agent")
    debug.add_argument("prompt", nargs="?", help="the prompt (not with --resume)")
    debug.add_argument(
        "--resume",
        metavar="RUN_ID",
        help="continue this stored run under the breakpoints (one killed at a pause, say)",
    )
    debug.add_argument(
        "--break",
        dest="breakpoints",
        action="append",
        default=[],
        metavar="WHERE",
        help="pause at tool:NAME (before the tool runs), event:TYPE (after such an event) or "
        "turn:N (at the start of turn N); repeat for several",
    )
    debug.add_argument("--thread", metavar="ID", help="continue (or start) this thread")
    add_store_option(debug)
    debug.add_argument(
        "--approve-all", action="store_true", help="approve every gated tool call without asking"
    )
    debug.set_defaults(handler=_cmd_debug)
