"""What the CLI's commands share: loading ``module:attribute`` agents, the store, the console.

Kept light: rich and the runner are imported inside the functions that need them.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    "console",
    "default_store",
    "load_agent",
    "load_object",
    "make_runner",
    "open_cli_store",
]

#: Key under which ``tether run``/``chat``/``debug`` record the agent's ``module:attribute`` in
#: the run's metadata, so ``tether runs approve/resume`` find the agent again in another process.
AGENT_SPEC_KEY = "tether.cli.agent"
DEFAULT_STORE = "sqlite:///.tether/tether.db"


def make_runner(args: argparse.Namespace) -> Runner:
    """A Runner on ``--store`` that writes JSONL traces to ``--dir``."""
    from ..run.runner import Runner
    from ..tracing.jsonl import JsonlExporter

    return Runner(store=args.store or default_store(), telemetry=JsonlExporter(args.dir))


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


def open_cli_store(url: str | None) -> Store:
    """The store named by ``--store`` (or the default one)."""
    from ..store import open_store

    return open_store(url or default_store())


def console(stderr: bool = False) -> Console:
    """A rich console for the command's output (no wrapping of long lines when piped)."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    return Console(
        file=stream,
        highlight=False,
        soft_wrap=False,
        width=None if stream.isatty() else 160,
    )


def load_object(spec: str, what: str = "the agent") -> Any:
    """The object ``package.module:attribute`` names (the working directory is importable)."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise UserError(
            f"{what} must be given as 'package.module:variable' (e.g. 'app:agent'), got {spec!r}"
        )
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UserError(
            f"cannot import module {module_name!r} for {what}: {exc} "
            "(run from the directory that holds it, or set PYTHONPATH)"
        ) from exc
    found: Any = module
    for part in attribute.split("."):
        try:
            found = getattr(found, part)
        except AttributeError as exc:
            raise UserError(f"module {module_name!r} has no attribute {attribute!r}") from exc
    return found


def load_agent(spec: str) -> Agent:
    """The :class:`~tether.Agent` that ``module:attribute`` names; a callable is called."""
    from ..agent import Agent

    found = load_object(spec)
    if not isinstance(found, Agent) and callable(found):
        found = found()
    if not isinstance(found, Agent):
        raise UserError(f"{spec!r} is a {type(found).__name__}, not a tether Agent")
    return found
