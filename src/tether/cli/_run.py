"""``tether run`` and ``tether chat``: try an agent from the terminal.

::

    tether run app:agent "What is 2 + 2?" [--thread ID] [--store URL] [--json] [--approve-all]
    tether chat app:agent [--thread ID] [--store URL] [--approve-all]
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._common import add_store_option, make_runner

__all__ = ["register"]

_RUN_EXAMPLE = """\
example:
  tether run app:agent "What is 21 + 21?"
  tether run app:agent "Deploy it" --thread ops-1 --approve-all --json

exit codes: 0 completed, 1 failed/cancelled/interrupted, 3 waiting for a person
(awaiting_approval: approve with `tether runs approve`), 4 degraded, 130 Ctrl-C.
"""

_CHAT_EXAMPLE = """\
example:
  tether chat app:agent --thread support-42

in the chat: /new starts a new thread, /thread shows its id, /usage the usage so far,
/exit (or Ctrl-D) leaves; Ctrl-C cancels the answer being written, not the chat.
"""


def _cmd_run(args: argparse.Namespace) -> int:
    from ._common import console, load_agent
    from ._drive import drive, exit_code, result_json
    from ._render import EventPrinter
    from ._terminal import Terminal

    agent = load_agent(args.agent)
    prompt = args.prompt if args.prompt != "-" else sys.stdin.read()
    out = console()
    printer = None if args.json else EventPrinter(out)
    # --json is for scripts: it never asks; without --approve-all it stops awaiting approval.
    interactive = not args.json and sys.stdin.isatty() and sys.stdout.isatty()
    terminal = Terminal()
    runner = make_runner(args)
    try:
        try:
            result = terminal.run(
                drive(
                    runner,
                    agent,
                    prompt,
                    spec=args.agent,
                    store=args.store,
                    thread_id=args.thread,
                    printer=printer,
                    ask=terminal.ask if interactive and not args.approve_all else None,
                    approve_all=args.approve_all,
                )
            )
        except KeyboardInterrupt:
            console(stderr=True).print("[red]cancelled[/] (Ctrl-C)")
            return 130
        if args.json:
            print(result_json(result))
        else:
            assert printer is not None
            printer.finish(result)
            _print_waiting(out, result, args)
        return exit_code(result)
    finally:
        terminal.run(runner.aclose())
        terminal.close()


def _print_waiting(out: Any, result: Any, args: argparse.Namespace) -> None:
    from ._common import command_flags
    from ._render import print_waiting

    print_waiting(out, result, command_flags(store=args.store))  # its agent is in its log


def _cmd_chat(args: argparse.Namespace) -> int:
    from ._chat import chat

    return chat(args)


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``run`` and ``chat`` to the ``tether`` command's subparsers."""
    run = commands.add_parser(
        "run",
        help="run an agent once, streaming its answer",
        description="Run an agent on one prompt: the answer streams, tool calls are shown, "
        "approvals are asked inline on a terminal, and usage and cost close the run.",
        epilog=_RUN_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    run.add_argument("agent", metavar="MODULE:ATTR", help="the agent, e.g. app:agent")
    run.add_argument("prompt", help="the prompt ('-' reads it from standard input)")
    run.add_argument("--thread", metavar="ID", help="continue (or start) this conversation thread")
    add_store_option(run)
    run.add_argument("--json", action="store_true", help="print only the Result, as JSON")
    run.add_argument(
        "--approve-all",
        action="store_true",
        help="approve every tool call that needs approval, without asking",
    )
    run.set_defaults(handler=_cmd_run)

    chat = commands.add_parser(
        "chat",
        help="chat with an agent in the terminal (keeps a thread)",
        description="An interactive, streaming chat with an agent over one thread.",
        epilog=_CHAT_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    chat.add_argument("agent", metavar="MODULE:ATTR", help="the agent, e.g. app:agent")
    chat.add_argument("--thread", metavar="ID", help="the thread to continue (default: a new one)")
    add_store_option(chat)
    chat.add_argument(
        "--approve-all",
        action="store_true",
        help="approve every tool call that needs approval, without asking",
    )
    chat.set_defaults(handler=_cmd_chat)
