"""The trace dashboard: its JSON API (filters, id validation) over real HTTP, and the page in
headless Chromium driven by Playwright: spans render, a click shows details, a live run updates
on screen over Server-Sent Events."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from tether import Agent, Runner
from tether.models import FakeModel, FunctionModel
from tether.tracing.jsonl import JsonlExporter

from .conftest import ARTIFACTS, Server


def calc(model: Any) -> Agent:
    agent = Agent("calc", model=model)

    @agent.tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @agent.tool
    def boom(reason: str) -> str:
        """Always fails."""
        raise ValueError("boom: " + reason)

    return agent


def record_finished(directory: Path) -> None:
    async def go() -> None:
        exporter = JsonlExporter(directory)
        runner = Runner(store=None, telemetry=exporter)
        model = FakeModel("openai:gpt-4o-mini", cost_per_call=0.02)
        model.add_tool_calls([("add", {"a": 1, "b": 2}), ("add", {"a": 3, "b": 4})])
        model.add_response("3 and 7")
        await runner.run(calc(model), "two sums", run_id="sums")
        failing = FakeModel("openai:gpt-4o-mini", cost_per_call=0.001)
        failing.add_tool_call("boom", {"reason": "x"}).add_response("sorry")
        tools = list(calc(FakeModel()).tools_map.values())
        await runner.run(Agent("other", model=failing, tools=tools), "break", run_id="broken")
        await exporter.drain()

    # In a thread of its own: Playwright's sync API keeps an event loop in the test's thread.
    worker = threading.Thread(target=asyncio.run, args=(go(),))
    worker.start()
    worker.join(30)


def get(server: Server, path: str) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", path)  # sent as given: no client-side normalization
    response = connection.getresponse()
    body = response.read()
    connection.close()
    try:
        return response.status, json.loads(body)
    except ValueError:
        return response.status, body.decode()


def test_api_lists_filters_and_validates_ids(tmp_path: Path) -> None:
    record_finished(tmp_path)
    (tmp_path / "not-a-trace.jsonl").write_text('{"nope": 1}\n')
    with Server(tmp_path) as server:
        status, body = get(server, "/api/traces")
        assert status == 200 and {t["trace_id"] for t in body["traces"]} == {"sums", "broken"}
        assert body["agents"] == ["calc", "other"]
        assert [t["trace_id"] for t in get(server, "/api/traces?agent=calc")[1]["traces"]] == [
            "sums"
        ]
        assert [t["trace_id"] for t in get(server, "/api/traces?errors=1")[1]["traces"]] == [
            "broken"
        ]
        assert [t["trace_id"] for t in get(server, "/api/traces?min_cost=0.01")[1]["traces"]] == [
            "sums"
        ]
        assert [t["trace_id"] for t in get(server, "/api/traces?state=degraded")[1]["traces"]] == [
            "broken"
        ]
        assert get(server, "/api/traces?max_cost=cheap")[0] == 400
        status, trace = get(server, "/api/traces/sums")
        assert status == 200 and trace["spans"][0]["kind"] == "run"
        assert trace["usage"]["cost"] == pytest.approx(0.04)
        assert get(server, "/api/traces/missing")[0] == 404
        for attack in (
            "/api/traces/..",
            "/api/traces/%2e%2e",
            "/api/traces/..%2Fsums",
            "/api/traces/.hidden",
            "/api/traces/%2E%2E%2F..%2Fetc%2Fpasswd",
            "/api/traces/..%5Cwin",
            "/api/traces/..%2F..%2F..%2Fetc%2Fpasswd/stream",
        ):
            status, body = get(server, attack)
            assert status in (400, 404), attack
            assert "root:" not in json.dumps(body)
        refused = get(server, "/api/traces/%2e%2e")[1]["error"]
        assert refused["type"] == "invalid_request"
        assert refused["message"].startswith("invalid trace id")
        status, page = get(server, "/")
        assert status == 200 and "tether traces" in page


@pytest.mark.browser
def test_dashboard_in_chromium(tmp_path: Path, browser: Any) -> None:
    record_finished(tmp_path)
    gate = threading.Event()
    live_done = threading.Event()

    def live_run() -> None:
        async def slow_tool_turn(messages: list[Any], info: Any) -> Any:
            if not any(m.role == "tool" for m in messages):
                return FunctionModel.tool_call("wait_for_gate", {})
            return "the gate opened"

        agent = Agent("waiter", model=FunctionModel(slow_tool_turn, name="openai:gpt-4o"))

        @agent.tool
        async def wait_for_gate() -> str:
            """Wait until the test opens the gate."""
            await asyncio.to_thread(gate.wait, 30)
            return "open"

        async def go() -> None:
            exporter = JsonlExporter(tmp_path, live_interval=0.05)
            await Runner(store=None, telemetry=exporter).run(agent, "wait", run_id="live-run")
            await exporter.drain()

        asyncio.run(go())
        live_done.set()

    worker = threading.Thread(target=live_run, daemon=True)
    worker.start()
    try:
        with Server(tmp_path) as server:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(15_000)
            page.goto(server.url + "/")
            page.wait_for_selector('tr.trace-row[data-trace-id="live-run"]')
            assert page.locator("tr.trace-row").count() == 3
            assert "running" in page.locator('tr[data-trace-id="live-run"]').inner_text()
            page.select_option("#filter-agent", "calc")  # filters work client-side
            assert page.locator("tr.trace-row").count() == 1
            page.click('tr[data-trace-id="sums"]')
            page.wait_for_selector(".span-row")
            kinds = page.locator(".span-row").evaluate_all("rows => rows.map(r => r.dataset.kind)")
            assert kinds == ["run", "turn", "model", "tool", "tool", "turn", "model"]
            assert page.inner_text("#total-cost") == "$0.0400"
            page.locator('.span-row[data-kind="tool"]').nth(1).click()
            details = page.inner_text("#details")
            assert "tool add" in details and '"a": 3' in details and "7" in details
            page.locator('.span-row[data-kind="model"]').first.click()
            assert "two sums" in page.inner_text("#details")  # the request's messages

            page.goto(server.url + "/#/trace/live-run")
            page.wait_for_selector("#trace-state")
            assert page.inner_text("#trace-state") == "running"
            page.wait_for_selector('.span-row[data-kind="tool"]')
            before = page.locator(".span-row").count()
            gate.set()
            page.wait_for_function(
                "document.getElementById('trace-state')?.textContent === 'completed'"
            )
            assert page.locator(".span-row").count() > before  # the second turn arrived live
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
            page.close()
    finally:
        gate.set()
        worker.join(30)
    assert live_done.is_set()
