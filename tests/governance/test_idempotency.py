"""ctx.idempotency_key: stable per call across resume and crash; no refund happens twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tether import Agent, Context, Runner
from tether.context import idempotency_key
from tether.errors import UserError
from tether.models import FakeModel
from tether.store import open_store

HERE = Path(__file__).parent
ROOT = HERE.parent.parent


class Payments:
    """A toy external service: refunds applied once per Idempotency-Key, every request counted."""

    def __init__(self) -> None:
        self.applied: dict[str, int] = {}
        self.requests: list[str] = []
        self.lock = threading.Lock()


@pytest.fixture(scope="module")
def payments() -> Iterator[tuple[str, Payments]]:
    state = Payments()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            key = self.headers.get("Idempotency-Key", "")
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with state.lock:
                state.requests.append(key)
                new = key not in state.applied
                if new:
                    state.applied[key] = 42
            self._send({"applied": new})

        def do_GET(self) -> None:
            key = self.path.rsplit("/", 1)[-1]
            with state.lock:
                self._send({"exists": key in state.applied})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", state
    server.shutdown()
    thread.join(5)
    server.server_close()


def _child(*args: str, killed: bool) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT / 'tests'}"}
    done = subprocess.run(
        [sys.executable, str(HERE / "effect_app.py"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    if killed:
        assert done.returncode == -9, done.stderr
        return {}
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def test_the_key_is_derived_from_run_and_call() -> None:
    key = idempotency_key("run-1", "call-1")
    assert key == idempotency_key("run-1", "call-1") and key.startswith("tether-")
    assert key != idempotency_key("run-1", "call-2") != idempotency_key("run-2", "call-1")
    model = FakeModel()
    model.add_response("hi")
    agent = Agent("a", model=model)
    ctx = Context(deps=None, run_id="r", agent=agent, usage=None, messages=[])  # type: ignore[arg-type]
    with pytest.raises(UserError, match="inside a tool call"):
        _ = ctx.idempotency_key


async def test_the_key_is_the_same_when_a_resumed_call_runs_again(tmp_path: Path) -> None:
    seen: list[tuple[str | None, str]] = []
    model = FakeModel()
    model.add_tool_calls([("ask", {"q": "a"}), ("ask", {"q": "b"})])
    model.add_response("ok")

    def build() -> Agent:
        agent = Agent("asker", model=model)

        @agent.tool
        def ask(ctx: Context[Any], q: str) -> str:
            """Ask a person."""
            seen.append((ctx.tool_call_id, ctx.idempotency_key))
            return str(ctx.request_input(f"answer {q}?"))

        return agent

    url = f"sqlite:///{tmp_path / 'runs.db'}"
    first = Runner(store=open_store(url))
    result = await first.run(build(), "go")
    assert result.state == "awaiting_input"
    await first.aclose()
    second = Runner(store=open_store(url))
    calls = [call_id for call_id, _ in seen]
    result = await second.resume(result.run_id, build(), inputs={c: "yes" for c in calls})
    await second.aclose()
    assert result.state == "completed"
    keys = {call_id: {k for c, k in seen if c == call_id} for call_id in calls}
    assert all(len(k) == 1 for k in keys.values()) and len(seen) == 4
    assert len({next(iter(k)) for k in keys.values()}) == 2  # one key per call
    assert keys == {c: {idempotency_key(result.run_id, c)} for c in calls}


async def _store_url(store: str, tmp_path: Path) -> tuple[str, str | None]:
    if store == "sqlite":
        return f"sqlite:///{tmp_path / 'runs.db'}", None
    from durability.conftest import pg_schema_url
    from store.conftest import postgres_url

    schema, url = await pg_schema_url(postgres_url())
    return url, schema


async def _drop(schema: str | None) -> None:
    if schema is not None:
        from store.conftest import drop_schema, postgres_url

        await drop_schema(postgres_url(), schema)


@pytest.mark.parametrize("store", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_an_idempotent_refund_cut_short_by_sigkill_runs_again_under_its_key(
    store: str, payments: tuple[str, Payments], tmp_path: Path
) -> None:
    """``idempotent=True``: run again on resume with the same key; the service did not repeat
    it. (A tool without it, or with ``effect="external"``, resumes interrupted: see below.)"""
    service, state = payments
    url, schema = await _store_url(store, tmp_path)
    try:
        run_id = uuid.uuid4().hex
        _child(url, run_id, service, str(tmp_path), "run", "1", killed=True)
        report = _child(url, run_id, service, str(tmp_path), "resume", "1", killed=False)
    finally:
        await _drop(schema)
    keys = (tmp_path / "keys.log").read_text().split()
    key = keys[0]
    assert report["state"] == "completed" and report["first_state"] == "completed"
    assert state.applied.get(key) == 42  # the refund happened, exactly once
    assert keys == [key, key] and state.requests.count(key) == 2
    assert "already done" in report["final_text"]


@pytest.mark.parametrize(
    ("store", "crash"),
    [
        ("sqlite", "run"),  # killed after the refund went out, before the tool returned
        ("sqlite", "before"),  # killed before it went out: approved, it runs once, same key
        ("sqlite", "after"),  # killed after the tool returned, before its result was stored
        pytest.param("postgres", "run", marks=pytest.mark.postgres),
        pytest.param("postgres", "after", marks=pytest.mark.postgres),
    ],
)
async def test_an_external_effect_cut_short_resumes_interrupted_with_its_key(
    store: str, crash: str, payments: tuple[str, Payments], tmp_path: Path
) -> None:
    service, state = payments
    url, schema = await _store_url(store, tmp_path)
    try:
        run_id = uuid.uuid4().hex
        _child(url, run_id, service, str(tmp_path), crash, "ext", killed=True)
        report = _child(url, run_id, service, str(tmp_path), "resume", "ext", killed=False)
    finally:
        await _drop(schema)
    assert report["first_state"] == "interrupted" and report["state"] == "completed"
    ((call, key),) = report["keys"].items()
    assert key == idempotency_key(run_id, call) and key in report["first_error"]
    assert "refund" in report["first_error"]
    # the ledger saw the call start; "finished" only when the tool itself got to the end
    (crashed,) = report["ledger_after_crash"]
    assert crashed["key"] == key and crashed["attempts"] == 1
    assert crashed["status"] == ("finished" if crash == "after" else "started")
    assert state.applied.get(key) == 42 and state.requests.count(key) == 1  # exactly once
    (row,) = report["ledger"]
    if crash == "before":  # nothing had gone out: approved, run again under the same key
        assert report["decisions"] == {call: True}
        assert row["status"] == "finished" and row["attempts"] == 2
        assert "refunded 42 (new)" in report["final_text"]
    else:  # it had gone out: the caller told the model instead of running it again
        assert report["decisions"] == {call: "it already went through"}
        # a row cut short inside the tool ends rejected (it stayed started for ever); one the
        # tool had finished keeps what it knows
        ended = "finished" if crash == "after" else "rejected"
        assert row == {**crashed, "status": ended}
        assert report["ledger_finished"] is True


def _cancel(url: str, run_id: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, "-m", "tether.cli", "runs", "cancel", run_id, "--store", url],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("store", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_cancelling_an_interrupted_run_ends_its_cut_short_rows_rejected(
    store: str, payments: tuple[str, Payments], tmp_path: Path
) -> None:
    """A person may give an interrupted run up (``tether runs cancel``) instead of deciding its
    calls: the rows of the calls the crash cut short end ``rejected`` (they stayed ``started``
    for ever), as a rejection on resume ends them."""
    service, _state = payments
    url, schema = await _store_url(store, tmp_path)
    try:
        run_id = uuid.uuid4().hex
        _child(url, run_id, service, str(tmp_path), "run", "ext", killed=True)
        report = _child(url, run_id, service, str(tmp_path), "look", "ext", killed=False)
        assert report["state"] == "interrupted"
        assert [r["status"] for r in report["ledger"]] == ["started"]
        _cancel(url, run_id)  # the way a person gives it up: the CLI, another process
        opened = open_store(url)
        try:
            state = await Runner(store=opened).load_state(run_id)
            rows = await opened.effects(run_id)  # type: ignore[attr-defined]
        finally:
            await opened.close()
    finally:
        await _drop(schema)
    assert state.status == "cancelled"
    assert [(r.status, r.finished_at is not None) for r in rows] == [("rejected", True)]
