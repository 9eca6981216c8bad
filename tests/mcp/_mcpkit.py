"""Helpers for the MCP tests: servers started as real subprocesses on ports of their own.

(tests/mcp has no __init__.py on purpose: a package named ``mcp`` would hide the MCP SDK.)
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from tests._ports import ATTEMPTS, PortedProcess

CALC_SERVER = str(Path(__file__).with_name("calc_server.py"))


def start_http(
    command: Callable[[int], Sequence[str]], cwd: str | None = None, seconds: float = 30
) -> tuple[subprocess.Popen[bytes], int]:
    """Start a server listening on the port ``command(port)`` names, and wait until it listens
    (itself: not another process that took the port first); returns it and its port. A port
    taken meanwhile is tried again on a new one; any other exit fails with its output."""
    log = Path(tempfile.mkdtemp(prefix="tether-mcp-")) / "server.log"
    served = PortedProcess(lambda port: list(command(port)), log, cwd=cwd)
    _wait(served, seconds)
    return served.proc, served.port


def restart_http(
    argv: Sequence[str], port: int, cwd: str | None = None, seconds: float = 30
) -> subprocess.Popen[bytes]:
    """Start ``argv`` again on the same ``port`` (a restart at the same URL) and wait until it
    listens; fails with its output when it cannot (another process may have taken the port)."""
    log = Path(tempfile.mkdtemp(prefix="tether-mcp-")) / "server.log"
    served = PortedProcess(lambda _: list(argv), log, ports=lambda: port, cwd=cwd)
    served.starts = ATTEMPTS  # the same port or nothing: no new one
    _wait(served, seconds)
    return served.proc


def _wait(served: PortedProcess, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    try:
        while not served.listening():
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the server did not listen within {seconds} s: {served.output()}"
                )
            time.sleep(0.05)
    except BaseException:
        served.stop()
        raise


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate ``process`` (kill it when it does not exit within 10 s)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
