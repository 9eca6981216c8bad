"""`tether serve ... --engine ray` as a process of the tests, on its own PostgreSQL schema."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg

from tests._ports import PortedProcess, ProcessExited

ROOT = Path(__file__).resolve().parents[2]
TARGET = "tests.distributed.agents:served"


def create_schema(pg_url: str) -> str:
    """A new schema for the servers' store (replicas share one)."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return schema


def drop_schema(pg_url: str, schema: str) -> None:
    """Remove the servers' schema and all in it."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


class RayServer:
    """One `tether serve TARGET --engine ray --address CLUSTER --store PG` process."""

    def __init__(self, cluster: Any, pg_url: str, schema: str, extra: tuple[str, ...] = ()) -> None:
        self.address = cluster.address
        self.store_args = (pg_url, schema)  # another replica on the same store takes these
        self.work = Path(tempfile.mkdtemp(prefix="tether-serve-ray-"))
        store = f"{pg_url}?options=-csearch_path%3D{schema}"
        path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
        env = {**cluster.env, "PYTHONPATH": path, "TETHER_TRACE_DIR": str(self.work / "traces")}
        env.pop("TETHER_API_KEYS", None)
        self.args = [
            sys.executable, "-m", "tether.cli", "serve", TARGET,
            "--engine", "ray", "--address", cluster.address, "--store", store,
            "--no-a2a", "--lease-ttl", "3", "--ray-workers", "1", *extra,
        ]  # fmt: skip
        self.log_path = self.work / "serve.log"
        self.served = PortedProcess(
            lambda port: [*self.args, "--port", str(port)], self.log_path, cwd=self.work, env=env
        )
        self.http = httpx.Client(timeout=30)  # one client: each new one loads the CA store

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        return self.served.proc

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.served.port}"

    def ready(self, seconds: float = 120) -> bool:
        """Wait until it answers /healthz; False when it exited or never answered. (It binds
        its port itself: one taken meanwhile is tried again on a new port.)"""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if not self.served.listening():  # not (yet) ours listening
                    time.sleep(0.1)
                    continue
            except ProcessExited:
                return False
            try:
                if self.http.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        return False

    def output(self) -> str:
        return self.log_path.read_text()

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return self.http.post(f"{self.url}{path}", json=body)

    def get(self, run_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.http.get(f"{self.url}/v1/runs/{run_id}").json()
        return answer

    def events(self, run_id: str) -> list[dict[str, Any]]:
        """The run's events as the SSE stream gives them, until the run ends."""
        events = []
        with self.http.stream("GET", f"{self.url}/v1/runs/{run_id}/events") as stream:
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

    def taken_over(self) -> int:
        """How many runs of dead replicas this one resumed (its /metrics)."""
        for line in self.http.get(f"{self.url}/metrics").text.splitlines():
            if line.startswith("tether_runs_taken_over_total "):
                return int(line.split()[-1])
        raise AssertionError("no takeover count in /metrics")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self.http.close()
        shutil.rmtree(self.work, ignore_errors=True)
