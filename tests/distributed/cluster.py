"""A two-node Ray cluster on this machine: `ray start --head` plus `ray start --address`.

Each node is a `ray start --block` process in its own session, so teardown ends exactly the
processes this helper started (their process groups), never another user's Ray. Starting is made
robust for a loaded 2-core machine: no dashboard or log monitor, one CPU a node, loopback only,
a fresh temp dir and port each attempt, long RAY_ start timeouts, a token of our own for Ray's
cluster auth (the default one lives in ~/.ray and is shared by everyone), and a new attempt when
a node dies starting (Ray's fixed 15 s wait for its agents, ray-project/ray#65983).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests._ports import free_port, owned_listener

RAY = str(Path(sys.executable).with_name("ray"))

#: Ray's own processes start slowly on a busy machine: give them time rather than fail.
SLOW_START = {
    "RAY_agent_register_timeout_ms": "180000",
    "RAY_raylet_start_wait_time_s": "180",
    "RAY_worker_register_timeout_seconds": "180",
    "RAY_gcs_rpc_server_reconnect_timeout_s": "120",
    "RAY_USAGE_STATS_ENABLED": "0",
}


class ClusterDidNotStart(Exception):
    """A node exited or never showed up; the cluster is started again from scratch."""


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class TwoNodeCluster:
    """Two Ray nodes of one CPU each; :attr:`env` is what a process needs to join it."""

    def __init__(self, extra_env: dict[str, str]) -> None:
        kept = {k: v for k, v in os.environ.items() if not k.startswith(("COV_", "COVERAGE_"))}
        self.env = {
            **kept,
            **SLOW_START,
            **extra_env,
            "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN": secrets.token_hex(32),
        }
        self.nodes: list[subprocess.Popen[bytes]] = []
        self.address = ""
        self.temp: Path | None = None

    def start(self, attempts: int = 3) -> TwoNodeCluster:
        """Start both nodes (again, from scratch, when one fails) and wait until both are up."""
        failure: Exception | None = None
        for _ in range(attempts):
            try:
                self._start_once()
                return self
            except ClusterDidNotStart as exc:
                failure = exc
                self.stop()
        raise AssertionError(f"no two-node Ray cluster after {attempts} attempts: {failure}")

    def _start_once(self) -> None:
        self.temp = Path(tempfile.mkdtemp(prefix="tray-", dir="/tmp"))  # short: socket paths
        port = free_port()
        self.address = f"127.0.0.1:{port}"
        self._node("head", "--head", "--port", str(port), "--include-dashboard=false")
        # The head binds the port itself: another process may have taken it since it was
        # chosen, so the listener must be one of the head's (its GCS); if the head exits for
        # a taken port, start() begins again on a new one.
        head = self.nodes[0].pid
        self._wait(lambda: _listening(port) and _owned(head, port), 90, "the head's GCS")
        self._node("node", "--address", self.address)

    def _node(self, name: str, *args: str) -> None:
        assert self.temp is not None
        command = [
            RAY, "start", *args, "--block", "--num-cpus", "1", "--node-ip-address", "127.0.0.1",
            "--temp-dir", str(self.temp), "--disable-usage-stats", "--include-log-monitor=false",
        ]  # fmt: skip
        with (self.temp / f"{name}.log").open("wb") as log:  # the child keeps its own copy
            self.nodes.append(
                subprocess.Popen(
                    command,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

    def _wait(self, ready: Any, seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for node in self.nodes:
                if node.poll() is not None:
                    raise ClusterDidNotStart(
                        f"a node exited ({node.returncode}) before {what}: {self._output()}"
                    )
            if ready():
                return
            time.sleep(0.1)
        raise ClusterDidNotStart(f"timed out waiting for {what}: {self._output()}")

    def _output(self) -> str:
        """The end of each node's own output (why it did not start)."""
        if self.temp is None:
            return ""
        logs = sorted(self.temp.glob("*.log"))
        return "; ".join(f"{log.stem}: {log.read_text(errors='replace')[-1500:]}" for log in logs)

    def connect(self, ray: Any, runtime_env: dict[str, Any]) -> None:
        """Connect this process as a driver and wait until both nodes are alive (a node that
        dies meanwhile starts the whole cluster again)."""
        # The driver needs the cluster's token too. Ray reads it from the environment when it is
        # imported: read it again, for a session that imported Ray before.
        os.environ.update({k: self.env[k] for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")})
        from ray._raylet import Config

        Config.initialize("")
        failure: Exception | None = None
        for _ in range(3):
            try:
                ray.init(address=self.address, log_to_driver=False, runtime_env=runtime_env)
                # Both nodes alive and their CPUs known, so SPREAD sees both.
                self._wait(lambda: _alive(ray) >= 2, 120, "both nodes")
                self._wait(lambda: ray.cluster_resources().get("CPU", 0) >= 2, 60, "both CPUs")
                return
            except (ClusterDidNotStart, ConnectionError, RuntimeError, TimeoutError) as exc:
                failure = exc  # a raylet that missed Ray's fixed start timeouts: start again
                if ray.is_initialized():
                    ray.shutdown()
                self.stop()
                self.start()
        raise AssertionError(f"could not connect to the two-node Ray cluster: {failure}")

    def stop(self) -> None:
        """End every process the nodes started: those in the sessions of our `ray start`s (Ray's
        workers have process groups of their own, but stay in the session)."""
        sessions = {node.pid for node in self.nodes}
        for pid in _session_members(sessions):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        for node in self.nodes:
            node.wait(10)
        self.nodes = []
        if self.temp is not None:
            shutil.rmtree(self.temp, ignore_errors=True)
            self.temp = None


def _session_members(sessions: set[int]) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        if int(fields[3]) in sessions:  # state, ppid, pgrp, session
            members.append(int(entry.name))
    return members


def _owned(session: int, port: int) -> bool:
    """Whether a process of the session ``session`` holds the listener on ``port``."""
    return owned_listener(_session_members({session}), port)


def _alive(ray: Any) -> int:
    return sum(1 for node in ray.nodes() if node.get("Alive"))
