"""A run that stops to wait for a person, seen through the official ``openai`` client: the
answer says so (text naming the run API call that continues it, and a machine-readable marker),
on both endpoints, plain and streamed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from openai import AsyncOpenAI

from .conftest import LiveServer


@pytest.fixture
async def oai(live: LiveServer) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(base_url=f"{live.url}/v1", api_key="unused", max_retries=0) as made:
        yield made


async def _chat(oai: AsyncOpenAI, model: str, prompt: str, stream: bool) -> tuple[str, Any]:
    """The answer's text and its ``tether`` marker (what a client reads via ``model_extra``)."""
    messages: Any = [{"role": "user", "content": prompt}]
    if not stream:
        completion = await oai.chat.completions.create(model=model, messages=messages)
        assert completion.choices[0].finish_reason == "stop"
        extra = completion.model_extra or {}
        return completion.choices[0].message.content or "", extra.get("tether")
    text, mark = "", None
    async for chunk in await oai.chat.completions.create(
        model=model, messages=messages, stream=True
    ):
        for choice in chunk.choices:
            text += choice.delta.content or ""
        mark = (chunk.model_extra or {}).get("tether", mark)
    return text, mark


async def _responses(oai: AsyncOpenAI, model: str, prompt: str, stream: bool) -> Any:
    if not stream:
        return await oai.responses.create(model=model, input=prompt)
    final, kinds = None, []
    async for event in await oai.responses.create(model=model, input=prompt, stream=True):
        kinds.append(event.type)
        if event.type in ("response.completed", "response.incomplete"):
            final = event.response
    assert kinds[-1] == "response.incomplete"
    return final


@pytest.mark.parametrize("stream", [False, True])
async def test_chat_completion_of_a_run_awaiting_approval_says_so(
    oai: AsyncOpenAI, live: LiveServer, stream: bool
) -> None:
    text, mark = await _chat(oai, "guarded", "pay", stream)
    assert mark is not None and mark["status"] == "awaiting_approval"
    run_id = mark["run_id"]
    [pending] = mark["pending"]
    assert pending["kind"] == "approval" and pending["tool_name"] == "charge"
    assert pending["args"] == {"amount": 7}
    assert pending["path"] == f"/v1/runs/{run_id}/approvals"
    assert "awaiting_approval" in text and run_id in text and pending["path"] in text
    # what the marker says is what continues the run
    async with httpx.AsyncClient(base_url=live.url, timeout=10) as http:
        answer = await http.post(
            pending["path"], json={"call_id": pending["call_id"], "approved": True}
        )
    assert answer.status_code == 200
    assert answer.json()["final_text"] == "charge said: charged 7"


@pytest.mark.parametrize("stream", [False, True])
async def test_chat_completion_of_a_run_awaiting_input_or_deferred(
    oai: AsyncOpenAI, stream: bool
) -> None:
    text, mark = await _chat(oai, "asker", "hi", stream)
    assert mark["status"] == "awaiting_input"
    [pending] = mark["pending"]
    assert pending["kind"] == "input" and pending["prompt"] == "your name?"
    assert pending["path"] == f"/v1/runs/{mark['run_id']}/inputs"
    assert "your name?" in text and pending["path"] in text
    text, mark = await _chat(oai, "deferrer", "go", stream)
    assert mark["status"] == "awaiting_deferred"
    [pending] = mark["pending"]
    assert pending["kind"] == "deferred" and pending["ticket"] == "job-intro"
    assert pending["path"] in text


@pytest.mark.parametrize("stream", [False, True])
async def test_response_of_a_paused_run_is_incomplete(oai: AsyncOpenAI, stream: bool) -> None:
    response = await _responses(oai, "guarded", "pay", stream)
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "awaiting_approval"
    mark = (response.model_extra or {})["tether"]
    assert response.id == f"resp_{mark['run_id']}"
    assert mark["pending"][0]["path"] in response.output_text
    assert "awaiting_approval" in response.output_text


async def test_a_paused_subagent_pauses_the_answer(oai: AsyncOpenAI) -> None:
    # the manager's subagent waits for approval: what it waits for is the manager run's
    text, mark = await _chat(oai, "manager", "pay me", stream=True)
    assert "charge" in text
    assert mark["status"] == "awaiting_approval"
    assert mark["pending"][0]["path"] == f"/v1/runs/{mark['run_id']}/approvals"


async def test_a_finished_run_has_no_marker(oai: AsyncOpenAI) -> None:
    for stream in (False, True):
        text, mark = await _chat(oai, "helper", "hello", stream)
        assert text == "echo: hello" and mark is None
    response = await oai.responses.create(model="helper", input="hello")
    assert response.status == "completed" and response.incomplete_details is None
    assert "tether" not in (response.model_extra or {})


def test_an_interrupted_call_is_named_with_the_call_that_decides_it() -> None:
    from tether.server._paused import marker, notice

    outcome: dict[str, Any] = {
        "run_id": "r1",
        "state": "interrupted",
        "pending_approvals": [],
        "pending_inputs": [],
        "deferred": {},
        "interrupted_calls": ["c9"],
    }
    mark = marker(outcome)
    assert mark == {
        "run_id": "r1",
        "status": "interrupted",
        "pending": [{"kind": "interrupted", "call_id": "c9", "path": "/v1/runs/r1/approvals"}],
    }
    assert "POST /v1/runs/r1/approvals" in notice(mark) and "c9" in notice(mark)
    assert marker({**outcome, "state": "completed"}) is None
    # nothing named (a run interrupted between steps): the resume path continues it
    assert "/v1/runs/r1/resume" in notice(marker({**outcome, "interrupted_calls": []}) or {})
