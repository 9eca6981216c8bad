"""Suite-wide habits: no real network, no blocking I/O on the event loop, no real API keys."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

_PROVIDER_KEYS = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "OPENROUTER_API_KEY",
    "OLLAMA_HOST",
    "OPENAI_BASE_URL",
)


def _is_local(address: Any) -> bool:
    if isinstance(address, str | bytes):  # unix socket path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _no_real_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection to a non-loopback address (a real provider) fails the test loudly."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        if not _is_local(address):
            raise AssertionError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> Any:
        if not _is_local(address):
            raise AssertionError(f"test tried to reach the network: {address!r}")
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    for key in _PROVIDER_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(monkeypatch_home(monkeypatch)))


def monkeypatch_home(monkeypatch: pytest.MonkeyPatch) -> str:
    """A HOME without ~/.tether/config.toml, so no user's keys leak into tests."""
    import tempfile

    return tempfile.mkdtemp(prefix="tether-home-")


@pytest.fixture(autouse=True)
def _blockbuster(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail async tests that do blocking I/O on the event loop."""
    if request.node.get_closest_marker("allow_blocking") or not _is_async_test(request):
        yield
        return
    from blockbuster import blockbuster_ctx

    with blockbuster_ctx(scanned_modules=["tether"]) as bb:
        # pydantic scans the installed plugins once, when it builds its first validator; the
        # Agent's is built by the first Agent() (defer_build), which may be in an async test.
        # The SQLite store commits appends on the loop when that syncs and waits for nothing
        # (docs/decisions.md, "SQLite appends committed on the event loop"); a run's last
        # trace lines are appended on the loop when the writer thread is idle ("JSONL tracing,
        # round six").
        for function in bb.functions.values():
            function.can_block_in("pydantic/plugin/_loader.py", "get_plugins")
            function.can_block_in("tether/store/_worker.py", "_commit_alone")
            function.can_block_in("tether/tracing/writer.py", "_write_here")
        yield
    del bb


def _is_async_test(request: pytest.FixtureRequest) -> bool:
    import inspect

    function = getattr(request.node, "function", None)
    return function is not None and inspect.iscoroutinefunction(function)
