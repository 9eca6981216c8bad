"""AG-UI: the stream's events validate against the ag-ui-protocol package's models."""

from __future__ import annotations

import json
from typing import Any

import httpx
from ag_ui.core import Event, EventType
from pydantic import TypeAdapter

from .conftest import sse

_EVENTS: TypeAdapter[Any] = TypeAdapter(Event)


def _body(run_id: str, text: str, **extra: Any) -> dict[str, Any]:
    return {
        "threadId": "thread-1",
        "runId": run_id,
        "state": {"theme": "dark"},
        "messages": [{"id": "m1", "role": "user", "content": text}],
        "tools": [],
        "context": [],
        "forwardedProps": {},
        **extra,
    }


async def _events(client: httpx.AsyncClient, agent: str, body: dict[str, Any]) -> list[Any]:
    async with client.stream("POST", f"/v1/ag-ui/{agent}", json=body) as answer:
        assert answer.status_code == 200, await answer.aread()
        messages = await sse(answer)
    return [_EVENTS.validate_python(json.loads(m["data"])) for m in messages]


async def test_a_run_with_a_tool_as_agui_events(client: httpx.AsyncClient) -> None:
    events = await _events(client, "helper", _body("agui-run-1", "please add"))
    kinds = [e.type for e in events]
    assert kinds[0] == EventType.RUN_STARTED and kinds[-1] == EventType.RUN_FINISHED
    assert events[0].thread_id == "thread-1" and events[0].run_id == "agui-run-1"
    for kind in (
        EventType.TOOL_CALL_START,
        EventType.TOOL_CALL_ARGS,
        EventType.TOOL_CALL_END,
        EventType.TOOL_CALL_RESULT,
        EventType.TEXT_MESSAGE_START,
        EventType.TEXT_MESSAGE_CONTENT,
        EventType.TEXT_MESSAGE_END,
        EventType.STATE_SNAPSHOT,
    ):
        assert kind in kinds, kind
    start = next(e for e in events if e.type == EventType.TOOL_CALL_START)
    args = next(e for e in events if e.type == EventType.TOOL_CALL_ARGS)
    assert start.tool_call_name == "add" and json.loads(args.delta) == {"a": 2, "b": 3}
    text = "".join(e.delta for e in events if e.type == EventType.TEXT_MESSAGE_CONTENT)
    assert text == "the sum is 5"
    snapshot = next(e for e in events if e.type == EventType.STATE_SNAPSHOT).snapshot
    assert snapshot["theme"] == "dark" and snapshot["tether"]["state"] == "completed"
    # every text message that starts also ends, in order
    opened = [e.message_id for e in events if e.type == EventType.TEXT_MESSAGE_START]
    closed = [e.message_id for e in events if e.type == EventType.TEXT_MESSAGE_END]
    assert opened == closed


async def test_an_approval_is_an_interrupt_and_resume_continues(client: httpx.AsyncClient) -> None:
    events = await _events(client, "guarded", _body("agui-run-2", "pay"))
    finished = events[-1]
    assert finished.type == EventType.RUN_FINISHED
    assert finished.outcome.type == "interrupt"
    (interrupt,) = finished.outcome.interrupts
    assert interrupt.reason == "approval_required" and interrupt.id.startswith("agui-run-2/")
    resume = [{"interruptId": interrupt.id, "status": "resolved"}]
    more = await _events(client, "guarded", _body("agui-run-3", "pay", resume=resume))
    assert more[-1].type == EventType.RUN_FINISHED and more[-1].outcome.type == "success"
    assert more[-1].result["final_text"] == "charge said: charged 7"
    kinds = [e.type for e in more]
    assert EventType.TOOL_CALL_RESULT in kinds
    # the answer after the approval streams word by word, as a new run's does
    pieces = [e.delta for e in more if e.type == EventType.TEXT_MESSAGE_CONTENT]
    assert len(pieces) > 1 and "".join(pieces) == "charge said: charged 7"
    opened = [e.message_id for e in more if e.type == EventType.TEXT_MESSAGE_START]
    assert opened == [e.message_id for e in more if e.type == EventType.TEXT_MESSAGE_END]


async def test_agui_bad_input(client: httpx.AsyncClient) -> None:
    answer = await client.post("/v1/ag-ui/ghost", json=_body("r", "x"))
    assert answer.status_code == 404
    answer = await client.post("/v1/ag-ui/helper", json={"threadId": "t"})
    assert answer.status_code == 422
    bad_role = _body("r", "x")
    bad_role["messages"] = [{"id": "m", "role": "wizard", "content": "x"}]
    answer = await client.post("/v1/ag-ui/helper", json=bad_role)
    assert answer.status_code == 422 and "wizard" in answer.json()["error"]["message"]
    foreign = _body("r2", "x", resume=[{"interruptId": "nothing", "status": "resolved"}])
    assert (await client.post("/v1/ag-ui/helper", json=foreign)).status_code == 422
