"""CLI fixtures: the real ``tether`` entry point run as a subprocess, in a scratch directory."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


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

    def executions(self) -> list[str]:
        """What the agent's tools did, in order, across every process."""
        if not self.ledger.exists():
            return []
        return self.ledger.read_text().splitlines()


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """A ``tether`` command line working in a fresh directory."""
    return Cli(tmp_path)
