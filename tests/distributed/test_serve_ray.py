"""`tether serve --engine ray --address ...`: the server's runs execute on the session's Ray
cluster, the run API (start, events, get, approve, cancel) keeps working for them through the
shared PostgreSQL store, and a Ray worker SIGKILLed mid-run is retried by Ray from its checkpoint
(each tool once, no model call asked twice)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.distributed.conftest import items_asked, ledger_entries
from tests.distributed.serving import RayServer

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(300)]


def _pids(item: str) -> list[int]:
    return [pid for name, pid, _ in ledger_entries() if name == item]


@pytest.mark.allow_blocking
def test_background_runs_execute_on_ray_and_the_run_api_follows_them(
    ray_served: RayServer, model_server: Any
) -> None:
    started = ray_served.post(
        "/v1/runs", {"agent": "batcher", "input": "serve-1", "background": True}
    )
    assert started.status_code == 202
    run_id = started.json()["run_id"]
    events = ray_served.events(run_id)  # streamed from the store as the worker writes them
    kinds = [e["type"] for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert kinds.count("tool_call_finished") == 2
    snapshot = ray_served.get(run_id)
    assert (snapshot["state"], snapshot["output"]) == ("completed", "done serve-1")
    # executed in a Ray worker process, not in the server
    (pid,) = _pids("serve-1")
    assert pid != ray_served.proc.pid

    # a plain run (the client waits for the Result) goes to Ray too
    plain = ray_served.post("/v1/runs", {"agent": "batcher", "input": "serve-2"}).json()
    assert plain["output"] == "done serve-2" and _pids("serve-2") != [ray_served.proc.pid]

    # approve: the run waits for a decision, which is carried out on a worker
    paying = ray_served.post("/v1/runs", {"agent": "payer", "input": "pay-1", "background": True})
    pay_id = paying.json()["run_id"]
    waiting = ray_served.wait_state(pay_id, "awaiting_approval")
    call_id = waiting["pending_approvals"][0]["call_id"]
    assert _pids("pay-1") == []  # not run before the approval
    paid = ray_served.post(f"/v1/runs/{pay_id}/approvals", {"call_id": call_id, "approved": True})
    assert paid.status_code == 200, paid.text
    assert paid.json()["final_text"] == "paid pay-1"
    assert len(_pids("pay-1")) == 1 and _pids("pay-1") != [ray_served.proc.pid]

    # cancel: a run waiting on its model is stopped on its worker and ends cancelled
    hanging = ray_served.post(
        "/v1/runs", {"agent": "batcher", "input": "hang-1", "background": True}
    )
    hang_id = hanging.json()["run_id"]
    deadline = time.monotonic() + 30
    while items_asked(model_server, "hang-1") == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    cancelled = ray_served.post(f"/v1/runs/{hang_id}/cancel", {})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["state"] == "cancelled"
    kinds = [e["type"] for e in ray_served.events(hang_id)]
    assert kinds[-1] == "run_finished" and kinds.count("run_finished") == 1


@pytest.mark.allow_blocking
def test_a_worker_killed_mid_run_is_retried_from_its_checkpoint(
    ray_served: RayServer, model_server: Any
) -> None:
    body = {"agent": "batcher", "input": "crash-b", "background": True, "run_id": "serve-crash"}
    assert ray_served.post("/v1/runs", body).status_code == 202
    events = ray_served.events("serve-crash")  # followed across the kill and the retry
    assert events[-1]["type"] == "run_finished" and events[-1]["state"] == "completed"
    assert Path(f"{os.environ['TETHER_TEST_LEDGER']}.crash-b.crashed").exists()  # it did die
    assert ray_served.get("serve-crash")["output"] == "done crash-b"
    assert len(_pids("crash-b")) == 1  # the finished tool call was not run again
    assert items_asked(model_server, "crash-b") == 3  # no recorded model call asked twice
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs))  # one log, no step written twice
    # the server is still whole: a new run goes through a restarted worker
    again = ray_served.post("/v1/runs", {"agent": "batcher", "input": "serve-after"}).json()
    assert again["output"] == "done serve-after"


@pytest.mark.allow_blocking
def test_sigterm_drains_a_ray_run_and_another_replica_finishes_it(
    ray_cluster: Any, ray_served: RayServer, ray_served_b: RayServer, model_server: Any
) -> None:
    # A third replica with a short drain: SIGTERM while its run waits for the model's last
    # answer stops the run at its checkpoint on the worker and hands it to the others.
    extra = ("--drain-timeout", "0.5")
    drained = RayServer(ray_cluster, *ray_served_b.store_args, extra)  # B's store
    others = (ray_served, ray_served_b)
    before = sum(r.taken_over() for r in others)
    try:
        assert drained.ready(), drained.output()
        body = {"agent": "batcher", "input": "late-drain", "background": True, "run_id": "drain-1"}
        assert drained.post("/v1/runs", body).status_code == 202
        deadline = time.monotonic() + 60
        while items_asked(model_server, "late-drain") < 3 and time.monotonic() < deadline:
            time.sleep(0.05)  # both tools ran; the last answer is under way (5 s)
        drained.proc.send_signal(signal.SIGTERM)
        # uvicorn raises the signal again once drained: a clean drain exits 0 (not Ray's 15)
        assert drained.proc.wait(30) == 0, drained.output()
        assert "drained: 0 runs finished, 1 handed over" in drained.output()
        final = ray_served_b.wait_state("drain-1", "completed")
        assert final["output"] == "done late-drain"
        assert len(_pids("late-drain")) == 1  # the finished tool call was not run again
        events = ray_served_b.events("drain-1")
        assert [e["type"] for e in events].count("run_finished") == 1
        assert sum(r.taken_over() for r in others) == before + 1  # one of them, once
    finally:
        drained.stop()


@pytest.mark.allow_blocking
def test_a_server_killed_mid_run_leaves_the_run_to_another_replica(
    ray_served: RayServer, ray_served_b: RayServer, model_server: Any
) -> None:
    # Last in the file: it kills the first server. Its Ray actors end with it (they are its own),
    # its lease expires, and the other replica's sweeper resumes the run on its own actors.
    taken = ray_served_b.taken_over()
    body = {"agent": "batcher", "input": "late-1", "background": True, "run_id": "serve-late"}
    assert ray_served.post("/v1/runs", body).status_code == 202
    deadline = time.monotonic() + 60
    while items_asked(model_server, "late-1") < 3 and time.monotonic() < deadline:
        time.sleep(0.05)  # both tools ran; the last answer is under way
    ray_served.proc.kill()
    ray_served.proc.wait(10)
    final = ray_served_b.wait_state("serve-late", "completed")
    assert final["output"] == "done late-1"
    assert len(_pids("late-1")) == 1  # the finished tool call was not run again
    assert items_asked(model_server, "late-1") == 4  # only the answer cut short is asked again
    events = ray_served_b.events("serve-late")
    assert [e["type"] for e in events].count("run_finished") == 1
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs))  # one execution wrote the log, not two
    assert ray_served_b.taken_over() == taken + 1
