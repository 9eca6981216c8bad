"""Fixtures of the MCP tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from _mcpkit import CALC_SERVER, start_http, stop


@pytest.fixture(scope="session")
def calc_http() -> Iterator[str]:
    """The calc server over Streamable HTTP, once per test session; yields its URL."""
    process, port = start_http(lambda port: [sys.executable, CALC_SERVER, "http", str(port)])
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        stop(process)
