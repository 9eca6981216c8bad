"""Fixtures for the compat facades: loopback model servers and a clean working directory."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from servers import ChatCompletionsServer, ResponsesServer

from tether.models._http import aclose_clients


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test runs in its own directory (stores and trace folders are relative)."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
async def _close_http_clients() -> AsyncIterator[None]:
    """Close the HTTP clients a test opened on its event loop."""
    yield
    await aclose_clients()


@pytest.fixture(scope="module")
def chat_server() -> Iterator[ChatCompletionsServer]:
    """A Chat Completions server on 127.0.0.1 (one per module)."""
    server = ChatCompletionsServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def responses_server() -> Iterator[ResponsesServer]:
    """A Responses API server on 127.0.0.1 (one per module)."""
    server = ResponsesServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def openai_env(
    responses_server: ResponsesServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ResponsesServer]:
    """What a user of the OpenAI Agents SDK sets: the key, and here the loopback server as the
    base URL (the facade's default provider is OpenAI's)."""
    from tether.compat import openai_agents as sdk

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", responses_server.base_url)
    sdk._PROVIDER._models.clear()
    yield responses_server
    sdk._PROVIDER._models.clear()
