"""An engine run's tether event log kept in a tether store (``store=``), on DBOS and Temporal:
the log is the one a run without an engine writes, and ``tether runs show`` (the real CLI),
the dashboard's runs API (over real HTTP) and ``Runner.replay`` work on it. Threads given
``thread_id=`` are loaded and saved through the engine's steps.

The workflows are in tests/durable/engine_log.py; the engines are the package's (conftest).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from dbos import DBOS, SetWorkflowID
from temporalio.client import Client, WorkflowFailureError

from tether import Runner
from tether.durable import DBOSDurability, DurableEngineError
from tether.durable._mirror import ENGINE_KEY
from tether.store import open_store

from . import engine_log

ENGINES = ["dbos", "temporal"]
_SRC = str(Path(__file__).parents[2] / "src")
Start = Callable[..., Awaitable[tuple[str, Any]]]


async def _dbos_start(workflow: str, *args: Any) -> tuple[str, Any]:
    chosen = {
        "ledger": engine_log.dbos_ledger_workflow,
        "chat": engine_log.dbos_chat_workflow,
        "keeper": engine_log.dbos_keeper_workflow,
    }
    workflow_id = f"log-{workflow}-{uuid.uuid4().hex[:8]}"
    with SetWorkflowID(workflow_id):
        handle = await DBOS.start_workflow_async(chosen[workflow], *args)
    return workflow_id, await handle.get_result()


def _temporal_start(server: str, queue: str) -> Start:
    async def start(workflow: str, *args: Any) -> tuple[str, Any]:
        name = {"ledger": "EngineLogLedger", "chat": "EngineLogChat", "keeper": "EngineLogKeeper"}[
            workflow
        ]
        client = await Client.connect(server)
        workflow_id = f"log-{workflow}-{uuid.uuid4().hex[:8]}"
        handle = await client.start_workflow(
            name, args=list(args), id=workflow_id, task_queue=queue, result_type=str
        )
        return workflow_id, await handle.result()

    return start


@pytest.fixture(params=ENGINES)
def start(request: pytest.FixtureRequest) -> Start:
    """Runs a workflow of tests/durable/engine_log.py in the engine: (workflow id, result)."""
    if request.param == "dbos":
        request.getfixturevalue("dbos_folder")
        return _dbos_start
    return _temporal_start(request.getfixturevalue("server"), request.getfixturevalue("worker"))


def _agent(run_id: str, events: list[Any]) -> Any:
    assert events, f"nothing stored for run {run_id!r}"
    dbos = events[0].agent == engine_log.dbos_ledger.name
    return engine_log.dbos_ledger if dbos else engine_log.temporal_ledger


async def _stored(run_id: str) -> list[Any]:
    store = open_store(engine_log.STORE_URL)
    try:
        return await store.load(run_id)
    finally:
        await store.close()


def _types(events: list[Any]) -> list[str]:
    return [e.type for e in events]


def _once_in_order(events: list[Any]) -> bool:
    """Each seq once, increasing (a streamed run's deltas are not stored: gaps are fine)."""
    seqs = [e.seq for e in events]
    return seqs == sorted(set(seqs))


async def test_the_engine_run_s_log_is_the_log_a_plain_run_writes(start: Start) -> None:
    run_id, output = await start("ledger", "sum twice")
    assert output == "The sums are 42 and 3."
    events = await _stored(run_id)
    agent = _agent(run_id, events)
    plain = Runner(store="memory://", telemetry=None)
    result = await plain.run(agent, "sum twice")
    expected = await plain.store.load(result.run_id)  # type: ignore[union-attr]
    assert _types(events) == _types(expected)  # the same events, each once, in order
    assert _once_in_order(events)
    assert events[-1].type == "run_finished" and events[-1].state == "completed"
    assert events[0].metadata[ENGINE_KEY] in ("dbos", "temporal")
    assert all(e.run_id == run_id for e in events)


async def test_tether_runs_show_and_the_dashboard_read_an_engine_run(
    start: Start, tmp_path: Path
) -> None:
    run_id, _ = await start("ledger", "sum twice")
    env = {**os.environ, "PYTHONPATH": _SRC}
    command = [sys.executable, "-m", "tether.cli", "runs", "show", run_id, "--json"]
    shown = await asyncio.to_thread(
        subprocess.run,
        [*command, "--store", engine_log.STORE_URL],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert shown.returncode == 0, shown.stderr[-2000:]
    report = json.loads(shown.stdout)
    assert report["state"] == "completed"
    assert report["final_text"] == "The sums are 42 and 3."
    assert [e["type"] for e in report["events"]].count("tool_call_finished") == 2

    listed, one = await asyncio.to_thread(_read_dashboard, tmp_path / "traces", run_id)
    runs = listed["runs"] if isinstance(listed, dict) else listed
    assert run_id in [r["run_id"] for r in runs]
    assert one["run_id"] == run_id
    assert one["state"] == "completed"
    assert one["final_text"] == "The sums are 42 and 3."
    assert [e["seq"] for e in one["events"]] == [e["seq"] for e in report["events"]]


async def test_replay_of_an_engine_run_matches(start: Start) -> None:
    run_id, output = await start("ledger", "sum twice")
    events = await _stored(run_id)
    agent = _agent(run_id, events)
    runner = Runner(store=engine_log.STORE_URL, telemetry=None)
    try:
        replayed = await runner.replay(run_id, agent=agent, tools="live")
    finally:
        await runner.aclose()
    assert replayed.output == output
    assert [t.tool_name for t in replayed.tool_executions] == ["add", "add"]


async def test_a_thread_is_loaded_and_saved_through_the_engine(start: Start) -> None:
    thread_id = f"thread-{uuid.uuid4().hex[:8]}"
    _, first = await start("chat", "hello", thread_id)
    _, second = await start("chat", "again", thread_id)
    assert first == "heard 1: hello"
    assert second == "heard 2: hello / again"
    store = open_store(engine_log.STORE_URL)
    try:
        messages = await store.load_thread(thread_id)
    finally:
        await store.close()
    assert [(m.role, m.text) for m in messages] == [
        ("user", "hello"),
        ("assistant", "heard 1: hello"),
        ("user", "again"),
        ("assistant", "heard 2: hello / again"),
    ]


async def test_memory_is_kept_by_the_tools_steps(start: Start) -> None:
    thread_id = f"thread-{uuid.uuid4().hex[:8]}"
    calls = len(engine_log.CALLS)
    _, kept = await start("keeper", "remember tea at five", thread_id)
    _, told = await start("keeper", "what do you know?", thread_id)
    _, other = await start("keeper", "what do you know?", f"{thread_id}-other")
    assert kept == "kept tea at five"
    assert told == "facts: tea at five"  # the next run, on the same thread, sees it
    assert other == "facts: "  # another thread does not
    assert len(engine_log.CALLS) == calls + 1  # the keep ran once


async def _logged_state(run_id: str) -> Any:
    from tether.cli._ops import load_run

    store = open_store(engine_log.STORE_URL)
    try:
        return (await load_run(store, run_id))[1]
    finally:
        await store.close()


async def _shows_the_wait(run_id: str) -> Any:
    """The run's state from its log, once the log shows it waiting (a write of its own)."""
    deadline = time.monotonic() + 10
    while True:
        try:
            state = await _logged_state(run_id)
        except Exception:  # not written yet
            state = None
        if state is not None and state.pending_approvals:
            return state
        assert time.monotonic() < deadline, "the log never showed the wait"
        await asyncio.sleep(0.05)


async def test_a_waiting_dbos_run_s_log_shows_the_wait(dbos_folder: Path) -> None:
    run_id = f"log-gate-{uuid.uuid4().hex[:8]}"
    with SetWorkflowID(run_id):
        handle = await DBOS.start_workflow_async(engine_log.dbos_gate_workflow, "ship it")
    waiting = await DBOSDurability.waiting(run_id)
    state = await _shows_the_wait(run_id)
    assert list(state.pending_approvals) == waiting["approve"]
    # the dashboard shows the wait, and sends the decision-maker to the workflow
    path = f"/api/runs/{run_id}/approvals/{waiting['approve'][0]}"
    shown, refused = await asyncio.to_thread(_dashboard_decides, run_id, path)
    assert shown["pending_approvals"][0]["call_id"] == waiting["approve"][0]
    assert refused[0] == 409 and "DBOSDurability.approve" in refused[1]["error"]["message"]
    # and tether runs show says where to decide it
    command = [sys.executable, "-m", "tether.cli", "runs", "show", run_id]
    shown_cli = await asyncio.to_thread(
        subprocess.run,
        [*command, "--store", engine_log.STORE_URL],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": _SRC, "COLUMNS": "250"},
    )
    assert shown_cli.returncode == 0, shown_cli.stderr[-2000:]
    assert "run by a DBOS workflow: decide it with DBOSDurability.approve" in shown_cli.stdout
    assert "tether runs approve" not in shown_cli.stdout
    await DBOSDurability.approve(run_id, waiting["approve"][0])
    assert await handle.get_result() == "done: shipped crate"
    ended = await _logged_state(run_id)
    assert ended.status == "completed" and not ended.pending_approvals
    assert _once_in_order(await _stored(run_id))


async def test_a_waiting_temporal_run_s_log_shows_the_wait(server: str, worker: str) -> None:
    from tether.durable.temporal import TemporalDurability

    client = await Client.connect(server)
    run_id = f"log-gate-{uuid.uuid4().hex[:8]}"
    handle = await client.start_workflow(
        "EngineLogGate", "ship it", id=run_id, task_queue=worker, result_type=str
    )
    state = await _shows_the_wait(run_id)
    call_id = next(iter(state.pending_approvals))
    assert (await TemporalDurability.waiting(handle))["approve"] == [call_id]
    await TemporalDurability.approve(handle, call_id)
    assert await handle.result() == "done: shipped crate"
    ended = await _logged_state(run_id)
    assert ended.status == "completed" and not ended.pending_approvals
    assert _once_in_order(await _stored(run_id))


async def test_a_recovered_dbos_run_reports_the_runtime_s_events_again(
    dbos_folder: Path,
) -> None:
    """The model runtime's retry happens inside the model step; a run recovered from the
    step's record (DBOS's fork from a later step, as recovery does) reports it again, so its
    log has the same events at the same seqs."""
    run_id = f"log-retried-{uuid.uuid4().hex[:8]}"
    with SetWorkflowID(run_id):
        handle = await DBOS.start_workflow_async(engine_log.dbos_retried_workflow, "hi")
    assert await handle.get_result() == "answered after a retry"
    steps = await DBOS.list_workflow_steps_async(run_id)
    model_step = next(s for s in steps if s["function_name"] == "tether.retried_dbos.model")
    forked = await DBOS.fork_workflow_async(run_id, model_step["function_id"] + 1)
    assert await forked.get_result() == "answered after a retry"
    first, again = await _stored(run_id), await _stored(forked.workflow_id)
    assert "model_retry" in _types(first)
    # the fork (a new workflow id) writes its log from the model step on; those events are
    # the first run's, retry included, at the same seqs
    assert again[0].type == "model_retry"
    tail = [(e.seq, e.type) for e in first if e.seq >= again[0].seq]
    assert [(e.seq, e.type) for e in again] == tail


async def test_dbos_thread_steps_are_recorded(dbos_folder: Path) -> None:
    thread_id = f"thread-{uuid.uuid4().hex[:8]}"
    run_id, _ = await _dbos_start("chat", "hello", thread_id)
    steps = [s["function_name"] for s in await DBOS.list_workflow_steps_async(run_id)]
    assert steps == [
        "tether.thread.load",
        "tether.log",
        "tether.chat_dbos.model",
        "tether.log",
        "tether.thread.save",
    ] or steps == [
        "tether.thread.load",
        "tether.log",
        "tether.chat_dbos.model",
        "tether.thread.save",
        "tether.log",
    ], steps


async def test_a_log_that_cannot_be_written_fails_the_run_saying_so(dbos_folder: Path) -> None:
    calls = len(engine_log.CALLS)
    handle = await DBOS.start_workflow_async(engine_log.dbos_broken_workflow, "sum twice")
    with pytest.raises(DurableEngineError, match="tether log could not be written to its store"):
        await handle.get_result()
    assert len(engine_log.CALLS) == calls  # it failed before the first model call


async def test_a_temporal_log_that_cannot_be_written_fails_the_run(
    server: str, worker: str
) -> None:
    client = await Client.connect(server)
    handle = await client.start_workflow(
        "EngineLogBroken",
        "sum twice",
        id=f"log-broken-{uuid.uuid4().hex[:8]}",
        task_queue=worker,
    )
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    assert "tether log could not be written to its store" in str(caught.value.cause)


async def test_a_thread_without_a_store_is_refused_at_start(dbos_folder: Path) -> None:
    handle = await DBOS.start_workflow_async(engine_log.dbos_unstored_workflow, "hi", "t-1")
    with pytest.raises(DurableEngineError, match="needs a store for the thread"):
        await handle.get_result()
    assert DBOSDurability  # the engine class refused it, not a bare error


async def test_a_temporal_thread_without_a_store_is_refused_at_start(
    server: str, worker: str
) -> None:
    client = await Client.connect(server)
    handle = await client.start_workflow(
        "EngineLogUnstored",
        args=["hi", "t-1"],
        id=f"log-unstored-{uuid.uuid4().hex[:8]}",
        task_queue=worker,
    )
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    assert "needs a store for the thread" in str(caught.value.cause)


# -- the dashboard, served for real ---------------------------------------------------------


class _Dashboard:
    """The dashboard app run by uvicorn in a thread, on a loopback socket bound here and handed
    to uvicorn: a port found free, released and bound again could be taken in between by any
    process of a loaded machine (uvicorn then ends at once, and the start waited it out)."""

    def __init__(self, trace_dir: Path, store: str) -> None:
        import uvicorn

        from tether.ui import create_app

        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        config = uvicorn.Config(
            create_app(trace_dir, store=store),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert self.thread.is_alive(), "the dashboard ended before it served (its log above)"
            assert time.monotonic() < deadline, "the dashboard did not start"
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.socket.close()


def _read_dashboard(trace_dir: Path, run_id: str) -> tuple[Any, Any]:
    """The runs list and the run, read over HTTP from a dashboard on the test store."""
    with _Dashboard(trace_dir, engine_log.STORE_URL) as url:
        return _get_json(f"{url}/api/runs?limit=500"), _get_json(f"{url}/api/runs/{run_id}")


def _dashboard_decides(run_id: str, path: str) -> tuple[Any, tuple[int, Any]]:
    """The run as the dashboard shows it, and its answer to an approval POSTed to ``path``."""
    import tempfile
    import urllib.error

    with (
        tempfile.TemporaryDirectory() as traces,
        _Dashboard(Path(traces), engine_log.STORE_URL) as url,
    ):
        shown = _get_json(f"{url}/api/runs/{run_id}")
        request = urllib.request.Request(
            url + path,
            data=json.dumps({"approved": True}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return shown, (response.status, json.loads(response.read()))
        except urllib.error.HTTPError as exc:
            return shown, (exc.code, json.loads(exc.read()))


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())
