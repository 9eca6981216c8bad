"""`tether serve --engine ray --address ...`: the server's runs execute on the session's Ray
cluster, the run API (start, events, get, approve, cancel) keeps working for them through the
shared PostgreSQL store, and a Ray worker SIGKILLed mid-run is retried by Ray from its checkpoint
(each tool once, no model call asked twice)."""

from __future__ import annotations

import json
import os
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
from store.conftest import postgres_url

from tests.distributed.cluster import free_port
from tests.distributed.conftest import ROOT, items_asked, ledger_entries

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(300)]

_HTTP = httpx.Client(timeout=30)  # one client: each new one loads the CA store, slowly


@pytest.fixture(scope="module")
def pg_store() -> Iterator[str]:
    url = postgres_url()
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield f"{url}?options=-csearch_path%3D{schema}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


class Server:
    """One `tether serve ... --engine ray` process."""

    def __init__(self, cluster: Any, store: str, work: Path) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
        env = {**cluster.env, "PYTHONPATH": path, "TETHER_TRACE_DIR": str(work / "traces")}
        env.pop("TETHER_API_KEYS", None)
        command = [
            sys.executable, "-m", "tether.cli", "serve", "tests.distributed.agents:served",
            "--engine", "ray", "--address", cluster.address, "--store", store,
            "--port", self.url.rsplit(":", 1)[1], "--no-a2a", "--lease-ttl", "3",
            "--ray-workers", "1",
        ]  # fmt: skip
        self.log_path = work / "serve.log"
        with self.log_path.open("w") as log:
            self.proc = subprocess.Popen(command, cwd=work, env=env, stdout=log, stderr=log)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"tether serve exited: {self.log_path.read_text()}"
            try:
                if _HTTP.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"tether serve did not start: {self.log_path.read_text()}")

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return _HTTP.post(f"{self.url}{path}", json=body)

    def get(self, run_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = _HTTP.get(f"{self.url}/v1/runs/{run_id}").json()
        return answer

    def events(self, run_id: str) -> list[dict[str, Any]]:
        """The run's events as the SSE stream gives them, until the run ends."""
        events = []
        with _HTTP.stream("GET", f"{self.url}/v1/runs/{run_id}/events") as stream:
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
        return events

    def wait_state(self, run_id: str, *states: str) -> dict[str, Any]:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            snapshot = self.get(run_id)
            if snapshot["state"] in states:
                return snapshot
            time.sleep(0.1)
        raise AssertionError(f"run {run_id} never got to {states}: {self.get(run_id)}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        _HTTP.close()


@pytest.fixture(scope="module")
def served(
    ray_cluster: Any, pg_store: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    server = Server(ray_cluster, pg_store, tmp_path_factory.mktemp("serve-ray"))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def _pids(item: str) -> list[int]:
    return [pid for name, pid, _ in ledger_entries() if name == item]


@pytest.mark.allow_blocking
def test_background_runs_execute_on_ray_and_the_run_api_follows_them(
    served: Server, model_server: Any
) -> None:
    started = served.post("/v1/runs", {"agent": "batcher", "input": "serve-1", "background": True})
    assert started.status_code == 202
    run_id = started.json()["run_id"]
    events = served.events(run_id)  # streamed from the store as the worker writes them
    kinds = [e["type"] for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert kinds.count("tool_call_finished") == 2
    snapshot = served.get(run_id)
    assert (snapshot["state"], snapshot["output"]) == ("completed", "done serve-1")
    # executed in a Ray worker process, not in the server
    (pid,) = _pids("serve-1")
    assert pid != served.proc.pid

    # a plain run (the client waits for the Result) goes to Ray too
    plain = served.post("/v1/runs", {"agent": "batcher", "input": "serve-2"}).json()
    assert plain["output"] == "done serve-2" and _pids("serve-2") != [served.proc.pid]

    # approve: the run waits for a decision, which is carried out on a worker
    paying = served.post("/v1/runs", {"agent": "payer", "input": "pay-1", "background": True})
    pay_id = paying.json()["run_id"]
    waiting = served.wait_state(pay_id, "awaiting_approval")
    call_id = waiting["pending_approvals"][0]["call_id"]
    assert _pids("pay-1") == []  # not run before the approval
    paid = served.post(f"/v1/runs/{pay_id}/approvals", {"call_id": call_id, "approved": True})
    assert paid.status_code == 200, paid.text
    assert paid.json()["final_text"] == "paid pay-1"
    assert len(_pids("pay-1")) == 1 and _pids("pay-1") != [served.proc.pid]

    # cancel: a run waiting on its model is stopped on its worker and ends cancelled
    hanging = served.post("/v1/runs", {"agent": "batcher", "input": "hang-1", "background": True})
    hang_id = hanging.json()["run_id"]
    deadline = time.monotonic() + 30
    while items_asked(model_server, "hang-1") == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    cancelled = served.post(f"/v1/runs/{hang_id}/cancel", {})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["state"] == "cancelled"
    kinds = [e["type"] for e in served.events(hang_id)]
    assert kinds[-1] == "run_finished" and kinds.count("run_finished") == 1


@pytest.mark.allow_blocking
def test_a_worker_killed_mid_run_is_retried_from_its_checkpoint(
    served: Server, model_server: Any
) -> None:
    body = {"agent": "batcher", "input": "crash-b", "background": True, "run_id": "serve-crash"}
    assert served.post("/v1/runs", body).status_code == 202
    events = served.events("serve-crash")  # followed across the kill and the retry
    assert events[-1]["type"] == "run_finished" and events[-1]["state"] == "completed"
    assert Path(f"{os.environ['TETHER_TEST_LEDGER']}.crash-b.crashed").exists()  # it did die
    assert served.get("serve-crash")["output"] == "done crash-b"
    assert len(_pids("crash-b")) == 1  # the finished tool call was not run again
    assert items_asked(model_server, "crash-b") == 3  # no recorded model call asked twice
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs))  # one log, no step written twice
    # the server is still whole: a new run goes through a restarted worker
    again = served.post("/v1/runs", {"agent": "batcher", "input": "serve-after"}).json()
    assert again["output"] == "done serve-after"
