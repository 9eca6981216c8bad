"""Replicas of `tether serve` on one PostgreSQL: any replica serves any run; a replica killed
with SIGKILL mid-run leaves a lease that expires and another finishes the run exactly once;
SIGTERM drains (finishing what it can, handing the rest over)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from servers import ChatCompletionsServer, Delay, RecordedRequest, Turn
from store.conftest import postgres_url

from tests._ports import PortedProcess

pytestmark = pytest.mark.postgres

HERE = Path(__file__).parent


class Script:
    """The model: ``record`` then a slow final answer (slow only the first time it is asked)."""

    def __init__(self) -> None:
        self.asked: dict[str, int] = {}

    def __call__(self, request: RecordedRequest) -> Any:
        messages = (request.body or {}).get("messages") or []
        prompt = next((m["content"] for m in messages if m.get("role") == "user"), "")
        results = [m for m in messages if m.get("role") == "tool"]
        key = f"{prompt}|{len(results)}"
        self.asked[key] = self.asked.get(key, 0) + 1
        if prompt.startswith("pay"):
            return (
                Turn(text="payment done") if results else Turn(tool_calls=[("pay", {"amount": 5})])
            )
        if not results:
            return Turn(tool_calls=[("record", {"item": prompt})])
        if prompt.startswith("slow") and self.asked[key] == 1:
            return Delay(3.0, Turn(text=f"late answer for {prompt}"))
        return Turn(text=f"done with {prompt}")


@pytest.fixture(scope="module")
def model() -> Iterator[tuple[ChatCompletionsServer, Script]]:
    script = Script()
    server = ChatCompletionsServer(script)
    server.start()
    yield server, script
    server.stop()


@pytest.fixture(scope="module")
def pg_store() -> Iterator[str]:
    url = postgres_url()
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield f"{url}?options=-csearch_path%3D{schema}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store two replicas share: a SQLite file, or PostgreSQL (a schema of its own)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'runs.db'}"
    else:
        yield request.getfixturevalue("pg_store")


class Replica:
    """One `tether serve` process (it binds its port itself: one taken meanwhile is tried again
    on a new port)."""

    def __init__(self, store: str, model_url: str, work: Path, drain: float = 10.0) -> None:
        path = (str(HERE), os.environ.get("PYTHONPATH"))  # the tree under test's tether too
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in path if p),
            "TETHER_TEST_MODEL_URL": model_url,
            "TETHER_TEST_LEDGER": str(work / "ledger.txt"),
            "TETHER_TRACE_DIR": str(work / "traces"),
        }
        env.pop("TETHER_API_KEYS", None)

        def command(port: int) -> list[str]:
            return [
                sys.executable, "-m", "tether.cli", "serve", "replica_app:agents",
                "--port", str(port), "--store", store, "--lease-ttl", "1.5",
                "--sweep-interval", "0.3", "--drain-timeout", str(drain), "--no-a2a",
            ]  # fmt: skip

        self.log_path = work / f"replica-{uuid.uuid4().hex[:8]}.log"
        self.served = PortedProcess(command, self.log_path, cwd=work, env=env)

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        return self.served.proc

    @property
    def port(self) -> int:
        return self.served.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.served.port}"

    def wait_ready(self) -> None:
        for _ in range(600):
            if self.served.listening():  # ours, not another process's on a taken port
                try:
                    if _HTTP.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
            time.sleep(0.05)
        raise AssertionError(f"replica did not start: {self.output()}")

    def output(self) -> str:
        return self.served.output()

    def stop(self) -> None:
        self.served.stop()


@pytest.fixture
def two_replicas(
    model: tuple[ChatCompletionsServer, Script], store_url: str, tmp_path: Path
) -> Iterator[tuple[Replica, Replica]]:
    """Two `tether serve` processes on one store (ledger and logs in ``tmp_path``)."""
    server, _ = model
    a = Replica(store_url, server.base_url, tmp_path)
    b = Replica(store_url, server.base_url, tmp_path)
    try:
        a.wait_ready()
        b.wait_ready()
        yield a, b
    finally:
        a.stop()
        b.stop()


def _ledger(work: Path) -> list[str]:
    path = work / "ledger.txt"
    return path.read_text().splitlines() if path.exists() else []


def _wait(predicate: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


_HTTP = httpx.Client(timeout=20)  # one client: each new one loads the CA store, slowly


def _state(replica: Replica, run_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = _HTTP.get(f"{replica.url}/v1/runs/{run_id}").json()
    return answer


def _taken_over(replica: Replica) -> int:
    for line in _HTTP.get(f"{replica.url}/metrics").text.splitlines():
        if line.startswith("tether_runs_taken_over_total "):
            return int(line.split()[-1])
    raise AssertionError("no takeover count in /metrics")


@pytest.mark.allow_blocking
@pytest.mark.timeout(180)
def test_replicas_share_runs_take_over_the_dead_and_drain(
    model: tuple[ChatCompletionsServer, Script], pg_store: str, tmp_path: Path
) -> None:
    server, script = model
    a = Replica(pg_store, server.base_url, tmp_path)
    b = Replica(pg_store, server.base_url, tmp_path)
    c = Replica(pg_store, server.base_url, tmp_path, drain=0.5)
    d = Replica(pg_store, server.base_url, tmp_path, drain=15)
    replicas = [a, b, c, d]
    try:
        for replica in replicas:  # they start together
            replica.wait_ready()
        # any replica serves any run: start on A, read and decide on B
        done = _HTTP.post(
            f"{a.url}/v1/runs", json={"agent": "worker", "input": "plain"}, timeout=20
        )
        run_id = done.json()["run_id"]
        assert done.json()["final_text"] == "done with plain"
        assert _state(b, run_id)["final_text"] == "done with plain"
        with _HTTP.stream("GET", f"{b.url}/v1/runs/{run_id}/events") as events:
            kinds = [line[7:] for line in events.iter_lines() if line.startswith("event: ")]
        assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
        paused = _HTTP.post(
            f"{a.url}/v1/runs", json={"agent": "worker", "input": "pay up"}, timeout=20
        )
        call_id = paused.json()["pending_approvals"][0]["call_id"]
        body = {"call_id": call_id, "approved": True}
        paid = _HTTP.post(
            f"{b.url}/v1/runs/{paused.json()['run_id']}/approvals", json=body, timeout=20
        )
        assert paid.json()["final_text"] == "payment done"

        # A dies (SIGKILL) while the model answers the second turn; B finishes the run
        body = {"agent": "worker", "input": "slow one", "background": True, "run_id": "killed-run"}
        assert _HTTP.post(f"{a.url}/v1/runs", json=body).status_code == 202
        # the second model call is under way (the model server delays it): the tool's result
        # was checkpointed before it was sent
        _wait(lambda: script.asked.get("slow one|1", 0) == 1, 20, "the second model call")
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait(10)
        _wait(lambda: _state(b, "killed-run")["state"] == "completed", 30, "the takeover")
        final = _state(b, "killed-run")
        assert final["final_text"] == "done with slow one"
        assert [line for line in _ledger(tmp_path) if "slow one" in line] == [
            f"{a.proc.pid} slow one"
        ]  # the finished tool call was not run again
        assert sum(_taken_over(r) for r in (b, c, d)) == 1  # one replica took it, once

        # SIGTERM drains: C stops accepting, stops its run at a checkpoint, hands it to B
        body = {"agent": "worker", "input": "slow two", "background": True, "run_id": "drained-run"}
        assert _HTTP.post(f"{c.url}/v1/runs", json=body).status_code == 202
        _wait(lambda: script.asked.get("slow two|1", 0) == 1, 20, "the second model call")
        c.proc.send_signal(signal.SIGTERM)
        assert c.proc.wait(20) == 0  # a clean drain exits 0 (not killed by the re-raised signal)
        assert "drained: 0 runs finished, 1 handed over" in c.output()
        _wait(lambda: _state(b, "drained-run")["state"] == "completed", 30, "the handover")
        assert _state(b, "drained-run")["final_text"] == "done with slow two"
        assert len([line for line in _ledger(tmp_path) if "slow two" in line]) == 1

        # SIGTERM with time enough: the run finishes before the process exits
        body = {
            "agent": "worker",
            "input": "slow three",
            "background": True,
            "run_id": "finished-run",
        }
        assert _HTTP.post(f"{d.url}/v1/runs", json=body).status_code == 202
        _wait(lambda: script.asked.get("slow three|1", 0) == 1, 20, "the second model call")
        d.proc.send_signal(signal.SIGTERM)
        assert d.proc.wait(30) == 0
        assert "drained: 1 runs finished, 0 handed over" in d.output()
        assert _state(b, "finished-run")["final_text"] == "late answer for slow three"
    finally:
        for replica in replicas:
            replica.stop()
        _HTTP.close()
