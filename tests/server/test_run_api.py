"""The run API end to end over real HTTP: plain, SSE, background + events, decisions, errors."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx

from .conftest import sse


def _data(messages: list[dict[str, str]]) -> list[dict[str, object]]:
    return [json.loads(m["data"]) for m in messages]


async def test_agents_are_listed(client: httpx.AsyncClient) -> None:
    answer = await client.get("/v1/agents")
    assert answer.status_code == 200
    agents = {a["name"]: a for a in answer.json()["agents"]}
    assert agents["helper"] == {
        "name": "helper",
        "description": "adds and echoes",
        "tools": ["add"],
    }
    assert set(agents) == {"helper", "guarded", "asker", "deferrer", "slow", "manager"}


async def test_a_plain_run_answers_its_result(client: httpx.AsyncClient) -> None:
    answer = await client.post("/v1/runs", json={"agent": "helper", "input": "please add"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["state"] == "completed"
    assert body["output"] == body["final_text"] == "the sum is 5"
    assert body["usage"]["requests"] == 2
    assert body["pending_approvals"] == [] and body["pending_inputs"] == []
    assert body["error"] is None and body["error_type"] is None
    assert answer.headers["x-tether-run-id"] == body["run_id"]
    again = await client.get(f"/v1/runs/{body['run_id']}")
    assert again.json()["state"] == "completed" and again.json()["final_text"] == "the sum is 5"


async def test_input_items_and_a_failed_run(client: httpx.AsyncClient) -> None:
    items = [{"role": "user", "content": "hi there"}]
    answer = await client.post("/v1/runs", json={"agent": "helper", "input": items})
    assert answer.json()["final_text"] == "echo: hi there"
    failed = await client.post("/v1/runs", json={"agent": "helper", "input": "fail now"})
    assert failed.status_code == 200
    assert failed.json()["state"] == "failed"
    assert "the model broke" in failed.json()["error"]


async def test_a_streamed_run_is_one_sse_message_per_event(client: httpx.AsyncClient) -> None:
    body = {"agent": "helper", "input": "add them", "stream": True}
    async with client.stream("POST", "/v1/runs", json=body) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        messages = await sse(answer)
    kinds = [m["event"] for m in messages]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert {"tool_call_started", "tool_call_finished", "text_delta"} <= set(kinds)
    seqs = [int(m["id"]) for m in messages]
    assert seqs == sorted(set(seqs))  # each once, in order
    data = _data(messages)
    for d, m in zip(data, messages, strict=True):
        assert d["type"] == m["event"] and d["seq"] == int(m["id"])
    assert data[-1]["state"] == "completed" and data[-1]["final_text"] == "the sum is 5"


async def test_background_then_events_then_result(client: httpx.AsyncClient) -> None:
    answer = await client.post("/v1/runs", json={"agent": "slow", "input": "x", "background": True})
    assert answer.status_code == 202
    run_id = answer.json()["run_id"]
    assert answer.json() == {"run_id": run_id, "state": "running"}
    assert (await client.get(f"/v1/runs/{run_id}")).json()["state"] == "running"
    async with client.stream("GET", f"/v1/runs/{run_id}/events") as events:
        messages = await sse(events)
    assert messages[0]["event"] == "run_started" and messages[-1]["event"] == "run_finished"
    final = (await client.get(f"/v1/runs/{run_id}")).json()
    assert final["state"] == "completed" and final["final_text"] == "slowly done"


async def test_reconnecting_with_last_event_id_misses_nothing(client: httpx.AsyncClient) -> None:
    done = await client.post("/v1/runs", json={"agent": "helper", "input": "add"})
    run_id = done.json()["run_id"]
    async with client.stream("GET", f"/v1/runs/{run_id}/events") as events:
        whole = await sse(events)
    ids = [int(m["id"]) for m in whole]
    cut = ids[2]
    headers = {"Last-Event-ID": str(cut)}
    async with client.stream("GET", f"/v1/runs/{run_id}/events", headers=headers) as events:
        rest = await sse(events)
    assert [int(m["id"]) for m in rest] == [i for i in ids if i > cut]
    assert whole[: ids.index(cut) + 1] + rest == whole


async def test_reconnecting_to_a_live_run(client: httpx.AsyncClient) -> None:
    answer = await client.post("/v1/runs", json={"agent": "slow", "input": "x", "background": True})
    run_id = answer.json()["run_id"]
    seen: list[int] = []
    async with client.stream("GET", f"/v1/runs/{run_id}/events") as events:
        async for line in events.aiter_lines():
            if line.startswith("id: "):
                seen.append(int(line[4:]))
                break  # drop the connection after the first event
    headers = {"Last-Event-ID": str(seen[-1])}
    async with client.stream("GET", f"/v1/runs/{run_id}/events", headers=headers) as events:
        rest = await sse(events)
    stored = await client.get(f"/v1/runs/{run_id}")
    assert stored.json()["state"] == "completed"
    ids = seen + [int(m["id"]) for m in rest]
    assert ids == sorted(set(ids)) and rest[-1]["event"] == "run_finished"


async def test_the_same_run_id_returns_that_run(client: httpx.AsyncClient) -> None:
    run_id = f"order-{uuid.uuid4().hex[:8]}"
    body = {"agent": "helper", "input": "add", "run_id": run_id}
    first, second = await asyncio.gather(
        client.post("/v1/runs", json=body), client.post("/v1/runs", json=body)
    )
    third = await client.post("/v1/runs", json=body)
    assert {first.json()["run_id"], second.json()["run_id"], third.json()["run_id"]} == {run_id}
    assert third.json()["state"] == "completed"
    async with client.stream("GET", f"/v1/runs/{run_id}/events") as events:
        kinds = [m["event"] for m in await sse(events)]
    assert kinds.count("run_started") == 1 and kinds.count("tool_call_finished") == 1


async def test_approval_flow(client: httpx.AsyncClient) -> None:
    paused = (await client.post("/v1/runs", json={"agent": "guarded", "input": "pay"})).json()
    assert paused["state"] == "awaiting_approval"
    (pending,) = paused["pending_approvals"]
    assert pending["tool_name"] == "charge" and pending["args"] == {"amount": 7}
    run_id = paused["run_id"]
    wrong = await client.post(
        f"/v1/runs/{run_id}/approvals", json={"call_id": "nope", "approved": True}
    )
    assert wrong.status_code == 409 and "nope" in wrong.json()["error"]["message"]
    body = {"call_id": pending["call_id"], "approved": True}
    done = await client.post(f"/v1/runs/{run_id}/approvals", json=body)
    assert done.status_code == 200
    assert (
        done.json()["state"] == "completed"
        and done.json()["final_text"] == "charge said: charged 7"
    )
    again = await client.post(f"/v1/runs/{run_id}/approvals", json=body)
    assert again.status_code == 409


async def test_an_approval_with_edited_arguments_and_an_expiry(client: httpx.AsyncClient) -> None:
    paused = (await client.post("/v1/runs", json={"agent": "guarded", "input": "pay"})).json()
    run_id, call_id = paused["run_id"], paused["pending_approvals"][0]["call_id"]
    url = f"/v1/runs/{run_id}/approvals"
    unfit = {"call_id": call_id, "approved": True, "args": {"amount": "lots"}}
    refused = await client.post(url, json=unfit)
    assert refused.status_code == 422 and "do not fit tool 'charge'" in refused.text
    digest = paused["pending_approvals"][0]["args_digest"]
    stale = {"call_id": call_id, "approved": True, "args_digest": "0" * 64}
    refused_stale = await client.post(url, json=stale)
    assert refused_stale.status_code == 409 and "other arguments" in refused_stale.text
    assert refused_stale.json()["error"]["type"] == "conflict"  # the call changed: a conflict
    lapsed = await client.post(
        url, json={"call_id": call_id, "approved": True, "expires_at": 1.0, "args_digest": digest}
    )
    assert lapsed.status_code == 200 and lapsed.json()["state"] == "awaiting_approval"
    assert lapsed.json()["pending_approvals"][0]["call_id"] == call_id  # asked again
    edit = {"call_id": call_id, "approved": True, "args": {"amount": 3}, "expires_in": 600}
    done = await client.post(url, json=edit)
    assert done.status_code == 200 and done.json()["final_text"] == "charge said: charged 3"
    async with client.stream("GET", f"/v1/runs/{run_id}/events") as events:
        kinds = [m["event"] for m in await sse(events)]
    assert "approval_expired" in kinds and "tool_args_edited" in kinds


async def test_a_subagent_approval_is_given_to_the_parent(client: httpx.AsyncClient) -> None:
    paused = (await client.post("/v1/runs", json={"agent": "manager", "input": "pay"})).json()
    assert paused["state"] == "awaiting_approval"
    (pending,) = paused["pending_approvals"]
    assert pending["tool_name"] == "charge" and pending["args"] == {"amount": 7}
    body = {"call_id": pending["call_id"], "approved": True}
    done = await client.post(f"/v1/runs/{paused['run_id']}/approvals", json=body)
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "completed"
    assert done.json()["final_text"] == "manager heard: charge said: charged 7"
    # a subagent's question and its deferred call, answered through the parent's endpoints
    asked = (await client.post("/v1/runs", json={"agent": "manager", "input": "name?"})).json()
    (question,) = asked["pending_inputs"]
    assert asked["state"] == "awaiting_input" and question["prompt"] == "your name?"
    body = {"call_id": question["call_id"], "value": "Ada"}
    answered = await client.post(f"/v1/runs/{asked['run_id']}/inputs", json=body)
    assert answered.json()["final_text"] == "manager heard: ask said: hello Ada"
    waiting = (await client.post("/v1/runs", json={"agent": "manager", "input": "go"})).json()
    (call_id,) = waiting["deferred"]
    assert waiting["state"] == "awaiting_deferred" and waiting["deferred"][call_id] == "job-intro"
    body = {"call_id": call_id, "output": "240 frames"}
    done = await client.post(f"/v1/runs/{waiting['run_id']}/deferred", json=body)
    assert done.json()["final_text"] == "manager heard: render said: 240 frames"


async def test_rejection_streamed(client: httpx.AsyncClient) -> None:
    paused = (await client.post("/v1/runs", json={"agent": "guarded", "input": "pay"})).json()
    run_id, call_id = paused["run_id"], paused["pending_approvals"][0]["call_id"]
    body = {"call_id": call_id, "approved": False, "reason": "too much", "stream": True}
    async with client.stream("POST", f"/v1/runs/{run_id}/approvals", json=body) as answer:
        messages = await sse(answer)
    kinds = [m["event"] for m in messages]
    assert kinds[0] == "approval_decided" and kinds[-1] == "run_finished"
    decided = json.loads(messages[0]["data"])
    assert decided["approved"] is False and decided["reason"] == "too much"
    assert "tool_call_started" not in kinds  # a rejected call is not run


async def test_an_approval_streamed_goes_on_with_its_text_deltas(client: httpx.AsyncClient) -> None:
    paused = (await client.post("/v1/runs", json={"agent": "guarded", "input": "pay"})).json()
    run_id, call_id = paused["run_id"], paused["pending_approvals"][0]["call_id"]
    async with client.stream("GET", f"/v1/runs/{run_id}/events") as events:
        before = int((await sse(events))[-1]["id"])  # where the paused run's log stands
    body = {"call_id": call_id, "approved": True, "stream": True}
    async with client.stream("POST", f"/v1/runs/{run_id}/approvals", json=body) as answer:
        assert answer.status_code == 200
        messages = await sse(answer)
    kinds = [m["event"] for m in messages]
    assert kinds[:2] == ["approval_decided", "run_resumed"] and kinds[-1] == "run_finished"
    assert kinds.count("tool_call_finished") == 1
    seqs = [int(m["id"]) for m in messages]
    assert seqs == list(range(before + 1, before + 1 + len(seqs)))  # none twice, none lost
    deltas = "".join(json.loads(m["data"])["delta"] for m in messages if m["event"] == "text_delta")
    assert deltas == "charge said: charged 7"  # the answer word by word, as a new run streams
    finished = json.loads(messages[-1]["data"])
    assert (finished["state"], finished["final_text"]) == ("completed", deltas)
    # the stored log is the same run: its durable events, under the same positions
    async with client.stream("GET", f"/v1/runs/{run_id}/events") as events:
        stored = await sse(events)
    durable = [m["id"] for m in messages if m["event"] != "text_delta"]
    assert [m["id"] for m in stored if int(m["id"]) > before] == durable


async def test_inputs_and_deferred(client: httpx.AsyncClient) -> None:
    asked = (await client.post("/v1/runs", json={"agent": "asker", "input": "hi"})).json()
    assert asked["state"] == "awaiting_input"
    (question,) = asked["pending_inputs"]
    assert question["prompt"] == "your name?"
    body = {"call_id": question["call_id"], "value": "Ada"}
    answered = await client.post(f"/v1/runs/{asked['run_id']}/inputs", json=body)
    assert answered.json()["final_text"] == "ask said: hello Ada"

    waiting = (await client.post("/v1/runs", json={"agent": "deferrer", "input": "go"})).json()
    assert waiting["state"] == "awaiting_deferred"
    (call_id,) = waiting["deferred"]
    assert waiting["deferred"][call_id] == "job-intro"
    body = {"call_id": call_id, "output": {"frames": 240}}
    done = await client.post(f"/v1/runs/{waiting['run_id']}/deferred", json=body)
    assert done.json()["state"] == "completed" and "240" in done.json()["final_text"]


async def test_cancel_and_resume(client: httpx.AsyncClient) -> None:
    paused = (await client.post("/v1/runs", json={"agent": "guarded", "input": "pay"})).json()
    run_id = paused["run_id"]
    cancelled = await client.post(f"/v1/runs/{run_id}/cancel", json={})
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert (await client.post(f"/v1/runs/{run_id}/cancel", json={})).status_code == 409
    assert (await client.post(f"/v1/runs/{run_id}/resume", json={})).status_code == 409

    live = await client.post("/v1/runs", json={"agent": "slow", "input": "x", "background": True})
    live_id = live.json()["run_id"]
    stopped = await client.post(f"/v1/runs/{live_id}/cancel")
    assert stopped.json()["state"] == "cancelled"
    async with client.stream("GET", f"/v1/runs/{live_id}/events") as events:
        messages = await sse(events)
    assert messages[-1]["event"] == "run_finished"
    assert json.loads(messages[-1]["data"])["state"] == "cancelled"

    suspended = (await client.post("/v1/runs", json={"agent": "guarded", "input": "pay"})).json()
    resumed = await client.post(f"/v1/runs/{suspended['run_id']}/resume", json={})
    assert resumed.status_code == 200 and resumed.json()["state"] == "awaiting_approval"


async def test_threads(client: httpx.AsyncClient) -> None:
    thread_id = f"t-{uuid.uuid4().hex[:8]}"
    for text in ("first", "second"):
        body = {"agent": "helper", "input": text, "thread_id": thread_id}
        assert (await client.post("/v1/runs", json=body)).json()["state"] == "completed"
    thread = (await client.get(f"/v1/threads/{thread_id}")).json()
    assert thread["thread_id"] == thread_id
    texts = [m for m in thread["messages"] if m["role"] in ("user", "assistant")]
    assert len(texts) == 4
    assert [(m["role"], m["content"]) for m in texts] == [
        ("user", "first"),
        ("assistant", "echo: first"),
        ("user", "second"),
        ("assistant", "echo: second"),
    ]
    assert (await client.get("/v1/threads/unknown-thread")).status_code == 404


async def test_every_error_status(client: httpx.AsyncClient) -> None:
    async def error(method: str, path: str, status: int, **kw: object) -> str:
        answer = await client.request(method, path, **kw)  # type: ignore[arg-type]
        assert answer.status_code == status, answer.text
        err = answer.json()["error"]
        assert set(err) == {"type", "message"} and err["message"]
        kind: str = err["type"]
        return kind

    assert await error("POST", "/v1/runs", 400, content=b"{not json") == "invalid_json"
    assert await error("POST", "/v1/runs", 422, json={"agent": "helper"}) == "invalid_request"
    extra = {"agent": "helper", "input": "x", "surprise": 1}
    assert "surprise" in (await client.post("/v1/runs", json=extra)).json()["error"]["message"]
    await error("POST", "/v1/runs", 422, json=extra)
    await error("POST", "/v1/runs", 422, json=[1, 2])
    await error("POST", "/v1/runs", 422, json={"agent": "helper", "input": []})
    await error("POST", "/v1/runs", 422, json={"agent": "helper", "input": "x", "run_id": "a b"})
    assert await error("POST", "/v1/runs", 404, json={"agent": "ghost", "input": "x"}) == (
        "agent_not_found"
    )
    assert await error("GET", "/v1/runs/no-such-run", 404) == "run_not_found"
    await error("GET", "/v1/runs/no-such-run/events", 404)
    await error("POST", "/v1/runs/no-such-run/resume", 404, json={})
    await error(
        "POST", "/v1/runs/no-such-run/approvals", 404, json={"call_id": "c", "approved": True}
    )
    await error("GET", "/v1/nothing-here", 404)
    await error("DELETE", "/v1/runs", 405)
    await error("POST", "/v1/runs", 413, content=b"{" + b" " * (1024 * 1024 + 10) + b"}")
    headers = {"Last-Event-ID": "abc"}
    done = (await client.post("/v1/runs", json={"agent": "helper", "input": "x"})).json()
    await error("GET", f"/v1/runs/{done['run_id']}/events", 400, headers=headers)
    busy = await client.post("/v1/runs", json={"agent": "slow", "input": "x", "background": True})
    await error("POST", f"/v1/runs/{busy.json()['run_id']}/resume", 409, json={})


async def test_health_and_metrics(client: httpx.AsyncClient) -> None:
    health = await client.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    await client.post("/v1/runs", json={"agent": "helper", "input": "add"})
    metrics = (await client.get("/metrics")).text
    assert "tether_runs_in_flight" in metrics
    started = [
        line for line in metrics.splitlines() if line.startswith("tether_runs_started_total")
    ]
    assert int(started[0].split()[-1]) >= 1
    assert 'tether_runs_finished_total{state="completed"}' in metrics
    assert 'tether_tokens_total{kind="input"}' in metrics and "tether_cost_usd_total" in metrics


def _finished_count(metrics: str, state: str) -> int:
    prefix = f'tether_runs_finished_total{{state="{state}"}} '
    return sum(int(line[len(prefix) :]) for line in metrics.splitlines() if line.startswith(prefix))


async def test_metrics_count_cancelled_runs_by_state(client: httpx.AsyncClient) -> None:
    before = _finished_count((await client.get("/metrics")).text, "cancelled")
    busy = await client.post("/v1/runs", json={"agent": "slow", "input": "x", "background": True})
    waiting = await client.post("/v1/runs", json={"agent": "guarded", "input": "pay"})
    for run in (busy.json(), waiting.json()):  # one executing here, one waiting for a person
        answer = await client.post(f"/v1/runs/{run['run_id']}/cancel", json={})
        assert answer.json()["state"] == "cancelled"
    assert _finished_count((await client.get("/metrics")).text, "cancelled") == before + 2


async def test_cancelling_a_parent_that_waits_on_a_subagent_ends_the_subagents_run(
    client: httpx.AsyncClient,
) -> None:
    # the child's run waits with its parent: once the parent is cancelled nothing would ever
    # continue it, so it ends cancelled too (as tether runs cancel and A2A tasks/cancel do)
    paused = (await client.post("/v1/runs", json={"agent": "manager", "input": "pay"})).json()
    run_id = paused["run_id"]
    async with client.stream("GET", f"/v1/runs/{run_id}/events") as events:
        data = _data(await sse(events))
    (child_id,) = {d["child_run_id"] for d in data if d["type"] == "subagent_suspended"}
    assert (await client.get(f"/v1/runs/{child_id}")).json()["state"] == "awaiting_approval"
    cancelled = await client.post(f"/v1/runs/{run_id}/cancel", json={})
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    child = (await client.get(f"/v1/runs/{child_id}")).json()
    assert child["state"] == "cancelled" and run_id in child["error"]
