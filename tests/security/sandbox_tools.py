"""Tools that try to escape their sandbox (imported by the sandbox worker by module path)."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path
from typing import Any

from tether import tool
from tether.governance import ToolSandbox

_FAST = ToolSandbox(timeout=20, memory_mb=512, cpu_seconds=10)


@tool(permissions={"filesystem": {"read": []}}, sandbox=_FAST)
def read_file(path: str) -> str:
    """Read a file."""
    return Path(path).read_text()


@tool(permissions={"filesystem": {"read": ["/tmp"], "write": []}}, sandbox=_FAST)
def write_file(path: str, text: str) -> str:
    """Write a file."""
    Path(path).write_text(text)
    return "written"


@tool(permissions={"network": []}, sandbox=_FAST)
def open_socket(host: str, port: int) -> str:
    """Connect to host:port."""
    with socket.create_connection((host, port), timeout=2):
        return "connected"


@tool(permissions={"network": ["127.0.0.1"]}, sandbox=_FAST)
def allowed_socket(host: str, port: int) -> str:
    """Connect to host:port (loopback allowed)."""
    with socket.create_connection((host, port), timeout=2) as conn:
        conn.sendall(b"ping")
        return conn.recv(16).decode()


@tool(permissions={"network": ["localhost"]}, sandbox=_FAST)
def resolve_allowed(host: str) -> str:
    """Resolve a host name it may reach (the resolver reads files in /etc)."""
    return str(socket.getaddrinfo(host, 80, type=socket.SOCK_STREAM)[0][4][0])


@tool(sandbox=_FAST)
def fork_bomb(depth: int) -> str:
    """Fork until stopped."""
    for _ in range(depth):
        os.fork()
    return "forked"


@tool(sandbox=_FAST)
def spawn(command: str) -> str:
    """Run a shell command."""
    return subprocess.run(command, shell=True, capture_output=True, text=True).stdout


@tool(permissions={"subprocess": True}, sandbox=_FAST)
def spawn_allowed(word: str) -> str:
    """Echo a word through a subprocess (allowed)."""
    return subprocess.run(["echo", word], capture_output=True, text=True, check=True).stdout


@tool(sandbox=ToolSandbox(timeout=20, memory_mb=256, cpu_seconds=10))
def hog_memory(megabytes: int) -> int:
    """Allocate memory."""
    block = bytearray(megabytes * 1024 * 1024)
    return len(block)


@tool(sandbox=ToolSandbox(timeout=1.5, memory_mb=256, cpu_seconds=10))
def sleep_forever(seconds: float) -> str:
    """Sleep."""
    import time

    time.sleep(seconds)
    return "woke"


@tool(sandbox=_FAST)
def native_code() -> str:
    """Reach libc through ctypes."""
    import ctypes

    return str(ctypes.CDLL(None).getpid())


@tool(sandbox=_FAST)
def read_env(name: str) -> str:
    """Read an environment variable."""
    return os.environ.get(name, "<unset>")


@tool(permissions={"filesystem": {"read": [], "write": []}}, sandbox=_FAST)
def scratch(text: str) -> dict[str, object]:
    """Write and read back a file in the private working directory."""
    Path("note.txt").write_text(text)
    return {"text": Path("note.txt").read_text(), "cwd_is_tmp": os.getcwd().startswith("/tmp")}


@tool(sandbox=_FAST)
def open_database(path: str) -> str:
    """Open a SQLite database."""
    import sqlite3

    sqlite3.connect(path).close()
    return "opened"


@tool(sandbox=_FAST)
def temp_file(text: str) -> str:
    """Write a temporary file."""
    import tempfile

    with tempfile.NamedTemporaryFile("w+", suffix=".txt") as handle:
        handle.write(text)
        handle.seek(0)
        return handle.read()


@tool(sandbox=_FAST)
async def async_add(a: int, b: int) -> int:
    """Add, asynchronously."""
    return a + b


@tool(sandbox=_FAST)
def swallow(path: str) -> str:
    """Try to read a file and hide the refusal."""
    try:
        return Path(path).read_text()
    except Exception:
        return "nothing"


def _worker_guard() -> object | None:
    """The worker's audit hook object, found from Python (a traceback's frames up to its main)."""
    try:
        raise RuntimeError
    except RuntimeError as exc:
        trace: Any = exc.__traceback__
    frame = trace.tb_frame
    while frame is not None:
        if "guard" in frame.f_locals:
            return frame.f_locals["guard"]
        frame = frame.f_back
    return None


@tool(permissions={"filesystem": {"read": []}}, sandbox=_FAST)
def disarm_and_read(path: str) -> str:
    """Switch the audit hook off from Python (and widen its paths), then read a file."""
    guard: Any = _worker_guard()
    if guard is None:
        return "no guard found"
    guard.local.busy = True  # the hook now returns at once
    guard.read_roots.append("/")
    return Path(path).read_text()
