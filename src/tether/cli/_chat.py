"""``tether chat``: an interactive, streaming REPL over one conversation thread."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import uuid
from pathlib import Path
from typing import Any

__all__ = ["chat"]

_HELP = "/new new thread · /thread its id · /usage usage so far · /exit leave (or Ctrl-D)"


def _new_thread() -> str:
    return "chat-" + uuid.uuid4().hex[:12]


def _history_file() -> Path:
    return Path(os.environ.get("TETHER_CHAT_HISTORY") or Path.home() / ".tether" / "chat_history")


def _enable_history() -> None:
    """Line editing and up-arrow history for input(), kept across chats (the last 1000 lines)."""
    try:
        import readline
    except ImportError:  # pragma: no cover - not on every platform
        return
    path = _history_file()
    with contextlib.suppress(OSError):
        readline.read_history_file(path)
    readline.set_history_length(1000)

    def save() -> None:
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(path)

    atexit.register(save)


def chat(args: argparse.Namespace) -> int:
    """Run the chat until ``/exit`` or end of input; returns the exit code."""
    from rich.markup import escape

    from ..usage import Usage
    from ._common import command_flags, console, load_agent, make_runner
    from ._drive import drive
    from ._render import EventPrinter, print_waiting, usage_line
    from ._terminal import Terminal

    agent = load_agent(args.agent)
    out = console()
    _enable_history()
    thread = args.thread or _new_thread()
    total = Usage()
    terminal = Terminal()
    runner = make_runner(args)
    out.print(f"[bold]{escape(agent.name)}[/] · thread {escape(thread)} · {_HELP}")
    try:
        while True:
            try:
                line = input("you> ")
            except EOFError:
                out.print()
                break
            except KeyboardInterrupt:
                out.print()
                continue
            line = line.strip()
            if not line:
                continue
            if line.startswith("/"):
                command = line.split()[0].lower()
                if command in ("/exit", "/quit"):
                    break
                if command == "/new":
                    thread = _new_thread()
                    out.print(f"new thread {escape(thread)}")
                elif command == "/thread":
                    out.print(f"thread {escape(thread)}")
                elif command == "/usage":
                    out.print(usage_line(total))
                elif command == "/help":
                    out.print(_HELP)
                else:
                    out.print(f"unknown command {escape(command)}: {_HELP}")
                continue
            printer = EventPrinter(out)
            try:
                result: Any = terminal.run(
                    drive(
                        runner,
                        agent,
                        line,
                        spec=args.agent,
                        store=args.store,
                        thread_id=thread,
                        printer=printer,
                        ask=None if args.approve_all else terminal.ask,
                        approve_all=args.approve_all,
                    )
                )
            except KeyboardInterrupt:
                out.print("\n[yellow]cancelled[/] (the chat goes on)")
                continue
            total.add(result.usage)
            if result.state != "completed":
                printer.finish(result)
                print_waiting(out, result, command_flags(store=args.store))
    finally:
        terminal.run(runner.aclose())
        terminal.close()
    return 0
