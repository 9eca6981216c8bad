"""Module-level tools for the process-isolation tests (a spawned child imports them by name)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tether._threads import isolated


@isolated
def hang(pid_file: str) -> str:
    """Write our pid, then hang."""
    Path(pid_file).write_text(str(os.getpid()))
    time.sleep(60)
    return "never"


@isolated
def double(n: int) -> int:
    """Double a number (in a child process)."""
    if n < 0:
        raise ValueError(f"negative: {n}")
    return 2 * n


@isolated
def die() -> int:
    """End the process without answering."""
    os._exit(3)
