"""What the CLI's commands share: loading ``module:attribute`` agents, the store, the console.

Kept light: rich and the runner are imported inside the functions that need them.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .._loading import canonical_spec, load_object
from ..errors import UserError

if TYPE_CHECKING:
    from rich.console import Console

    from ..agent import Agent
    from ..run.runner import Runner
    from ..store import Store

__all__ = [
    "AGENT_SPEC_KEY",
    "DEFAULT_STORE",
    "add_store_option",
    "canonical_spec",
    "check_free",
    "command_flags",
    "console",
    "default_store",
    "load_agent",
    "load_object",
    "make_runner",
    "open_cli_store",
    "port_number",
    "require_store",
]

#: Key under which ``tether run``/``chat``/``debug`` record the agent's ``module:attribute`` in
#: the run's metadata, so ``tether runs approve/resume`` find the agent again in another process.
AGENT_SPEC_KEY = "tether.cli.agent"
DEFAULT_STORE = "sqlite:///.tether/tether.db"


def make_runner(args: argparse.Namespace, *, existing: bool = False) -> Runner:
    """A Runner on ``--store`` that writes JSONL traces to ``--dir``. ``existing``: the store
    must be there already (a command that reads or acts on stored runs refuses a mistyped
    SQLite path instead of making an empty database at it)."""
    from ..run.runner import Runner
    from ..tracing.jsonl import JsonlExporter

    url = args.store or default_store()
    if existing:
        require_store(url)
    return Runner(store=url, telemetry=JsonlExporter(args.dir))


def require_store(url: str) -> None:
    """Refuse a ``sqlite://`` URL whose database file does not exist (other stores are made
    elsewhere: a server's database is there or the connection fails)."""
    from ..store import sqlite_url_path

    located = sqlite_url_path(url)
    if located is not None and not Path(located[0]).is_file():
        raise UserError(
            f"no store at {located[0]!r} ({url}): check the path (a store is made by the "
            "first run that uses it: tether run, tether serve)"
        )


def default_store() -> str:
    """``$TETHER_STORE``, else ``sqlite:///.tether/tether.db`` (relative to the working dir)."""
    return os.environ.get("TETHER_STORE") or DEFAULT_STORE


def add_store_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--store URL`` to a command."""
    parser.add_argument(
        "--store",
        default=None,
        metavar="URL",
        help="where runs are stored: sqlite:///path, postgresql://... or memory:// "
        f"(default $TETHER_STORE or {DEFAULT_STORE})",
    )


def command_flags(*, agent: str | None = None, store: str | None = None) -> str:
    """The options a printed follow-up command needs (`` --agent A --store URL``, quoted for
    the shell), so that it acts on the same run with the same agent when pasted."""
    import shlex

    flags = [("--agent", agent), ("--store", store)]
    return "".join(f" {flag} {shlex.quote(value)}" for flag, value in flags if value)


def open_cli_store(url: str | None) -> Store:
    """The store named by ``--store`` (or the default one)."""
    from ..store import open_store

    return open_store(url or default_store())


def check_free(host: str, port: int) -> None:
    """Refuse, by name, an address a server (``tether ui``, ``tether serve``) cannot listen on:
    uvicorn would print its address, then fail in a log line with an exit code of its own, or
    hang on a port out of range."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UserError(f"cannot listen on {host!r}: {exc} (give an address with --host)") from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            raise UserError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc} (pick another --port)"
            ) from None


def port_number(value: str) -> int:
    """``--port``'s type: a number from 0 to 65535 (argparse reports anything else)."""
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is a number from 0 to 65535, got {value!r}")
    return port


def console(stderr: bool = False) -> Console:
    """A rich console for the command's output (long lines are not broken, a table is sized to
    the terminal, or 160 columns when piped)."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    return Console(
        file=stream,
        highlight=False,
        soft_wrap=True,  # never break a line: a printed command must paste as it is
        width=None if stream.isatty() else 160,
    )


def load_agent(spec: str) -> Agent:
    """The :class:`~tether.Agent` that ``module:attribute`` names; a callable is called."""
    from ..agent import Agent

    found = load_object(spec)
    if not isinstance(found, Agent) and callable(found):
        found = found()
    if not isinstance(found, Agent):
        raise UserError(f"{spec!r} is a {type(found).__name__}, not a tether Agent")
    return found
