"""CLI fixtures: the real ``tether`` entry point run as a subprocess, in a scratch directory."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
_ENV_KEYS = ("CLI_LEDGER", "TETHER_STORE", "TETHER_TRACE_DIR")


@dataclass
class Done:
    """A finished ``tether`` process."""

    code: int
    out: str
    err: str


class Cli:
    """Runs ``python -m tether.cli`` in ``cwd`` with its own store, traces and ledger."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.ledger = cwd / "ledger.txt"
        self.store = f"sqlite:///{cwd / 'runs.db'}"
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
            "CLI_LEDGER": str(self.ledger),
            "TETHER_STORE": self.store,
            "TETHER_TRACE_DIR": str(cwd / "traces"),
            "COLUMNS": "200",
            "NO_COLOR": "1",
        }

    def argv(self, *args: str) -> list[str]:
        """The command line of ``tether ARGS``."""
        return [sys.executable, "-m", "tether.cli", *args]

    def __call__(self, *args: str, stdin: str = "", timeout: float = 30) -> Done:
        done = subprocess.run(
            self.argv(*args),
            cwd=self.cwd,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Done(done.returncode, done.stdout, done.stderr)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        """Start ``tether ARGS`` without waiting."""
        return subprocess.Popen(
            self.argv(*args),
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def here(self, *args: str) -> Done:
        """``tether ARGS`` in this process (``main()``, the console script's function): for the
        many small checks, where a new interpreter each time would only cost time."""
        from tether.cli import main

        out, err = io.StringIO(), io.StringIO()
        saved = {key: os.environ.get(key) for key in _ENV_KEYS}
        cwd = os.getcwd()
        os.environ.update({key: self.env[key] for key in _ENV_KEYS})
        os.chdir(self.cwd)
        if str(HERE) not in sys.path:
            sys.path.insert(0, str(HERE))
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = main(list(args))
                except SystemExit as exit_:
                    code = int(exit_.code or 0)
        finally:
            os.chdir(cwd)
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        return Done(code, out.getvalue(), err.getvalue())

    def executions(self) -> list[str]:
        """What the agent's tools did, in order, across every process."""
        if not self.ledger.exists():
            return []
        return self.ledger.read_text().splitlines()


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """A ``tether`` command line working in a fresh directory."""
    return Cli(tmp_path)
