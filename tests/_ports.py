"""Ports for the processes tests start, without the race of "bind port 0, close, hand the number
over" (under load another process may take the port in between).

- :func:`bound_socket`: a listening socket to hand to a server in this process (uvicorn's
  ``serve(sockets=[...])``): nobody can take the port, it is never released.
- :func:`owned_listener` and :func:`bind_failed`: for a subprocess that binds the port itself
  (the Temporal CLI, Ray, ``tether serve``), tell a listener of its own from another process's
  on the same port, and a start that failed because the port was taken, so the fixture can try
  again on a new port a bounded number of times (and otherwise fail with the process's output).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from pathlib import Path

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
