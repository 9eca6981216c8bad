"""Fixtures for provider tests: loopback protocol servers and models pointed at them."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from provider_helpers import FAST, PROVIDERS
from servers import AnthropicServer, ChatCompletionsServer, ModelServer, ResponsesServer

from tether.models._http import aclose_clients
from tether.models.base import Model
from tether.models.resilience import ModelRuntime
from tether.models.resolve import resolve_model


@pytest.fixture(autouse=True)
async def _close_http_clients() -> AsyncIterator[None]:
    """Close the HTTP clients a test opened on its event loop."""
    yield
    await aclose_clients()


def _serve(cls: type[ModelServer]) -> Iterator[ModelServer]:
    server = cls().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def chat_server() -> Iterator[ModelServer]:
    """A Chat Completions server."""
    yield from _serve(ChatCompletionsServer)


@pytest.fixture
def responses_server() -> Iterator[ModelServer]:
    """A Responses API server."""
    yield from _serve(ResponsesServer)


@pytest.fixture
def anthropic_server() -> Iterator[ModelServer]:
    """An Anthropic Messages server."""
    yield from _serve(AnthropicServer)


MakeModel = Callable[..., Model]


@pytest.fixture(params=list(PROVIDERS))
def provider(request: pytest.FixtureRequest) -> Iterator[tuple[ModelServer, MakeModel]]:
    """(server, make_model) for each provider protocol."""
    prefix = request.param
    cls, name = PROVIDERS[prefix]
    server = cls().start()

    def make(runtime: ModelRuntime | None = FAST, **kw: Any) -> Model:
        return resolve_model(
            f"{prefix}:{name}", api_key="test-key", base_url=server.base_url, runtime=runtime, **kw
        )

    try:
        yield server, make
    finally:
        server.stop()
