"""Ids holding '/' (``tenant/run-1``) over the dashboard's HTTP API, and its error bodies in
the server's shape ``{"error": {"type", "message"}}``."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from urllib.parse import quote

from tether import Runner
from tether.models import FakeModel
from tether.tracing.jsonl import JsonlExporter

from .conftest import Server
from .test_dashboard import calc, get
from .test_runs_dashboard import JSON, _request

RUN = "tenant/run-1"


def _record(directory: Path, store: str) -> None:
    async def go() -> None:
        runner = Runner(store=store, telemetry=JsonlExporter(directory))
        model = FakeModel()
        model.add_tool_call("add", {"a": 1, "b": 2}).add_response("3")
        await runner.run(calc(model), "sum", run_id=RUN)
        await runner.aclose()

    worker = threading.Thread(target=asyncio.run, args=(go(),))
    worker.start()
    worker.join(30)


def test_a_slash_id_is_one_encoded_segment(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'runs.db'}"
    _record(tmp_path, store)
    encoded = quote(RUN, safe="")  # what the page's links send: tenant%2Frun-1
    with Server(tmp_path, store=store) as server:
        status, listing = get(server, "/api/traces")
        assert status == 200 and [t["trace_id"] for t in listing["traces"]] == [RUN]
        status, trace = get(server, f"/api/traces/{encoded}")
        assert status == 200 and trace["trace_id"] == RUN
        assert trace["spans"][0]["kind"] == "run"
        status, streamed = get(server, f"/api/traces/{encoded}/stream")
        assert status == 200 and f'"trace_id": "{RUN}"' in streamed
        status, run = get(server, f"/api/runs/{encoded}")
        assert status == 200 and run["run_id"] == RUN and run["state"] == "completed"
        status, streamed = get(server, f"/api/runs/{encoded}/stream")
        assert status == 200 and "event: run" in streamed and RUN in streamed
        # the same id sent as two segments is not that run
        assert get(server, f"/api/runs/{RUN}")[0] == 404


def test_errors_have_the_servers_shape(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'runs.db'}"
    _record(tmp_path, store)
    with Server(tmp_path, store=store) as server:
        status, body = get(server, "/api/traces/missing")
        assert status == 404
        assert body == {"error": {"type": "trace_not_found", "message": "no trace 'missing'"}}
        status, body = get(server, "/api/runs/nope")
        assert status == 404 and body["error"]["type"] == "run_not_found"
        assert "no run 'nope'" in body["error"]["message"]
        status, body = get(server, "/api/traces?max_cost=cheap")
        assert status == 400 and body["error"]["type"] == "invalid_request"
        path = f"/api/runs/{quote(RUN, safe='')}/approvals/call_1"
        status, body = _request(server, "POST", path, {"approved": True})
        assert status == 415 and body["error"]["type"] == "unsupported_media_type"
        status, body = _request(server, "POST", path, {"approved": True}, JSON)
        assert status == 409 and body["error"]["type"] == "conflict"
