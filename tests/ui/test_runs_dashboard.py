"""The dashboard over the store: runs list, a run's live log, Approve/Reject buttons that act
on the run (the code of ``tether runs approve``), over real HTTP and in headless Chromium."""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from tether import RunConfig, Runner
from tether.cli._common import AGENT_SPEC_KEY
from tether.models import FakeModel
from tether.tracing.jsonl import JsonlExporter

from .conftest import ARTIFACTS, Server
from .test_dashboard import calc

SPEC = "cli.cli_app:agent"  # tests/cli/cli_app.py, importable as the dashboard resumes runs


def _record(directory: Path, store: str) -> list[str]:
    """A completed run, a degraded one (a failed tool), two waiting for approval."""
    from cli.cli_app import agent  # type: ignore[import-not-found]

    async def go() -> list[str]:
        runner = Runner(store=store, telemetry=JsonlExporter(directory))
        model = FakeModel("openai:gpt-4o-mini", cost_per_call=0.02)
        model.add_tool_call("add", {"a": 1, "b": 2}).add_response("3")
        await runner.run(calc(model), "sum", run_id="done-run")
        failing = FakeModel("openai:gpt-4o-mini", cost_per_call=0.001)
        failing.add_tool_call("boom", {"reason": "x"}).add_response("sorry")
        await runner.run(calc(failing), "break", run_id="degraded-run")
        config = RunConfig(trace_metadata={AGENT_SPEC_KEY: SPEC})
        ids = []
        for name in ("wait-approve", "wait-reject"):
            result = await runner.run(agent, "deploy it", run_id=name, run_config=config)
            assert result.state == "awaiting_approval"
            ids.append(result.pending_approvals[0].call_id)
        await runner.aclose()
        return ids

    out: list[str] = []
    worker = threading.Thread(target=lambda: out.extend(asyncio.run(go())))
    worker.start()
    worker.join(30)
    return out


def _request(
    server: Server, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    connection.request(method, path, body=data, headers=headers or {})
    response = connection.getresponse()
    raw = response.read()
    connection.close()
    try:
        return response.status, json.loads(raw)
    except ValueError:
        return response.status, raw.decode()


JSON = {"Content-Type": "application/json"}


@pytest.fixture
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str, list[str]]:
    monkeypatch.setenv("CLI_LEDGER", str(tmp_path / "ledger.txt"))
    store = f"sqlite:///{tmp_path / 'runs.db'}"
    return tmp_path, store, _record(tmp_path / "traces", store)


def test_runs_api_and_decisions(recorded: tuple[Path, str, list[str]]) -> None:
    tmp_path, store, (approve_call, _reject_call) = recorded
    with Server(tmp_path / "traces", store=store) as server:
        status, body = _request(server, "GET", "/api/runs")
        assert status == 200
        states = {r["run_id"]: r["state"] for r in body["runs"]}
        assert states == {
            "done-run": "completed",
            "degraded-run": "degraded",
            "wait-approve": "awaiting_approval",
            "wait-reject": "awaiting_approval",
        }
        costs = {r["run_id"]: r["cost"] for r in body["runs"]}
        assert costs["done-run"] == pytest.approx(0.04)
        rows = _request(server, "GET", "/api/runs?state=awaiting_approval")[1]["runs"]
        assert {r["run_id"] for r in rows} == {"wait-approve", "wait-reject"}
        assert _request(server, "GET", "/api/runs?limit=many")[0] == 400
        status, run = _request(server, "GET", "/api/runs/wait-approve")
        assert status == 200 and run["pending_approvals"][0]["tool_name"] == "deploy"
        assert _request(server, "GET", "/api/runs/nope")[0] == 404

        path = f"/api/runs/wait-approve/approvals/{approve_call}"
        assert _request(server, "POST", path, {"approved": True})[0] == 415  # JSON only
        foreign = {**JSON, "Origin": "http://evil.example"}
        assert _request(server, "POST", path, {"approved": True}, foreign)[0] == 403
        assert _request(server, "POST", path, b"{not json", JSON)[0] == 400
        assert _request(server, "POST", path, {"approved": "yes"}, JSON)[0] == 400
        for bad, words in (
            ({"approved": True, "args": [1]}, "args must be a JSON object"),
            ({"approved": True, "expires_in": -5}, "expires_in must be a positive number"),
            ({"approved": True, "expires_in": True}, "expires_in must be a positive number"),
            ({"approved": True, "args_digest": 7}, "args_digest must be"),
        ):
            status, body = _request(server, "POST", path, bad, JSON)
            assert status == 400 and words in body["error"]["message"], body
        stale = {"approved": True, "args_digest": "0" * 64}
        status, body = _request(server, "POST", path, stale, JSON)
        assert (
            status == 409 and "its args_digest differs" in body["error"]["message"]
        )  # as the server API
        unfit = {"approved": True, "args": {"env": ["prod"]}}
        status, body = _request(server, "POST", path, unfit, JSON)
        assert (
            status == 422 and "do not fit tool 'deploy'" in body["error"]["message"]
        )  # as the server API
        assert run["pending_approvals"][0]["args_digest"]  # what the page sends back
        wrong = "/api/runs/wait-approve/approvals/call_9"
        status, body = _request(server, "POST", wrong, {"approved": True}, JSON)
        assert status == 409 and "no pending approval 'call_9'" in body["error"]["message"]
        status, body = _request(server, "POST", path, {"approved": True}, JSON)
        assert status == 202 and body == {
            "call_id": approve_call,
            "decision": "approved",
            "resuming": True,
        }
        status, body = _request(server, "POST", path, {"approved": True}, JSON)
        assert status == 409 and "already approved" in body["error"]["message"]  # decided once
        for _ in range(100):  # the run goes on in the dashboard's process
            run = _request(server, "GET", "/api/runs/wait-approve")[1]
            if run["state"] == "completed":
                break
            threading.Event().wait(0.05)
        assert run["state"] == "completed"
        assert run["final_text"] == "the tool said deployed to prod"
    assert (tmp_path / "ledger.txt").read_text().splitlines() == ["deploy prod"]


def test_a_subagent_approval_is_given_on_the_parent_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cli.cli_app import boss  # type: ignore[import-not-found]

    monkeypatch.setenv("CLI_LEDGER", str(tmp_path / "ledger.txt"))
    store = f"sqlite:///{tmp_path / 'runs.db'}"
    config = RunConfig(trace_metadata={AGENT_SPEC_KEY: "cli.cli_app:boss"})

    async def record() -> str:
        runner = Runner(store=store, telemetry=None)
        paused = await runner.run(boss, "deploy it", run_id="boss-run", run_config=config)
        await runner.aclose()
        return paused.pending_approvals[0].call_id

    call_id = asyncio.run(record())
    with Server(tmp_path / "traces", store=store) as server:
        path = f"/api/runs/boss-run/approvals/{call_id}"
        status, body = _request(server, "POST", path, {"approved": True}, JSON)
        assert status == 202 and body["resuming"] is True, body
        for _ in range(100):
            run = _request(server, "GET", "/api/runs/boss-run")[1]
            if run["state"] == "completed":
                break
            threading.Event().wait(0.05)
        assert run["final_text"] == "the boss heard: the tool said deployed to prod"
    assert (tmp_path / "ledger.txt").read_text().splitlines() == ["deploy prod"]


def _distinct_colors(page: Any, png: bytes) -> int:
    """How many distinct colours a screenshot has (drawn on a canvas in the browser)."""
    url = "data:image/png;base64," + base64.b64encode(png).decode()
    count: int = page.evaluate(
        """async (url) => {
            const img = new Image();
            img.src = url;
            await img.decode();
            const canvas = document.createElement("canvas");
            canvas.width = img.width; canvas.height = img.height;
            const ctx = canvas.getContext("2d");
            ctx.drawImage(img, 0, 0);
            const data = ctx.getImageData(0, 0, img.width, img.height).data;
            const seen = new Set();
            for (let i = 0; i < data.length; i += 4) {
                seen.add(data[i] << 16 | data[i + 1] << 8 | data[i + 2]);
            }
            return seen.size;
        }""",
        url,
    )
    return count


@pytest.mark.browser
def test_runs_in_chromium_approve_and_reject(
    recorded: tuple[Path, str, list[str]], browser: Any
) -> None:
    tmp_path, store, (approve_call, reject_call) = recorded
    ARTIFACTS.mkdir(exist_ok=True)
    with Server(tmp_path / "traces", store=store) as server:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(15_000)
        page.goto(server.url + "/#/runs")
        page.wait_for_selector('tr.run-row[data-run-id="wait-approve"]')
        assert page.locator("tr.run-row").count() == 4
        assert page.inner_text('tr[data-run-id="done-run"] .run-cost') == "$0.0400"
        pending = page.inner_text('tr[data-run-id="wait-approve"] .run-pending')
        assert pending == "1 pending"
        assert "degraded" in page.inner_text('tr[data-run-id="degraded-run"]')
        page.screenshot(path=str(ARTIFACTS / "dashboard-runs.png"), full_page=True)
        page.select_option("#run-filter-state", "awaiting_approval")  # filtered by the store
        page.wait_for_function("document.querySelectorAll('tr.run-row').length === 2")
        page.select_option("#run-filter-state", "")
        page.select_option("#run-filter-agent", "calc")
        page.wait_for_function("document.querySelectorAll('tr.run-row').length === 2")
        page.select_option("#run-filter-agent", "")
        page.wait_for_function("document.querySelectorAll('tr.run-row').length === 4")

        page.click('tr[data-run-id="wait-approve"]')
        page.wait_for_selector(f'.approval[data-call-id="{approve_call}"]')
        assert page.inner_text("#run-state") == "awaiting_approval"
        box = page.locator(f'.approval[data-call-id="{approve_call}"]')
        assert "deploy" in box.inner_text() and '"env":"prod"' in box.inner_text()
        shot = box.screenshot(path=str(ARTIFACTS / "dashboard-approval.png"))
        assert _distinct_colors(page, shot) > 20  # drawn: text, buttons, borders
        assert page.locator("button.approve").is_visible()
        assert page.locator("button.reject").is_visible()
        assert page.input_value(".approval .args") == '{"env":"prod"}'  # the arguments shown
        page.fill(".approval .args", "[not an object")
        page.click("button.approve")
        page.wait_for_function(
            "document.getElementById('decision-status')?.textContent"
            " === 'the arguments must be a JSON object'"
        )
        assert page.inner_text("#run-state") == "awaiting_approval"  # nothing was sent
        page.fill(".approval .args", '{"env": ["staging"]}')  # an object that does not fit
        page.click("button.approve")
        page.wait_for_function(
            "(document.getElementById('decision-status')?.textContent || '')"
            ".includes(\"do not fit tool 'deploy'\")"
        )  # the route's 422, shown as the page shows any refusal
        assert page.inner_text("#run-state") == "awaiting_approval"  # nothing was recorded
        page.fill(".approval .args", '{"env": "staging"}')
        page.fill(".approval .expires", "600")
        page.click("button.approve")
        page.wait_for_function("document.getElementById('run-state')?.textContent === 'completed'")
        assert "approved" in page.inner_text("#decision-status")
        assert page.locator('.log-event[data-type="approval_decided"]').count() == 1
        assert page.locator('.log-event[data-type="tool_args_edited"]').count() == 1
        assert page.inner_text("#run-answer") == "the tool said deployed to staging"
        assert page.locator(".approval").count() == 0
        page.screenshot(path=str(ARTIFACTS / "dashboard-run-approved.png"), full_page=True)

        page.goto(server.url + "/#/run/wait-reject")
        page.wait_for_selector(f'.approval[data-call-id="{reject_call}"]')
        page.fill(".approval .reason", "not during the freeze")
        page.click("button.reject")
        page.wait_for_function("document.getElementById('run-state')?.textContent === 'degraded'")
        answer = page.inner_text("#run-answer")
        assert answer == "the tool said The call was rejected: not during the freeze"

        # the traces of the same runs: a degraded run is not "ok", a failed tool is one error
        page.goto(server.url + "/")
        page.wait_for_selector('tr.trace-row[data-trace-id="degraded-run"]')
        cells = page.locator('tr[data-trace-id="degraded-run"] td').all_inner_texts()
        assert cells[2] == "degraded" and cells[-1] == "1"
        page.click('tr[data-trace-id="degraded-run"]')
        page.wait_for_selector('.span-row[data-kind="run"]')
        status = page.get_attribute('.span-row[data-kind="run"]', "data-status")
        assert status == "degraded"
        assert "degraded" in (page.get_attribute('.span-row[data-kind="run"] .bar', "class") or "")
        page.close()
    assert (tmp_path / "ledger.txt").read_text().splitlines() == ["deploy staging"]
