"""`tether runs cancel RUN_ID` of a run a live `tether serve` process executes: the CLI, in a
process of its own, goes through the run's lease as a server replica's cancel does. It marks the
lease, the server reads the mark at its heartbeat, stops the run and records its cancelled end;
the CLI waits for that. A server killed mid-stream leaves its lease with the positions it
streamed: the CLI writes the end after them. Before, the CLI appended its end right after the
last stored event while the server went on (reusing a position it had streamed)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from servers import ChatCompletionsServer

from tether import Runner
from tether.events import Event

from .test_replicas import _HTTP, Replica, Script, _state, _wait
from .test_replicas import model as model  # the module's loopback model server
from .test_replicas import pg_store as pg_store
from .test_replicas import store_url as store_url

pytestmark = [pytest.mark.allow_blocking, pytest.mark.timeout(120)]


def _cli(store: str, *args: str) -> subprocess.CompletedProcess[str]:
    path = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": path} if path else dict(os.environ)
    return subprocess.run(
        [sys.executable, "-m", "tether.cli", "runs", *args, "--store", store],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
    )


def _stored(store: str, run_id: str) -> list[Event]:
    async def load() -> list[Event]:
        runner = Runner(store=store, telemetry=None)
        try:
            assert runner.store is not None
            return list(await runner.store.load(run_id))
        finally:
            await runner.aclose()

    return asyncio.run(load())


class Stream:
    """A streamed POST /v1/runs read in a thread: every SSE message's id and data."""

    def __init__(self, url: str, body: dict[str, Any]) -> None:
        self.seen: list[tuple[int, dict[str, Any]]] = []
        self.thread = threading.Thread(target=self._read, args=(url, body), daemon=True)
        self.thread.start()

    def _read(self, url: str, body: dict[str, Any]) -> None:
        seq = 0
        try:
            with _HTTP.stream("POST", f"{url}/v1/runs", json={**body, "stream": True}) as answer:
                for line in answer.iter_lines():
                    if line.startswith("id: "):
                        seq = int(line[4:])
                    elif line.startswith("data: "):
                        self.seen.append((seq, json.loads(line[6:])))
        except Exception:  # the server was killed mid-stream
            pass

    def ids(self) -> list[int]:
        return [seq for seq, _ in self.seen]


def _slow_run(replica: Replica, script: Script) -> tuple[str, str, Stream]:
    prompt = f"slow {uuid.uuid4().hex[:8]}"
    run_id = f"cli-cancel-{uuid.uuid4().hex[:8]}"
    stream = Stream(replica.url, {"agent": "worker", "input": prompt, "run_id": run_id})
    # the server executes it: its second model call is under way (delayed 3 s by the model)
    _wait(lambda: script.asked.get(f"{prompt}|1", 0) == 1, 20, "the second model call")
    return prompt, run_id, stream


def _cancelled_here(replica: Replica) -> int:
    for line in _HTTP.get(f"{replica.url}/metrics").text.splitlines():
        if line.startswith('tether_runs_finished_total{state="cancelled"}'):
            return int(line.split()[-1])
    return 0


def test_the_cli_cancels_a_run_a_live_server_executes_through_its_lease(
    model: tuple[ChatCompletionsServer, Script], store_url: str, tmp_path: Path
) -> None:
    server, script = model
    replica = Replica(store_url, server.base_url, tmp_path)
    try:
        replica.wait_ready()
        prompt, run_id, stream = _slow_run(replica, script)
        done = _cli(store_url, "cancel", run_id, "--reason", "superseded")
        assert done.returncode == 0, done.stderr
        assert f"run {run_id} cancelled" in done.stdout
        stream.thread.join(20)
        # the server stopped it where it executed, and recorded the one end
        assert _cancelled_here(replica) == 1
        assert _state(replica, run_id)["state"] == "cancelled"
        assert _HTTP.get(f"{replica.url}/healthz").json()["in_flight"] == 0
        ids = stream.ids()
        assert ids == sorted(set(ids))  # every position streamed once
        assert stream.seen[-1][1]["type"] == "run_finished"
        assert stream.seen[-1][1]["state"] == "cancelled"
        stored = _stored(store_url, run_id)
        ends = [e for e in stored if e.type == "run_finished"]
        assert [e.state for e in ends] == ["cancelled"] and stored[-1] is ends[0]  # type: ignore[attr-defined]
        assert len({e.seq for e in stored}) == len(stored)
        assert ends[0].seq == max(ids)
        assert script.asked[f"{prompt}|1"] == 1  # not asked again after the cancel

        # the server dies mid-stream: the CLI takes its lease and ends the run past what it
        # streamed (the positions reserved on the lease), never on one a client was handed
        prompt, run_id, stream = _slow_run(replica, script)
        _wait(lambda: len(stream.seen) >= 3, 10, "streamed events")
        replica.proc.send_signal(signal.SIGKILL)
        replica.proc.wait(10)
        stream.thread.join(10)
        streamed = max(stream.ids())
        done = _cli(store_url, "cancel", run_id)
        assert done.returncode == 0, done.stderr
        stored = _stored(store_url, run_id)
        assert stored[-1].type == "run_finished" and stored[-1].state == "cancelled"  # type: ignore[attr-defined]
        assert stored[-2].type == "run_resumed"
        assert stored[-2].seq > streamed and stored[-1].seq == stored[-2].seq + 1
        assert len({e.seq for e in stored}) == len(stored)
    finally:
        replica.stop()
