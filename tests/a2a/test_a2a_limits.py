"""The A2A routes refuse an oversize request body with 413, in each binding's error form,
under `tether serve` (its --max-body) and from `routes()` alone (1 MiB by default)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import a2a_agents
import httpx
import pytest
from _a2akit import serve_in_thread
from starlette.applications import Starlette

from tether import Runner, UserError
from tether.a2a import routes
from tether.server import ServerConfig, create_app

HEADERS = {"Content-Type": "application/json", "A2A-Version": "1.0"}


def _send_body(text: str) -> bytes:
    message = {"messageId": "m-1", "role": "ROLE_USER", "parts": [{"text": text}]}
    request = {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": message}}
    return json.dumps(request).encode()


def _chunked(body: bytes) -> Iterator[bytes]:  # no Content-Length: the body is counted
    for start in range(0, len(body), 64 * 1024):
        yield body[start : start + 64 * 1024]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    runner = Runner(store=f"sqlite:///{tmp_path / 'runs.db'}", telemetry=None)
    runner.register_agent(a2a_agents.echo)
    with serve_in_thread(create_app(runner, ServerConfig(max_body_bytes=10_000))) as url:
        yield url


def test_tether_serve_applies_its_body_limit_to_a2a(served: str) -> None:
    rpc = f"{served}/a2a/echo"
    with httpx.Client(timeout=30) as http:
        small = http.post(rpc, content=_send_body("hello"), headers=HEADERS)
        assert small.status_code == 200 and "echo #1: hello" in small.text
        big = _send_body("x" * 20_000)
        for content in (big, _chunked(big)):
            refused = http.post(rpc, content=content, headers=HEADERS)
            assert refused.status_code == 413
            error = refused.json()
            assert error["jsonrpc"] == "2.0" and error["id"] is None
            assert error["error"]["code"] == -32600
            assert "larger than 10000 bytes" in error["error"]["message"]
        rest = http.post(f"{rpc}/rest/message:send", content=big, headers=HEADERS)
        assert rest.status_code == 413
        assert "larger than 10000 bytes" in rest.json()["error"]["message"]
        # the server goes on answering
        again = http.post(rpc, content=_send_body("after"), headers=HEADERS)
        assert again.status_code == 200 and "echo #1: after" in again.text


def test_routes_alone_refuse_over_one_mib(tmp_path: Path) -> None:
    runner = Runner(store=f"sqlite:///{tmp_path / 'runs.db'}", telemetry=None)
    runner.register_agent(a2a_agents.echo)
    with serve_in_thread(Starlette(routes=routes(runner))) as url, httpx.Client(timeout=30) as h:
        refused = h.post(f"{url}/a2a/echo", content=_send_body("x" * (1 << 20)), headers=HEADERS)
        assert refused.status_code == 413
        fits = h.post(f"{url}/a2a/echo", content=_send_body("x" * 900_000), headers=HEADERS)
        assert fits.status_code == 200
    with pytest.raises(UserError, match="max_body must be at least 1"):
        routes(runner, max_body=0)
