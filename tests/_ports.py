"""Ports for the processes tests start, without the race of "bind port 0, close, hand the number
over" (under load another process may take the port in between).

- :func:`bound_socket`: a listening socket to hand to a server in this process (uvicorn's
  ``serve(sockets=[...])``): nobody can take the port, it is never released.
- :func:`refused_port`: a port nothing listens on, held so that nothing starts to.
- :class:`PortedProcess` (on :func:`owned_listener` and :func:`bind_failed`): a subprocess
  that binds its port itself (the Temporal CLI, Ray, ``tether serve``) is known ready only
  once the listener is its own (a connection may reach another process that took the port),
  and is started again on a new port when it says the port was taken, a bounded number of
  times; otherwise the fixture fails with the process's output.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: How many ports a fixture tries before it fails with the process's output.
ATTEMPTS = 4


def bound_socket() -> socket.socket:
    """A socket listening on a free port of 127.0.0.1 (``getsockname()[1]``)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def free_port() -> int:
    """A port free now: for a subprocess that must bind it itself (check with
    :func:`owned_listener` / :func:`bind_failed` and try again on a new port)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bind_failed(output: str) -> bool:
    """Whether a process's output says it could not bind its port."""
    lowered = output.lower()
    return "address already in use" in lowered or "errno 98" in lowered


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(inode)
    return inodes


def owned_listener(pids: Iterable[int], port: int) -> bool:
    """Whether one of ``pids`` holds the socket listening on ``port`` (a connection that
    succeeds may reach another process that took the port first)."""
    wanted = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    if not wanted:
        return False
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in wanted:
                    return True
            except OSError:
                continue
    return False


class PortedProcess:
    """A subprocess that binds the port its command line names (``command(port)``), started on a
    port free now (``ports()``) and, when it exits saying the port was taken meanwhile, again on a
    new one (up to :data:`ATTEMPTS` starts). Its stdout and stderr go to ``log`` (appended)."""

    def __init__(
        self,
        command: Callable[[int], list[str]],
        log: Path,
        ports: Callable[[], int] = free_port,
        **popen: Any,
    ) -> None:
        self.command, self.log, self.ports, self.popen = command, log, ports, popen
        self.starts = 0
        self._spawn()

    def _spawn(self) -> None:
        self.starts += 1
        self.port = self.ports()
        self._since = len(self.output())
        with self.log.open("a") as out:
            self.proc: subprocess.Popen[bytes] = subprocess.Popen(
                self.command(self.port), stdout=out, stderr=subprocess.STDOUT, **self.popen
            )

    def output(self) -> str:
        """All it wrote, every start's."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def listening(self) -> bool:
        """Whether the process itself listens on its port now (False: not yet). Starts it again
        on a new port when it exited for a taken one; :class:`ProcessExited` with its output
        when it exited otherwise or found its port taken too often."""
        if self.proc.poll() is not None:
            if bind_failed(self.output()[self._since :]) and self.starts < ATTEMPTS:
                self._spawn()
                return False
            raise ProcessExited(f"exited ({self.proc.returncode}): {self.output()}")
        return owned_listener([self.proc.pid], self.port)

    def stop(self) -> None:
        """Kill it (if still running) and reap it."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


class ProcessExited(AssertionError):
    """A :class:`PortedProcess` exited before it listened (its output in the message)."""


@contextmanager
def refused_port() -> Iterator[int]:
    """A port where connections are refused for as long as the block runs: bound by this
    process but not listening, so no other process can start listening there meanwhile."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])
