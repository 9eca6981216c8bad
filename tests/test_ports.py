"""The test helpers for ports (tests/_ports.py) hold under a port taken between choosing and
binding it: a process that binds its port itself is started again on a new one and is never
taken for ready on another process's listener; one that cannot start fails with its output."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._ports import PortedProcess, ProcessExited, bound_socket, free_port, refused_port


def _ui(port: int, folder: Path) -> list[str]:
    return [sys.executable, "-m", "tether.cli", "ui", "--port", str(port), "--dir", str(folder)]


def _first_then_free(first: int) -> Iterator[int]:
    yield first
    while True:
        yield free_port()


def test_a_taken_port_is_tried_again_and_the_listener_is_its_own(tmp_path: Path) -> None:
    with bound_socket() as taken:  # another process's listener on the port chosen first
        port = taken.getsockname()[1]
        chosen = _first_then_free(port)
        served = PortedProcess(
            lambda p: _ui(p, tmp_path), tmp_path / "ui.log", ports=lambda: next(chosen)
        )
        try:
            assert not served.listening()  # the taken port's listener is not the process's
            for _ in range(400):  # until it found the port taken, started again and listens
                if served.listening():
                    break
                time.sleep(0.05)
            assert served.listening() and served.port != port and served.starts == 2
            assert "address already in use" in served.output().lower()
            connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
            connection.request("GET", "/api/traces")
            assert connection.getresponse().status == 200
            connection.close()
        finally:
            served.stop()


def test_a_process_that_fails_otherwise_fails_with_its_output(tmp_path: Path) -> None:
    served = PortedProcess(
        lambda p: [sys.executable, "-c", "import sys; sys.exit('no such app: boom')"],
        tmp_path / "bad.log",
    )
    served.proc.wait(10)
    with pytest.raises(ProcessExited, match="no such app: boom"):
        served.listening()
    assert served.starts == 1


def test_a_refused_port_refuses() -> None:
    with refused_port() as port, pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)


CHILD_LISTENS = """
import socket, subprocess, sys
code = "import socket, sys, time; s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1])));"
code += " s.listen(); print('up', flush=True); time.sleep(60)"
subprocess.run([sys.executable, "-c", code, sys.argv[1]])
"""


def test_a_ray_head_counts_only_with_a_listener_of_its_own_session() -> None:
    """Ray's head listens from a child (its GCS): the cluster helper looks through the head's
    session, and a listener of another process on a port does not count."""
    from tests.distributed.cluster import _owned

    port = free_port()
    head = subprocess.Popen(
        [sys.executable, "-c", CHILD_LISTENS, str(port)],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert head.stdout is not None and head.stdout.readline() == b"up\n"
        assert _owned(head.pid, port)
        with bound_socket() as other:  # this process's listener, not the head session's
            assert not _owned(head.pid, other.getsockname()[1])
    finally:
        os.killpg(head.pid, signal.SIGKILL)
        head.wait(10)
        if head.stdout is not None:
            head.stdout.close()
