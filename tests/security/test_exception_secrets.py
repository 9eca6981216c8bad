"""An exception's text recorded anywhere (a deferred call's failure, a model retry, a fallback,
a degraded run, the MCP server's tool answer) has its secrets scrubbed: read back from a real
SQLite store, the JSONL trace, the Result and what the model was sent."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from servers import ChatCompletionsServer, ModelServer, Turn
from servers._base import HTTPError

from tether import Agent, Deferred, Runner
from tether.models import FallbackModel
from tether.models._http import aclose_clients
from tether.models.resilience import ModelRuntime, RetryPolicy
from tether.models.resolve import resolve_model
from tether.run.config import FailSafeConfig, RunConfig
from tether.tracing.jsonl import JsonlExporter

MODEL_KEY = "sk-model-key-for-the-test-0123456"
LEAKED_KEY = "sk-proj-leakedKey0123456789abcdef"
BEARER = "eyJleaked.bearer-token.0123456789"
LEAK = f"upstream said: Authorization: Bearer {BEARER}; key={LEAKED_KEY}"
RETRY = ModelRuntime(retry=RetryPolicy(initial_delay=0.001, max_delay=0.005), breaker=None)
ONCE = ModelRuntime(retry=None, breaker=None)


@pytest.fixture
def server() -> Iterator[ModelServer]:
    started = ChatCompletionsServer().start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(autouse=True)
async def _close_clients() -> AsyncIterator[None]:
    yield
    await aclose_clients()


def _model(server: ModelServer, runtime: ModelRuntime = ONCE) -> Any:
    return resolve_model(
        "openai-chat:gpt-4o-mini", api_key=MODEL_KEY, base_url=server.base_url, runtime=runtime
    )


def _runner(tmp_path: Path) -> Runner:
    return Runner(
        store=f"sqlite:///{tmp_path / 'store' / 'runs.db'}",
        telemetry=[JsonlExporter(tmp_path / "traces")],
    )


def _files(folder: Path) -> str:
    return "\n".join(
        Path(root, name).read_bytes().decode("utf-8", "replace")
        for root, _, names in os.walk(folder)
        for name in names
    )


async def _assert_no_leak(tmp_path: Path, *seen: Any) -> str:
    """Nothing of the secrets in the store's files, the traces, ``seen``; the store's text."""
    stored = await asyncio.to_thread(_files, tmp_path / "store")
    traces = await asyncio.to_thread(_files, tmp_path / "traces")
    assert stored.strip() and traces.strip()
    for where, text in [("store", stored), ("trace", traces), ("seen", json.dumps(seen))]:
        assert LEAKED_KEY not in text, where
        assert BEARER not in text, where
    return stored


def _sent(server: ModelServer) -> str:
    return json.dumps([r.body for r in server.requests])


async def test_a_deferred_failure_is_scrubbed_in_store_trace_result_and_model(
    server: ModelServer, tmp_path: Path
) -> None:
    agent = Agent("studio", model=_model(server))

    @agent.tool
    def upload(name: str) -> Deferred:
        """Start an upload."""
        return Deferred(ticket=f"job-{name}")

    server.add(Turn(tool_calls=[("upload", {"name": "a"})]), Turn(text="the upload failed"))
    runner = _runner(tmp_path)
    runner.register_agent(agent)
    paused = await runner.run(agent, "upload a")
    assert paused.state == "awaiting_deferred"
    (call_id,) = paused.deferred
    done = await runner.resolve_deferred(paused.run_id, call_id, ConnectionError(LEAK))
    await runner.aclose()
    assert done.state == "degraded"
    (failed,) = done.tool_executions
    assert failed.error is not None and failed.error.startswith("ConnectionError: upstream said")
    assert "[secret]" in failed.error
    await _assert_no_leak(tmp_path, failed.error, done.degraded_reasons)
    assert "[secret]" in _sent(server)
    assert LEAKED_KEY not in _sent(server) and BEARER not in _sent(server)


async def test_a_model_retry_and_a_fallback_record_the_error_scrubbed(
    server: ModelServer, tmp_path: Path
) -> None:
    backup = ChatCompletionsServer().start()
    try:
        failing = HTTPError(500, {"error": {"message": LEAK}})
        server.add(failing, failing, failing)  # a retry, then out of retries: the fallback
        backup.add(Turn(text="answered by the backup"))
        agent = Agent("helper", model=FallbackModel(_model(server, RETRY), _model(backup)))
        runner = _runner(tmp_path)
        result = await runner.run(agent, "hello")
        await runner.aclose()
    finally:
        backup.stop()
    assert result.final_text == "answered by the backup"
    stored = await _assert_no_leak(tmp_path)
    assert "model_retry" in stored and "model_fallback" in stored and "[secret]" in stored


async def test_a_run_failsafe_retry_and_degrade_record_the_error_scrubbed(
    server: ModelServer, tmp_path: Path
) -> None:
    failing = HTTPError(500, {"error": {"message": LEAK}})
    server.add(failing, failing)
    agent = Agent("helper", model=_model(server))
    runner = _runner(tmp_path)
    config = RunConfig(fail_safe=FailSafeConfig(model="retry_then_degrade", max_retries=1))
    result = await runner.run(agent, "hello", run_config=config)
    await runner.aclose()
    assert result.state == "degraded"
    (reason,) = result.degraded_reasons
    assert reason.startswith("model call failed") and "[secret]" in reason
    stored = await _assert_no_leak(tmp_path, result.degraded_reasons, result.error)
    assert "model_retry" in stored


async def test_a_tools_retry_message_is_scrubbed_before_the_model_the_store_and_the_result(
    server: ModelServer, tmp_path: Path
) -> None:
    from tether.errors import Retry

    agent = Agent("ops", model=_model(server))

    @agent.tool
    def login(user: str) -> str:
        """Log in."""
        raise Retry(f"login refused, try again: {LEAK}")  # a Retry quoting what upstream said

    server.add(Turn(tool_calls=[("login", {"user": "ann"})]), Turn(text="could not log in"))
    runner = _runner(tmp_path)
    result = await runner.run(agent, "log in")
    await runner.aclose()
    (retried,) = result.tool_executions
    assert retried.error is not None and retried.error.startswith("login refused, try again")
    assert "[secret]" in retried.error
    await _assert_no_leak(tmp_path, retried.error, repr(result.messages))
    assert "[secret]" in _sent(server)
    assert LEAKED_KEY not in _sent(server) and BEARER not in _sent(server)


async def test_a_run_failed_by_a_tools_error_records_it_without_its_pii_or_secrets(
    server: ModelServer, tmp_path: Path
) -> None:
    from tether.governance import PIIRedactionHook, PolicyHooks

    agent = Agent("crm", model=_model(server))

    @agent.tool
    def lookup(name: str) -> str:
        """Look a customer up."""
        raise LookupError(f"no customer ana.private@example.com ({LEAK})")

    server.add(Turn(tool_calls=[("lookup", {"name": "Ana"})]))
    runner = Runner(
        store=f"sqlite:///{tmp_path / 'store' / 'runs.db'}",
        telemetry=[JsonlExporter(tmp_path / "traces")],
        policy_hooks=PolicyHooks(pii_redaction=PIIRedactionHook()),
    )
    config = RunConfig(fail_safe=FailSafeConfig(tool="fail_run"))
    with pytest.raises(LookupError):  # the tool's own exception reaches the caller
        await runner.run(agent, "find Ana", run_config=config)
    (summary,) = await runner.store.list_runs()
    events = await runner.store.load(summary.run_id)
    await runner.aclose()
    finished = [e for e in events if e.type == "run_finished"]
    assert [e.state for e in finished] == ["failed"]  # type: ignore[attr-defined]
    error = finished[0].error  # type: ignore[attr-defined]
    assert error.startswith("no customer [REDACTED_EMAIL]") and "[secret]" in error
    stored = await _assert_no_leak(tmp_path)
    traces = await asyncio.to_thread(_files, tmp_path / "traces")
    for text in (stored, traces):
        assert "ana.private@example.com" not in text and "[REDACTED_EMAIL]" in text


@pytest.mark.allow_blocking  # the MCP SDK's in-process transport
async def test_the_mcp_servers_answer_for_a_failing_tool_is_scrubbed() -> None:
    from mcp import Client

    from tether.mcp import build_server
    from tether.models import FakeModel

    agent = Agent("ops", model=FakeModel())

    @agent.tool
    def fetch(url: str) -> str:
        """Fetch a page."""
        raise PermissionError(LEAK)

    runner = Runner(store=None, telemetry=None)
    runner.register_agent(agent)
    async with Client(build_server(runner, tools=True)) as client:
        answer = await client.call_tool("ops.fetch", {"url": "https://example.test"})
    await runner.aclose()
    text = "".join(block.text for block in answer.content if block.type == "text")
    assert answer.is_error and text.startswith("PermissionError: upstream said")
    assert "[secret]" in text and LEAKED_KEY not in text and BEARER not in text
