"""Cancelling a run that executes on another replica: two real `tether serve` processes on one
store (a SQLite file, or PostgreSQL). The replica asked marks the run's lease; the replica
executing the run reads the mark at its heartbeat and stops the run, recorded as cancelled once.
It answered 409 before."""

from __future__ import annotations

import json
import signal
import uuid
from pathlib import Path
from typing import Any

import pytest
from servers import ChatCompletionsServer

from .test_replicas import _HTTP, Replica, Script, _ledger, _state, _wait
from .test_replicas import model as model  # the module's loopback model server
from .test_replicas import pg_store as pg_store
from .test_replicas import store_url as store_url
from .test_replicas import two_replicas as two_replicas


def _events(replica: Replica, run_id: str) -> list[dict[str, Any]]:
    with _HTTP.stream("GET", f"{replica.url}/v1/runs/{run_id}/events") as answer:
        return [json.loads(line[6:]) for line in answer.iter_lines() if line.startswith("data: ")]


def _cancelled(replica: Replica) -> int:
    for line in _HTTP.get(f"{replica.url}/metrics").text.splitlines():
        if line.startswith('tether_runs_finished_total{state="cancelled"}'):
            return int(line.split()[-1])
    return 0


@pytest.mark.allow_blocking
@pytest.mark.timeout(120)
def test_a_run_executing_on_another_replica_is_cancelled_there(
    model: tuple[ChatCompletionsServer, Script],
    two_replicas: tuple[Replica, Replica],
    tmp_path: Path,
) -> None:
    _, script = model
    a, b = two_replicas
    prompt = f"slow {uuid.uuid4().hex[:8]}"
    run_id = f"cancel-{uuid.uuid4().hex[:8]}"
    body = {"agent": "worker", "input": prompt, "background": True, "run_id": run_id}
    assert _HTTP.post(f"{a.url}/v1/runs", json=body).status_code == 202
    # A executes it: the second model call is under way (the model server delays it 3 s)
    _wait(lambda: script.asked.get(f"{prompt}|1", 0) == 1, 20, "the second model call")
    answer = _HTTP.post(f"{b.url}/v1/runs/{run_id}/cancel", json={}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "cancelled"
    assert _state(a, run_id)["state"] == "cancelled"
    ends = [e for e in _events(b, run_id) if e["type"] == "run_finished"]
    assert [(e["state"], e["error_type"]) for e in ends] == [("cancelled", "RunCancelled")]
    assert _cancelled(a) == 1 and _cancelled(b) == 0  # stopped where it executed
    assert _HTTP.get(f"{a.url}/healthz").json()["in_flight"] == 0
    assert [line for line in _ledger(tmp_path) if prompt in line] == [f"{a.proc.pid} {prompt}"]

    # the replica executing the run dies; a cancel asked meanwhile ends it, not resumed
    prompt = f"slow {uuid.uuid4().hex[:8]}"
    run_id = f"cancel-{uuid.uuid4().hex[:8]}"
    body = {"agent": "worker", "input": prompt, "background": True, "run_id": run_id}
    assert _HTTP.post(f"{a.url}/v1/runs", json=body).status_code == 202
    _wait(lambda: script.asked.get(f"{prompt}|1", 0) == 1, 20, "the second model call")
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait(10)
    answer = _HTTP.post(f"{b.url}/v1/runs/{run_id}/cancel", json={}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "cancelled"
    ends = [e for e in _events(b, run_id) if e["type"] == "run_finished"]
    assert [e["state"] for e in ends] == ["cancelled"]
    assert script.asked[f"{prompt}|1"] == 1  # not taken over and asked again
    # ended already: a second cancel is a conflict, as on the replica that ran it
    again = _HTTP.post(f"{b.url}/v1/runs/{run_id}/cancel", json={})
    assert again.status_code == 409 and again.json()["error"]["type"] == "conflict"
