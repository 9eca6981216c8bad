"""The tool sandbox: run one tool call in a worker process that holds to the tool's permissions.

``Tool(fn, permissions={...}, sandbox=True)`` (or ``sandbox=ToolSandbox(...)``) runs each call
in a fresh Python process with:

- rlimits: address space (``memory_mb``), CPU seconds, largest file written;
- a wall-clock ``timeout``, after which the whole process group is killed;
- a PID namespace of its own when ``unshare`` can make one (so nothing it forks outlives it)
  and, when the tool may not use the network, a network namespace with no interfaces;
- a private empty working directory (also ``HOME``), deleted afterwards, and an environment of
  only ``PATH``, ``HOME`` and ``LANG`` plus the names in ``env``: the run's secrets stay out;
- an audit hook (:func:`sys.addaudithook`) refusing files outside ``filesystem.read`` /
  ``filesystem.write``, connections to hosts not in ``network``, starting processes unless
  ``subprocess`` is true, and native code through ``ctypes``.

What the audit hook does not stop is documented in docs/governance.md (native extension
modules that make system calls themselves; the tool module's own import-time code).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..errors import Retry, UserError
from .permissions import SandboxError, ToolPermissionError, ToolPermissions

__all__ = ["SandboxedTool", "ToolSandbox", "run_sandboxed", "sandbox_namespaces"]


class SandboxedTool(Protocol):
    """What running a call sandboxed reads of a ``tether.tools.Tool`` (which implements it)."""

    @property
    def name(self) -> str:
        """The tool's name (in errors)."""

    @property
    def function(self) -> Callable[..., Any]:
        """The function run in the worker (imported there by module and qualified name)."""

    @property
    def permissions(self) -> ToolPermissions | None:
        """What a call may do."""

    @property
    def sandbox(self) -> ToolSandbox | None:
        """The sandbox a call runs in."""


_WORKER = str(Path(__file__).with_name("_worker.py"))
_REPLY_LIMIT = 32 * 1024 * 1024


@dataclass(frozen=True)
class ToolSandbox:
    """Limits of a sandboxed tool call.

    ``timeout`` (wall seconds), ``cpu_seconds``, ``memory_mb`` (address space of the worker,
    the Python interpreter included), ``max_file_mb`` (largest file it may write),
    ``max_stderr_chars`` (what is kept of its stderr for an error message) and ``env`` (names
    of environment variables passed through; none by default).
    """

    timeout: float = 30.0
    cpu_seconds: int = 30
    memory_mb: int = 512
    max_file_mb: int = 64
    max_stderr_chars: int = 4_000
    env: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.timeout <= 0 or self.cpu_seconds <= 0 or self.memory_mb < 64:
            raise UserError("ToolSandbox: timeout and cpu_seconds > 0, memory_mb >= 64")

    def _limit(self) -> None:  # in the child, between fork and exec
        import resource

        resource.setrlimit(resource.RLIMIT_CPU, (self.cpu_seconds, self.cpu_seconds))
        memory = self.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        size = self.max_file_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


_NAMESPACES: dict[str, bool] = {}


def sandbox_namespaces() -> dict[str, bool]:
    """Which kernel namespaces this machine lets the sandbox use: ``{"pid": ..., "net": ...}``
    (both need ``unshare`` and, usually, root)."""
    if not _NAMESPACES:
        import subprocess

        def works(*flags: str) -> bool:
            if shutil.which("unshare") is None:
                return False
            try:
                done = subprocess.run(
                    ["unshare", *flags, "true"], capture_output=True, check=False, timeout=10
                )
            except (OSError, subprocess.TimeoutExpired):
                return False
            return done.returncode == 0

        _NAMESPACES["pid"] = works("--pid", "--fork", "--kill-child")
        _NAMESPACES["net"] = works("--net")
    return dict(_NAMESPACES)


def _where(tool: SandboxedTool) -> tuple[str, str]:
    function = tool.function
    module = getattr(function, "__module__", None)
    qualname = getattr(function, "__qualname__", "")
    found: Any = sys.modules.get(module or "")
    for part in qualname.split("."):
        found = getattr(found, part, None)
    if module in (None, "__main__") or "<locals>" in qualname or found is None:
        raise UserError(
            f"tool {tool.name!r} cannot run sandboxed: its function must be defined at the top "
            "level of an importable module (not in __main__, a notebook or another function)"
        )
    if found is not function and getattr(found, "function", None) is not function:
        raise UserError(f"tool {tool.name!r}: {module}.{qualname} is not this tool's function")
    assert module is not None
    return module, qualname


def _command(network: bool) -> list[str]:
    spaces = sandbox_namespaces()
    command = [sys.executable, "-I", _WORKER]
    prefix: list[str] = []
    if spaces["pid"]:
        prefix += ["--pid", "--fork", "--kill-child"]
    if spaces["net"] and not network:
        prefix += ["--net"]
    return ["unshare", *prefix, "--", *command] if prefix else command


def _prepare(
    tool: SandboxedTool, args: dict[str, Any], permissions: ToolPermissions
) -> tuple[bytes, str, list[str]]:
    """The worker's request, its private directory and command line (blocking: in a thread)."""
    module, qualname = _where(tool)
    request = json.dumps(
        {
            "module": module,
            "qualname": qualname,
            "args": args,
            "permissions": permissions.to_dict(),
            "sys_path": [os.path.abspath(p) if p else os.getcwd() for p in sys.path],
        },
        default=str,
    ).encode()
    home = tempfile.mkdtemp(prefix="tether-sandbox-")
    return request, home, _command(bool(permissions.network))


async def _read(stream: asyncio.StreamReader, limit: int) -> bytes:
    kept = bytearray()
    while chunk := await stream.read(65536):
        if len(kept) < limit:
            kept += chunk[: limit - len(kept)]
    return bytes(kept)


async def run_sandboxed(
    tool: SandboxedTool, args: dict[str, Any], *, idempotency_key: str | None = None
) -> Any:
    """Run one call of ``tool`` with the model's ``args`` in a sandboxed worker; its value
    (as JSON: a pydantic model comes back as a dict). ``idempotency_key`` (the call's
    ``ctx.idempotency_key``) is the worker's ``$TETHER_IDEMPOTENCY_KEY``. Raises
    :class:`ToolPermissionError` when the tool tried something not permitted and failed,
    :class:`SandboxError` for any other failure, :class:`~tether.Retry` when the tool asked the
    model to retry."""
    sandbox = tool.sandbox if isinstance(tool.sandbox, ToolSandbox) else ToolSandbox()
    permissions = tool.permissions or ToolPermissions()
    request, home, command = await asyncio.to_thread(_prepare, tool, args, permissions)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "TMPDIR": home,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        **{name: os.environ[name] for name in sandbox.env if name in os.environ},
    }
    if idempotency_key is not None:
        env["TETHER_IDEMPOTENCY_KEY"] = idempotency_key
    try:
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=home,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            preexec_fn=sandbox._limit,
            start_new_session=True,
        )
        try:
            assert process.stdin is not None and process.stdout is not None
            assert process.stderr is not None
            process.stdin.write(request)
            process.stdin.close()
            reading = asyncio.gather(
                _read(process.stdout, _REPLY_LIMIT),
                _read(process.stderr, sandbox.max_stderr_chars),
                process.wait(),
            )
            try:
                reply, stderr, _ = await asyncio.wait_for(reading, sandbox.timeout)
            except TimeoutError:
                raise SandboxError(
                    f"tool {tool.name!r} ran longer than {sandbox.timeout:g}s and was stopped"
                ) from None
        finally:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, 9)
                await process.wait()
    finally:
        await asyncio.to_thread(shutil.rmtree, home, True)
    return _outcome(tool, sandbox, process.returncode, reply, stderr)


def _outcome(
    tool: SandboxedTool, sandbox: ToolSandbox, code: int | None, reply: bytes, stderr: bytes
) -> Any:
    try:
        answer = json.loads(reply) if reply else None
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        if code is not None and code < 0 and -code in (9, 24):  # SIGKILL, SIGXCPU
            raise SandboxError(
                f"tool {tool.name!r} was killed: out of its {sandbox.cpu_seconds}s of CPU "
                f"or {sandbox.memory_mb} MB of memory"
            )
        tail = stderr.decode(errors="replace").strip()[-500:]
        raise SandboxError(f"tool {tool.name!r}: its sandbox worker died (exit {code}): {tail}")
    error = answer.get("error")
    if not isinstance(error, dict):
        return answer.get("value")
    message = str(error.get("message", ""))
    if error.get("retry"):
        raise Retry(message)
    if error.get("type") == "Denied":
        denied = "; ".join(str(d) for d in error.get("denials", ())) or message
        raise ToolPermissionError(f"tool {tool.name!r} is not permitted: {denied}")
    if error.get("raised", error.get("type")) == "MemoryError":
        raise SandboxError(f"tool {tool.name!r} ran out of its {sandbox.memory_mb} MB of memory")
    raise SandboxError(f"tool {tool.name!r} raised {error.get('type')}: {message}")
