"""Sandboxed tools that try to escape: forbidden files, sockets, processes, memory, time."""

from __future__ import annotations

import shutil
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tether import Agent, Context, Runner, Tool, tool
from tether.errors import UserError
from tether.governance import (
    SandboxError,
    ToolPermissionError,
    ToolPermissions,
    ToolSandbox,
    sandbox_namespaces,
)
from tether.models import FakeModel

from . import sandbox_tools as tools

SECRET = "s3cr3t-planted-7781"


@pytest.fixture(scope="module")
def forbidden(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("forbidden") / "secret.txt"
    path.write_text(SECRET)
    return path


@pytest.fixture(scope="module")
def echo_port() -> Iterator[int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                conn.sendall(b"pong:" + conn.recv(16))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(5)
    server.close()


async def test_reading_a_forbidden_file_is_refused(forbidden: Path) -> None:
    with pytest.raises(ToolPermissionError, match=r"reading .*secret\.txt \(filesystem\.read\)"):
        await tools.read_file.invoke(None, {"path": str(forbidden)})  # type: ignore[arg-type]


def _landlock() -> bool:
    """Whether this kernel has Landlock (what keeps files out when the audit hook is disarmed)."""
    import ctypes

    if sys.platform != "linux":
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return bool(libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1)) >= 1)


@pytest.fixture
def outside_secret() -> Iterator[Path]:
    """A secret file outside every ``sys.path`` folder (those stay readable, as
    docs/governance.md says; pytest's own temporary folder may be inside the checkout, as under
    ``make test``, whose root is on ``sys.path``)."""
    folder = Path(tempfile.mkdtemp(prefix="tether-forbidden-", dir="/tmp"))
    secret = folder / "secret.txt"
    secret.write_text(SECRET)
    roots = [Path(p).resolve() for p in sys.path if p]
    assert not any(secret.resolve().is_relative_to(root) for root in roots)
    yield secret
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.skipif(not _landlock(), reason="the kernel has no Landlock")
async def test_a_tool_that_disarms_the_audit_hook_still_reads_no_forbidden_file(
    outside_secret: Path,
) -> None:
    """Python code can reach the hook object (frames) and switch it off; the kernel (Landlock)
    still refuses files outside the declared paths."""
    with pytest.raises(SandboxError, match="PermissionError") as refused:
        await tools.disarm_and_read.invoke(None, {"path": str(outside_secret)})  # type: ignore[arg-type]
    assert SECRET not in str(refused.value)


async def test_a_tool_allowed_a_host_resolves_its_name_under_the_file_rules() -> None:
    """The kernel's file rules leave a network tool what name resolution reads (it failed
    with 'Name or service not known' once Landlock confined the worker)."""
    address = await tools.resolve_allowed.invoke(None, {"host": "localhost"})  # type: ignore[arg-type]
    assert address in ("127.0.0.1", "::1")


async def test_writing_outside_the_allowed_paths_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "planted.txt"
    with pytest.raises(ToolPermissionError, match=r"filesystem\.write"):
        await tools.write_file.invoke(None, {"path": str(target), "text": "x"})  # type: ignore[arg-type]
    assert not target.exists()


async def test_a_refusal_the_tool_swallows_still_reads_nothing(forbidden: Path) -> None:
    assert await tools.swallow.invoke(None, {"path": str(forbidden)}) == "nothing"  # type: ignore[arg-type]


async def test_the_private_working_directory_is_writable() -> None:
    got = await tools.scratch.invoke(None, {"text": "hello"})  # type: ignore[arg-type]
    assert got == {"text": "hello", "cwd_is_tmp": True}


async def test_a_socket_without_network_permission_is_refused(echo_port: int) -> None:
    with pytest.raises(ToolPermissionError, match=r"\(network\)"):
        await tools.open_socket.invoke(None, {"host": "127.0.0.1", "port": echo_port})  # type: ignore[arg-type]


async def test_an_allowed_host_is_reached(echo_port: int) -> None:
    got = await tools.allowed_socket.invoke(None, {"host": "127.0.0.1", "port": echo_port})  # type: ignore[arg-type]
    assert got == "pong:ping"


async def test_a_fork_bomb_is_refused() -> None:
    with pytest.raises(ToolPermissionError, match=r"os\.fork \(subprocess\)"):
        await tools.fork_bomb.invoke(None, {"depth": 64})  # type: ignore[arg-type]


async def test_a_subprocess_needs_permission() -> None:
    with pytest.raises(ToolPermissionError, match="subprocess"):
        await tools.spawn.invoke(None, {"command": "echo escaped"})  # type: ignore[arg-type]
    assert await tools.spawn_allowed.invoke(None, {"word": "hi"}) == "hi\n"  # type: ignore[arg-type]


async def test_exceeding_memory_fails_the_call() -> None:
    with pytest.raises(SandboxError, match="256 MB of memory"):
        await tools.hog_memory.invoke(None, {"megabytes": 1024})  # type: ignore[arg-type]


async def test_a_tool_past_its_timeout_is_stopped() -> None:
    with pytest.raises(SandboxError, match=r"longer than 1\.5s"):
        await tools.sleep_forever.invoke(None, {"seconds": 30})  # type: ignore[arg-type]


async def test_native_code_through_ctypes_is_refused() -> None:
    with pytest.raises(ToolPermissionError, match="ctypes"):
        await tools.native_code.invoke(None, {})  # type: ignore[arg-type]


async def test_the_runs_environment_does_not_reach_the_tool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TETHER_PLANTED_KEY", SECRET)
    assert await tools.read_env.invoke(None, {"name": "TETHER_PLANTED_KEY"}) == "<unset>"  # type: ignore[arg-type]


async def test_a_database_outside_the_paths_is_refused_and_temp_files_work(
    tmp_path: Path,
) -> None:
    target = tmp_path / "planted.db"
    with pytest.raises(ToolPermissionError, match="opening the database"):
        await tools.open_database.invoke(None, {"path": str(target)})  # type: ignore[arg-type]
    assert not target.exists()
    assert await tools.temp_file.invoke(None, {"text": "kept"}) == "kept"  # type: ignore[arg-type]


async def test_async_tools_run_sandboxed() -> None:
    assert await tools.async_add.invoke(None, {"a": 2, "b": 3}) == 5  # type: ignore[arg-type]


def test_a_run_tells_the_model_and_keeps_the_secret_out(forbidden: Path) -> None:
    model = FakeModel()
    model.add_tool_call("read_file", {"path": str(forbidden)})
    model.add_response("could not read it")
    agent = Agent("reader", model=model, tools=[tools.read_file])
    result = Runner(store=None).run_sync(agent, "read the secret")
    assert result.final_text == "could not read it"
    told = result.messages[2].tool_results[0].content
    assert "not permitted" in told and "filesystem.read" in told
    assert all(SECRET not in str(m) for m in result.messages)


def test_declared_permissions_are_parsed_and_checked() -> None:
    declared = ToolPermissions.parse(
        {"network": ["api.example.com"], "filesystem": {"read": ["~/data"]}, "subprocess": True}
    )
    assert declared.network == ("api.example.com",)
    assert declared.read[0].endswith("/data") and declared.read[0].startswith("/")
    assert declared.subprocess is True
    for bad in (
        {"network": "api.example.com"},
        {"filesystem": ["/tmp"]},
        {"subprocess": "yes"},
        {"disk": []},
        {"filesystem": {"execute": ["/bin"]}},
        "network",
    ):
        with pytest.raises(UserError):
            ToolPermissions.parse(bad)  # type: ignore[arg-type]


def test_in_process_tools_only_declare() -> None:
    def peek(path: str) -> str:
        """Read a file in the run's own process."""
        return Path(path).read_text()

    declared = Tool(peek, permissions={"filesystem": {"read": []}})
    assert declared.sandbox is None
    assert declared.permissions == ToolPermissions()
    assert Tool(peek).permissions is None


async def test_tools_that_cannot_be_sandboxed_are_explained() -> None:
    def local(x: int) -> int:
        """Defined inside a function: the worker cannot import it."""
        return x

    with pytest.raises(UserError, match="importable module"):
        await Tool(local, sandbox=True).invoke(None, {"x": 1})  # type: ignore[arg-type]
    tool(tools.read_env.function, sandbox=True)  # no Context: fine

    def with_ctx(ctx: Context[None], x: int) -> int:
        """Needs the run's context."""
        return x

    with pytest.raises(UserError, match="cannot take a Context"):
        Tool(with_ctx, sandbox=True)
    with pytest.raises(UserError, match="ToolSandbox"):
        Tool(local, sandbox="yes")
    with pytest.raises(UserError, match="memory_mb"):
        ToolSandbox(memory_mb=1)


def test_namespaces_are_reported() -> None:
    spaces = sandbox_namespaces()
    assert set(spaces) == {"pid", "net"} and all(isinstance(v, bool) for v in spaces.values())


def test_a_sandboxed_call_gets_its_idempotency_key_in_the_environment() -> None:
    # the worker has no Context, so ctx.idempotency_key reaches it as $TETHER_IDEMPOTENCY_KEY:
    # the same key the call has in process (and after a crash and resume: derived from ids)
    from tether.context import idempotency_key

    model = FakeModel()
    model.add_tool_call("read_env", {"name": "TETHER_IDEMPOTENCY_KEY"})
    model.add_response("read it")
    agent = Agent("env-reader", model=model, tools=[tools.read_env])
    result = Runner(store=None).run_sync(agent, "which key?", run_id="sandbox-key-run")
    call_result = result.messages[2].tool_results[0]
    assert call_result.content == idempotency_key("sandbox-key-run", call_result.call_id)
