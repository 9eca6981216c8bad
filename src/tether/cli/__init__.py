"""The ``tether`` command.

Each group of subcommands lives in its own module, which offers
``register(commands, common)``: it adds its parsers to ``commands`` (the subparsers of the
``tether`` parser) and sets ``handler`` (``(argparse.Namespace) -> int``) on each. A module listed
in ``_COMMAND_MODULES`` must import quickly: heavy imports (servers, engines) go inside handlers.
A module that cannot be imported (a missing extra) is skipped, so the rest of the CLI still works.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import NoReturn

from ..errors import TetherError
from ..tracing.files import default_trace_dir

__all__ = ["main"]

# Modules that add subcommands, in the order `tether --help` lists them.
# A listed module that does not exist yet (or whose extra is missing) is skipped.
_COMMAND_MODULES = (
    "tether.cli._run",  # tether run / chat
    "tether.cli._runs",  # tether runs ls/show/approve/resume/cancel
    "tether.cli._debug",  # tether debug
    "tether.server._cli",  # tether serve
    "tether.evals._cli",  # tether eval
    "tether.mcp._cli",  # tether mcp serve
    "tether.distributed._cli",  # tether batch
    "tether.cli._trace",  # tether trace ... / ui
)


def _version() -> str:
    try:
        return version("tether")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree only
        return "unknown"


class _Parser(argparse.ArgumentParser):
    """A parser whose usage errors are one line naming where the help is."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--dir",
        type=Path,
        default=argparse.SUPPRESS,
        help="trace directory (default $TETHER_TRACE_DIR or .tether/traces)",
    )
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show a full traceback when a command fails (before or after the command)",
    )
    parser = _Parser(
        prog="tether", description="Run, serve, trace and debug tether agents.", parents=[common]
    )
    parser.add_argument("--version", action="version", version=f"tether {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):
                continue  # that group is not there (not built, or its package is absent)
            raise
        module.register(commands, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tether`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    args.debug = getattr(args, "debug", False)
    if getattr(args, "dir", None) is None:
        args.dir = default_trace_dir()
    try:
        code: int = args.handler(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # the reader went away (`tether ... | head`): end quietly, as other tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("tether: interrupted", file=sys.stderr)
        return 130
    except TetherError as exc:
        if args.debug:
            raise
        print(f"tether: {_one_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:
        if args.debug:
            raise
        print(
            f"tether: {type(exc).__name__}: {_one_line(exc)} (run with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1
    return code


def _one_line(exc: BaseException) -> str:
    """An error's message on one line (a driver's message may hold newlines and tabs)."""
    return " ".join(str(exc).split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
